/**
 * Ingest: source → unpack → parse → dedupe → store, one item at a time. Everything found in an
 * item is saved in one transaction, and only then is the item acknowledged to its source (moved,
 * marked), so a crash at any point leaves the item to be read again, and the store's natural keys
 * make the second reading a no-op. Input that cannot be unpacked or parsed is quarantined with the
 * reason and its bytes: nothing is dropped. A store that fails stops the run (non-zero exit): the
 * item stays unacknowledged at its source.
 */
import type { ParseResult } from './model.js';
import type { ReportSource, ReportStore, StoreEntry } from './ports.js';
import { parseAggregateReport } from './parse/aggregate.js';
import { parseFailureReport } from './parse/failure-report.js';
import { parseTlsReport } from './parse/smtp-tls.js';
import type { ReportPart, UnpackLimits } from './parse/unpack.js';
import { unpackReports } from './parse/unpack.js';

export interface IngestOptions {
  readonly limits?: Partial<UnpackLimits>;
  /** Keep the body of messages reported in failure reports (default false: privacy). */
  readonly keepFailureBodies?: boolean;
  /** Called after each item, for progress output. */
  readonly onItem?: (event: IngestEvent) => void;
}

export interface IngestEvent {
  readonly item: string;
  readonly outcome: 'stored' | 'duplicate' | 'quarantined' | 'partly-quarantined';
  readonly detail: string;
}

export interface IngestCounts {
  /** Items read from the source. */
  items: number;
  aggregate: number;
  failure: number;
  tls: number;
  /** Reports already in the store. */
  duplicates: number;
  /** Items or parts kept in the quarantine table. */
  quarantined: number;
}

export type IngestResult =
  | { readonly ok: true; readonly counts: IngestCounts }
  | { readonly ok: false; readonly counts: IngestCounts; readonly reason: string };

export async function ingest(
  source: ReportSource,
  store: ReportStore,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const counts: IngestCounts = { items: 0, aggregate: 0, failure: 0, tls: 0, duplicates: 0, quarantined: 0 };
  for await (const item of source.items()) {
    counts.items += 1;
    const entries: StoreEntry[] =
      item.problem === undefined
        ? await entriesOf(item.bytes, options)
        : [{ kind: 'quarantine', reason: item.problem, bytes: item.bytes }];
    let outcomes;
    try {
      outcomes = await store.save(entries, item.name);
    } catch (error) {
      return { ok: false, counts, reason: `store failed on ${item.name}: ${(error as Error).message}` };
    }
    const details: string[] = [];
    let stored = 0;
    let quarantined = 0;
    entries.forEach((entry, i) => {
      const outcome = outcomes[i];
      if (entry.kind === 'quarantine') {
        quarantined += 1;
        details.push(`quarantined: ${entry.reason}`);
        return;
      }
      if (outcome === 'duplicate') {
        counts.duplicates += 1;
        details.push(`${entry.kind} report already stored`);
        return;
      }
      stored += 1;
      counts[entry.kind] += 1;
      details.push(`${entry.kind} report stored`);
    });
    counts.quarantined += quarantined;
    await source.acknowledge(item, quarantined === entries.length ? 'quarantined' : 'stored');
    options.onItem?.({
      item: item.name,
      outcome:
        quarantined === entries.length
          ? 'quarantined'
          : quarantined > 0
            ? 'partly-quarantined'
            : stored > 0
              ? 'stored'
              : 'duplicate',
      detail: details.join('; '),
    });
  }
  return { ok: true, counts };
}

/** What one item holds: its reports, and a quarantine entry for each part that failed. */
export async function entriesOf(bytes: Uint8Array, options: IngestOptions = {}): Promise<StoreEntry[]> {
  const unpacked = await unpackReports(bytes, options.limits);
  if (!unpacked.ok) return [{ kind: 'quarantine', reason: unpacked.reason, bytes }];
  const entries: StoreEntry[] = [];
  for (const part of unpacked.parts) entries.push(await entryOf(part, options));
  return entries;
}

async function entryOf(part: ReportPart, options: IngestOptions): Promise<StoreEntry> {
  const failed = (result: ParseResult<unknown>): StoreEntry | undefined =>
    result.ok ? undefined : { kind: 'quarantine', reason: `${part.path}: ${result.reason}`, bytes: part.bytes };
  switch (part.kind) {
    case 'aggregate': {
      const parsed = parseAggregateReport(part.bytes);
      return parsed.ok ? { kind: 'aggregate', report: parsed.report } : (failed(parsed) as StoreEntry);
    }
    case 'tls': {
      const parsed = parseTlsReport(part.bytes);
      return parsed.ok ? { kind: 'tls', report: parsed.report } : (failed(parsed) as StoreEntry);
    }
    case 'failure': {
      const parsed = await parseFailureReport(part.bytes, { keepBody: options.keepFailureBodies ?? false });
      return parsed.ok ? { kind: 'failure', report: parsed.report } : (failed(parsed) as StoreEntry);
    }
  }
}
