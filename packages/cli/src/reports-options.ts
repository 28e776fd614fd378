/** What the `mailward reports` commands share: opening the store, date and domain filters, counts. */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { ReportStore, SummaryFilter, VerdictJournal } from '@mailward/reports';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { parseSince, parseUntil } from './commands/reports.js';
import { mailDomainOf } from './commands/mail-domain.js';
import type { OpenStoreOptions } from './store-setup.js';
import { DEFAULT_STORE, openStore } from './store-setup.js';

export const storeOption = (): Option =>
  new Option('--store <spec>', 'report store: sqlite:PATH or postgres://...[?schema=NAME]').default(DEFAULT_STORE);

export async function withStore(
  command: string,
  spec: string,
  run: (store: ReportStore & VerdictJournal, description: string) => Promise<CommandResult>,
  options: OpenStoreOptions = {},
): Promise<CommandResult> {
  const setup = await openStore(spec, options);
  if (!setup.ok) return setup.usage ? usageError(command, setup.reason) : runError(command, setup.reason);
  try {
    return await run(setup.store, setup.description);
  } finally {
    await setup.store.close();
  }
}

/** The file or directory an ingest input names (file, mbox:FILE, maildir:DIR), or undefined for IMAP. */
export function localPathOf(input: string): string | undefined {
  if (input.startsWith('mbox:')) return input.slice('mbox:'.length);
  if (input.startsWith('maildir:')) return input.slice('maildir:'.length);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? undefined : input;
}

/** Commands that only read: the store must exist, and is opened read-only. */
export const READING = { readonly: true } as const;
/** Commands that change only what is stored (enrich, upgrade): the store must exist. */
export const EXISTING = { mustExist: true } as const;

export interface FilterOptions {
  readonly domain?: string;
  readonly since?: string;
  readonly until?: string;
}

export function filterOf(
  command: string,
  options: FilterOptions,
): { filter: SummaryFilter } | { error: CommandResult } {
  const since = options.since === undefined ? undefined : parseSince(options.since);
  if (options.since !== undefined && since === undefined) {
    return {
      error: usageError(
        command,
        `--since ${JSON.stringify(options.since)}: expected a day that exists, YYYY-MM-DD (UTC), or an ISO date-time`,
      ),
    };
  }
  const until = options.until === undefined ? undefined : parseUntil(options.until);
  if (options.until !== undefined && until === undefined) {
    return {
      error: usageError(
        command,
        `--until ${JSON.stringify(options.until)}: expected a day that exists, YYYY-MM-DD (UTC), or an ISO date-time`,
      ),
    };
  }
  const checked = options.domain === undefined ? undefined : mailDomainOf(options.domain);
  if (checked !== undefined && 'reason' in checked) {
    return { error: usageError(command, `--domain ${JSON.stringify(options.domain)}: ${checked.reason}`) };
  }
  const domain = checked?.domain;
  if (since !== undefined && until !== undefined && until <= since) {
    return { error: usageError(command, `--until ${options.until} is not after --since ${options.since}`) };
  }
  return {
    filter: {
      ...(domain === undefined ? {} : { domain }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
    },
  };
}

/** A count option: a whole number from 0 up, or a usage error naming the option. */
export function countOf(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > max) {
      throw new InvalidArgumentError(`${name} takes a whole number from 0 to ${max}, not ${JSON.stringify(value)}`);
    }
    return n;
  };
}

export function filterOptions(command: Command, what: string): Command {
  return command
    .option('--domain <domain>', `only ${what} for this domain`)
    .option('--since <date>', `only ${what} from this UTC day on (YYYY-MM-DD)`)
    .option('--until <date>', `only ${what} up to and including this UTC day (YYYY-MM-DD)`);
}
