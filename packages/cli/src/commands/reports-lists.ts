/**
 * `mailward reports failures|tls|quarantine list|show`: what the store holds besides aggregate
 * records, so an administrator can see each failure report, TLS report and quarantined input.
 */
import type { ListFilter, Page, ReportStore } from '@mailward/reports';
import {
  renderAggregateList,
  renderAggregateReport,
  renderFailureList,
  renderFailureReport,
  renderQuarantineItem,
  renderQuarantineList,
  renderTlsList,
  renderTlsReport,
} from '../render/report-lists.js';
import type { CommandResult } from './result.js';
import { runError } from './result.js';

export type StoredKind = 'aggregate' | 'failures' | 'tls' | 'quarantine';

export interface ListArgs {
  readonly kind: StoredKind;
  readonly filter: ListFilter;
  /** Aggregate reports: only those parsed with a warning. */
  readonly withWarnings?: boolean;
  readonly page: Page;
  readonly json: boolean;
}

const json = (value: unknown): string => `${JSON.stringify(value, jsonBytes, 2)}\n`;

/** Raw bytes in JSON are base64: the quarantined input may be binary (a broken gzip, a zip). */
function jsonBytes(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
}

export async function listCommand(args: ListArgs, store: ReportStore): Promise<CommandResult> {
  const totals = await store.totals(args.filter);
  const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '' });
  switch (args.kind) {
    case 'aggregate': {
      const withWarnings = args.withWarnings === true;
      const items = await store.aggregateReports({ ...args.filter, withWarnings }, args.page);
      // With --with-warnings the total is not known without counting: say how many are shown.
      const total = withWarnings ? undefined : totals.reports;
      return ok(args.json ? json({ total: total ?? null, items }) : renderAggregateList(items, total, args));
    }
    case 'failures': {
      const items = await store.failureReports(args.filter, args.page);
      return ok(
        args.json
          ? json({ total: totals.failureReports, items })
          : renderFailureList(items, totals.failureReports, args),
      );
    }
    case 'tls': {
      const items = await store.tlsReports(args.filter, args.page);
      return ok(args.json ? json({ total: totals.tlsReports, items }) : renderTlsList(items, totals.tlsReports, args));
    }
    case 'quarantine': {
      const items = await store.quarantinedItems(args.filter, args.page);
      return ok(
        args.json ? json({ total: totals.quarantined, items }) : renderQuarantineList(items, totals.quarantined, args),
      );
    }
  }
}

export interface ShowArgs {
  readonly kind: StoredKind;
  readonly id: number;
  readonly json: boolean;
  /** Quarantine: write the item's bytes as they arrived instead of describing it. */
  readonly raw?: boolean;
  /** The --store given, for the command line the text suggests. */
  readonly storeSpec: string;
}

/** `show` prints at most this many records of an aggregate report; `reports export` has them all. */
const SHOWN_RECORDS = 200;

const NAMES: Record<StoredKind, string> = {
  aggregate: 'aggregate report',
  failures: 'failure report',
  tls: 'SMTP TLS report',
  quarantine: 'quarantined item',
};

export async function showCommand(args: ShowArgs, store: ReportStore): Promise<CommandResult> {
  const command = `reports ${args.kind} show`;
  const missing = () =>
    runError(command, `no ${NAMES[args.kind]} with id ${args.id} (see mailward reports ${args.kind} list)`);
  const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '' });
  switch (args.kind) {
    case 'aggregate': {
      const item = await store.aggregateReport(args.id, args.json ? Number.MAX_SAFE_INTEGER : SHOWN_RECORDS);
      if (item === undefined) return missing();
      return ok(args.json ? json(item) : renderAggregateReport(item));
    }
    case 'failures': {
      const item = await store.failureReport(args.id);
      if (item === undefined) return missing();
      return ok(args.json ? json(item) : renderFailureReport(item));
    }
    case 'tls': {
      const item = await store.tlsReport(args.id);
      if (item === undefined) return missing();
      return ok(args.json ? json(item) : renderTlsReport(item));
    }
    case 'quarantine': {
      const item = await store.quarantinedItem(args.id);
      if (item === undefined) return missing();
      if (args.raw === true) return { exitCode: 0, stdout: '', stderr: '', stdoutBytes: item.bytes };
      return ok(args.json ? json(item) : renderQuarantineItem(item, args.storeSpec));
    }
  }
}
