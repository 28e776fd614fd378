/**
 * `mailward reports verdicts [--since --until --domain] [--limit N] [--json]`: the verdict
 * journal that `mailward milter --store` and `mailward exim --store` write, in append order. Text is
 * one line per message; --json is JSON Lines, one VerdictRecord (docs/verdicts.md) per line.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { StoredVerdict, VerdictFilter, VerdictJournal } from '@mailward/reports';
import type { CommandResult } from './result.js';
import type { FilterOptions } from '../reports-options.js';
import { countOf, filterOf, filterOptions, READING, storeOption, withStore } from '../reports-options.js';
import { terminalSafe } from '../render/terminal-safe.js';

export interface VerdictsOptions {
  readonly filter: VerdictFilter;
  readonly limit: number;
  readonly json: boolean;
}

export async function verdictsCommand(options: VerdictsOptions, journal: VerdictJournal): Promise<CommandResult> {
  const lines: string[] = [];
  for await (const verdict of journal.verdicts(options.filter)) {
    if (lines.length >= options.limit) break;
    lines.push(options.json ? JSON.stringify(verdict) : verdictLine(verdict));
  }
  let stderr = '';
  if (lines.length >= options.limit) {
    const total = await journal.countVerdicts(options.filter);
    if (total > lines.length) {
      stderr = `${total - lines.length} more verdicts not shown (raise --limit, or narrow --since/--until/--domain)\n`;
    }
  } else if (lines.length === 0 && !options.json) {
    return { exitCode: 0, stdout: 'No verdicts match.\n', stderr: '' };
  }
  return { exitCode: 0, stdout: lines.map((line) => `${line}\n`).join(''), stderr };
}

/** One line: when, who, the identities, DMARC's verdict and what was done. */
export function verdictLine(v: StoredVerdict): string {
  const evaluated = v.policyEvaluated;
  const text = [
    new Date(v.time).toISOString(),
    v.receiver,
    v.queueId ?? '-',
    v.sourceIp,
    `helo=${v.helo ?? '-'}`,
    `from=${v.headerFrom || '-'}`,
    `mailfrom=${v.envelopeFrom || '<>'}`,
    `policy=${v.policyDomain || '-'}${v.policyPublished?.p === undefined ? '' : `(p=${v.policyPublished.p})`}`,
    `dmarc=${v.dmarc}`,
    `dkim=${evaluated.dkim}`,
    `spf=${evaluated.spf}`,
    `disposition=${evaluated.disposition}`,
    `action=${v.action}${v.wouldHave === undefined ? '' : ` (would have: ${v.wouldHave})`}`,
    ...evaluated.reasons.map((r) => `reason=${r.type}${r.comment === undefined ? '' : `:"${r.comment}"`}`),
  ].join(' ');
  // Names come from the mail (HELO, From): no terminal control sequences reach the screen.
  return terminalSafe(text);
}

export function registerVerdictsCommand(reports: Command, done: (result: CommandResult) => void): void {
  filterOptions(
    reports
      .command('verdicts')
      .description(
        'List the verdicts `mailward milter --store` and `mailward exim --store` recorded, in the order recorded (docs/verdicts.md)',
      )
      .addOption(storeOption()),
    'verdicts',
  )
    .addOption(new Option('--limit <n>', 'at most this many').argParser(countOf('--limit', 10_000_000)).default(1000))
    .option('--json', 'print JSON Lines: one verdict record per line', false)
    .action(async (options: FilterOptions & { store: string; limit: number; json: boolean }) => {
      const parsed = filterOf('reports verdicts', options);
      if ('error' in parsed) return done(parsed.error);
      const { domain, since, until } = parsed.filter;
      // The report filters are in epoch seconds; the journal keeps milliseconds.
      const filter: VerdictFilter = {
        ...(domain === undefined ? {} : { policyDomain: domain }),
        ...(since === undefined ? {} : { since: since * 1000 }),
        ...(until === undefined ? {} : { until: until * 1000 }),
      };
      done(
        await withStore(
          'reports verdicts',
          options.store,
          (store) => verdictsCommand({ filter, limit: options.limit, json: options.json }, store),
          READING,
        ),
      );
    });
}
