/**
 * `mailward scan FILE`: audits a list of domains for a survey. The list is read as a stream; at
 * most `concurrency` domains are audited at once, each within a time budget; every result goes to
 * the SQLite results file first and then to the NDJSON or CSV output, so an interrupted scan
 * resumes where it stopped with no domain lost or repeated, in memory that does not grow with the
 * list. Bad lines (garbage, names too long) are reported with their line number and skipped.
 * `mailward scan report DB` prints the survey statistics and writes an HTML page with charts.
 */
import { createReadStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DomainAudit, MtaStsFetcher, Resolver } from '@mailward/core';
import { BudgetResolver, CachingResolver, auditDomain, surveyStatistics } from '@mailward/core';
import { ScanResults } from '@mailward/adapters';
import type { CommandResult } from './result.js';
import { runError, usageError } from './result.js';
import { countLines, progressLine } from './scan-progress.js';
import { checkDomainList, domainOfLine } from './scan-input.js';
import { ScanOutput } from './scan-output.js';
import { describeSystemError } from '@mailward/adapters';
import { renderScanReport } from '../render/scan-report-html.js';
import { SCRIPT, SCRIPT_FILE, STYLE, STYLE_FILE } from '../render/scan-report-assets.js';

export interface ScanArgs {
  readonly list: string;
  readonly db: string;
  readonly out?: string;
  readonly concurrency: number;
  readonly timeBudgetMs: number;
  /**
   * Audit again the domains an earlier run could not check (status dns-failed): a failed lookup is
   * the resolver's or the network's trouble of the moment, not a property of the domain.
   */
  readonly retryFailed: boolean;
  /** How the scan is run (DNS servers, transport...), recorded with the run for the report. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

export interface ScanDeps {
  readonly resolver: Resolver;
  readonly fetcher?: (timeoutMs: number) => MtaStsFetcher;
  /** Rewrites one status line (a terminal's progress bar); absent when not on a terminal. */
  readonly status?: (text: string) => void;
  readonly now: () => number;
  /** DNS queries sent so far, for the summary (network resolvers only). */
  readonly queriesSent?: () => number;
}

export { domainOfLine };

/** Results stored and written together. */
const PERSIST_BATCH = 100;

/** Why a results file cannot be used, in words a user can act on. */
function resultsFileProblem(path: string, error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'SQLITE_NOTADB') return `${path} is not a mailward scan results file (not a SQLite database)`;
  if (code === 'SQLITE_CANTOPEN') return `cannot open ${path} (is it a directory, or is its directory missing?)`;
  return describeSystemError(error) ?? (error as Error).message;
}

export async function scanCommand(args: ScanArgs, deps: ScanDeps): Promise<CommandResult> {
  // The list is checked before anything else, so a wrong path never costs a DNS query.
  const listProblem = await checkDomainList(args.list);
  if (listProblem !== undefined) return usageError('scan', listProblem);
  let results: ScanResults;
  try {
    results = new ScanResults(args.db);
  } catch (error) {
    return runError('scan', resultsFileProblem(args.db, error));
  }
  let output: ScanOutput | undefined;
  try {
    output = args.out === undefined ? undefined : new ScanOutput(args.out, results);
  } catch (error) {
    results.close();
    return runError('scan', `--out ${args.out}: ${describeSystemError(error) ?? (error as Error).message}`);
  }
  const started = deps.now();
  const run = results.run({
    startedAt: new Date(started).toISOString(),
    list: args.list,
    settings: { concurrency: args.concurrency, 'time budget (ms)': args.timeBudgetMs, ...args.settings },
  });
  const statuses = { ok: 0, nxdomain: 0, 'dns-failed': 0 };
  const retried = { checked: 0, stillFailed: 0 };
  const queriesBefore = deps.queriesSent?.() ?? 0;
  let lineNumber = 0;
  let scanned = 0;
  let skipped = 0;
  const problems: string[] = [];
  const inFlight = new Set<Promise<void>>();
  // Results are stored, written and marked in batches: one commit and one write per batch instead
  // of per domain. The order (store, write, mark) keeps a crash from losing or repeating a line; a
  // crash loses at most the unsaved batch, whose domains the next run scans again.
  // A retried domain's row is replaced in place; its old line in the output is replaced when the
  // output is rewritten at the end, so it is not appended here.
  const finished: { audit: DomainAudit; retry: boolean }[] = [];
  const persist = () => {
    const batch = finished.splice(0);
    if (batch.length === 0) return;
    const saved = results.saveMany(batch, run);
    for (const { audit, replaced } of saved) {
      statuses[audit.status] += 1;
      if (replaced) retried[audit.status === 'dns-failed' ? 'stillFailed' : 'checked'] += 1;
    }
    const added = saved.filter((s) => !s.replaced);
    output?.writeMany(added.map((s) => s.audit));
    results.markExportedMany(added.map((s) => s.seq));
    scanned += saved.length;
    skipped += batch.length - saved.length;
  };
  // A slow scan still stores its results within a second.
  const persistTimer = setInterval(persist, 1000).unref();
  const auditOne = async (domain: string, retry: boolean) => {
    // The time budget sits under a cache of this domain's own answers (the MX, the DMARC record and
    // the MX host's address are each asked for by several checks), so when the budget runs out the
    // queries the cache shares are aborted too and free their place for other domains. Both are
    // dropped with the domain, so memory stays flat.
    const budget = new BudgetResolver(deps.resolver, { now: deps.now }, { timeBudgetMs: args.timeBudgetMs });
    const cached = new CachingResolver(budget, { now: deps.now });
    try {
      const audit = await auditDomain(domain, {
        resolver: cached,
        dkimStopAtNxdomain: true,
        ...(deps.fetcher !== undefined && { mtaStsFetcher: deps.fetcher(Math.min(10_000, args.timeBudgetMs)) }),
      });
      finished.push({ audit, retry });
      if (finished.length >= PERSIST_BATCH) persist();
    } finally {
      budget.dispose();
    }
    showProgress();
  };
  // On a terminal: the list's length first (for the bar and the time left), then a status line at
  // most ten times a second.
  const linesTotal = deps.status === undefined ? 0 : await countLines(args.list);
  let shownAt = 0;
  const showProgress = (force = false, end = '') => {
    if (deps.status === undefined) return;
    const now = deps.now();
    if (!force && now - shownAt < 100) return;
    shownAt = now;
    deps.status(
      progressLine({
        linesDone: lineNumber - inFlight.size,
        linesTotal,
        scanned,
        skipped,
        badLines: problems.length,
        seconds: (now - started) / 1000,
      }) + end,
    );
  };
  const lines = createInterface({ input: createReadStream(args.list), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNumber += 1;
    const parsed = domainOfLine(line);
    if (parsed === undefined) continue;
    if ('reason' in parsed) {
      if (problems.length < 1000)
        problems.push(`line ${lineNumber}: ${parsed.reason}: ${JSON.stringify(line.slice(0, 80))}`);
      results.problem({ line: lineNumber, text: line, reason: parsed.reason });
      continue;
    }
    const stored = results.stored(parsed.domain);
    // Failed in an earlier run: audited again (a domain this run failed on is not, however often
    // the list repeats it).
    const retry = args.retryFailed && stored?.status === 'dns-failed' && stored.run < run;
    if (stored !== undefined && !retry) {
      skipped += 1;
      continue;
    }
    const task: Promise<void> = auditOne(parsed.domain, retry).finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= args.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  clearInterval(persistTimer);
  persist();
  // The last status line stays on the screen above the summary.
  showProgress(true, '\n');
  // Rows replaced by a retry (now, or by a run that stopped before this point) make the output's
  // lines for them outdated: write it again from the results file, one line per domain.
  // A failure there (a full disk) loses nothing: the rows stay marked, so the next run rewrites it.
  let rewriteProblem: string | undefined;
  if (output !== undefined && results.outdatedExports() > 0) {
    try {
      output.rewriteFrom(results);
    } catch (error) {
      rewriteProblem = `${args.out} was not rewritten with the retried domains: ${describeSystemError(error) ?? (error as Error).message}; the results are in ${args.db}, and the next run rewrites it`;
    }
  }
  output?.close();
  const total = results.count();
  const failedInAll = results.countWithStatus('dns-failed');
  results.close();
  const seconds = (deps.now() - started) / 1000;
  const retriedCount = retried.checked + retried.stillFailed;
  const summary = [
    `Scanned ${scanned} domain${scanned === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (${(scanned / Math.max(seconds, 0.001)).toFixed(0)}/s); ${skipped} already in ${args.db} or repeated; ${total} in all`,
    ...(retriedCount === 0
      ? []
      : [
          `Retried ${retriedCount} domain${retriedCount === 1 ? '' : 's'} that could not be checked before: ${retried.checked} checked now, ${retried.stillFailed} still could not be checked`,
        ]),
    ...(statuses.nxdomain + statuses['dns-failed'] === 0
      ? []
      : [
          `${statuses.ok} audited, ${statuses.nxdomain} do not exist (NXDOMAIN), ${statuses['dns-failed']} could not be checked (DNS lookups failed); the last two are left out of the statistics`,
        ]),
    ...(failedInAll === 0
      ? []
      : [
          `${failedInAll} domain${failedInAll === 1 ? '' : 's'} in ${args.db} could not be checked; ${args.retryFailed ? 'running the same command again retries' : 'running it again without --no-retry-failed retries'} ${failedInAll === 1 ? 'it' : 'them'}`,
        ]),
    ...(deps.queriesSent === undefined || scanned === 0
      ? []
      : [`${((deps.queriesSent() - queriesBefore) / scanned).toFixed(1)} DNS queries per domain scanned`]),
    ...(problems.length === 0
      ? []
      : [
          `${problems.length} line${problems.length === 1 ? '' : 's'} skipped:`,
          ...problems.slice(0, 20).map((p) => `  ${p}`),
        ]),
  ];
  // 3 ("could not check", as for `check`) only when this run checked nothing it audited: DNS does
  // not work from here (or only domains that still fail were retried). A survey with some failed
  // domains is a completed scan (0); the summary counts them.
  const checkedNothing = scanned > 0 && statuses['dns-failed'] === scanned;
  const stdout = `${summary.join('\n')}\n`;
  if (rewriteProblem !== undefined) return { ...runError('scan', rewriteProblem), stdout };
  return { exitCode: checkedNothing ? 3 : 0, stdout, stderr: '' };
}

/** Rows in the report's table unless --table-rows says otherwise: a page that still opens quickly. */
export const DEFAULT_TABLE_ROWS = 10_000;

export function scanReportCommand(
  args: { readonly db: string; readonly html: string; readonly tableRows?: number },
  deps: { readonly writeFile: (path: string, text: string) => void; readonly now: () => number },
): CommandResult {
  if (!existsSync(args.db)) return usageError('scan report', `${args.db}: no such file`);
  let results: ScanResults;
  try {
    results = new ScanResults(args.db, { mustExist: true });
  } catch (error) {
    return runError('scan report', resultsFileProblem(args.db, error));
  }
  const statistics = surveyStatistics(results.counts());
  const total = results.count();
  const page = renderScanReport({
    statistics,
    runs: results.runs(),
    rows: results.tableRows(args.tableRows ?? DEFAULT_TABLE_ROWS),
    total,
    generatedAt: new Date(deps.now()).toISOString(),
  });
  results.close();
  // The page loads its script and style sheet from files beside it (no inline code: strict CSP).
  for (const [path, text] of [
    [args.html, page],
    [join(dirname(args.html), SCRIPT_FILE), SCRIPT],
    [join(dirname(args.html), STYLE_FILE), STYLE],
  ] as const) {
    try {
      deps.writeFile(path, text);
    } catch (error) {
      return runError('scan report', describeSystemError(error) ?? `cannot write ${path}: ${(error as Error).message}`);
    }
  }
  const lines = [
    `Survey of ${statistics.domains} domains audited`,
    ...(statistics.nxdomain + statistics.dnsFailed === 0
      ? []
      : [
          `(${total} in the results file: ${statistics.nxdomain} do not exist (NXDOMAIN) and ${statistics.dnsFailed} could not be checked (DNS lookups failed); both are left out of the shares and grades)`,
        ]),
    '',
  ];
  for (const s of statistics.shares)
    lines.push(`  ${s.label.padEnd(34)} ${String(s.count).padStart(8)}  ${(s.share * 100).toFixed(1).padStart(5)}%`);
  lines.push(
    '',
    `Grades: ${['A', 'B', 'C', 'F'].map((g) => `${g} ${statistics.grades[g] ?? 0}`).join(', ')}`,
    `Page: ${args.html} (with ${SCRIPT_FILE} and ${STYLE_FILE} beside it; the definition of each share is there)`,
  );
  return { exitCode: 0, stdout: `${lines.join('\n')}\n`, stderr: '' };
}
