/**
 * Ingest: source → unpack → parse → dedupe → store, one item at a time. Everything found in an
 * item is saved in one transaction, and only then is the item acknowledged to its source (moved,
 * marked), so a crash at any point leaves the item to be read again, and the store's natural keys
 * make the second reading a no-op. Input that cannot be unpacked or parsed is quarantined with the
 * reason and its bytes: nothing is dropped. A store that fails stops the run (non-zero exit): the
 * item stays unacknowledged at its source.
 */
import type { ParseResult } from './model.js';
import type { ReportSource, ReportStore, SaveOutcome, SourceItem, StoreEntry } from './ports.js';
import { parseAggregateReport } from './parse/aggregate.js';
import { parseFailureReport } from './parse/failure-report.js';
import { parseTlsReport } from './parse/smtp-tls.js';
import type { ReportPart, UnpackLimits } from './parse/unpack.js';
import { gzipExpandedSize, sniff, unpackReports } from './parse/unpack.js';
import { ingestStreamed } from './ingest-stream.js';

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

/** Items committed together: one transaction (one fsync) per batch instead of per item. */
const BATCH_ITEMS = 200;
const BATCH_RECORDS = 50_000;

export async function ingest(
  source: ReportSource,
  store: ReportStore,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const counts: IngestCounts = { items: 0, aggregate: 0, failure: 0, tls: 0, duplicates: 0, quarantined: 0 };
  const batch: { item: SourceItem; entries: StoreEntry[] }[] = [];
  let batchRecords = 0;
  // Saves the batch in one transaction, then acknowledges its items: never before the commit.
  const flush = async (): Promise<string | undefined> => {
    if (batch.length === 0) return undefined;
    let outcomes: SaveOutcome[][];
    try {
      outcomes = await store.saveBatch(batch.map(({ item, entries }) => ({ entries, source: item.name })));
    } catch (error) {
      const names = batch.length === 1 ? batch[0]?.item.name : `${batch[0]?.item.name} and ${batch.length - 1} more`;
      return `store failed on ${names}: ${(error as Error).message}`;
    }
    for (const [i, { item, entries }] of batch.entries()) {
      const event = tally(entries, outcomes[i] ?? [], counts);
      await source.acknowledge(item, event.outcome === 'quarantined' ? 'quarantined' : 'stored');
      options.onItem?.({ item: item.name, ...event });
    }
    batch.length = 0;
    batchRecords = 0;
    return undefined;
  };

  for await (const item of source.items()) {
    counts.items += 1;
    if (item.stream !== undefined && item.problem === undefined && shouldStream(item)) {
      const failed = await flush();
      if (failed !== undefined) return { ok: false, counts, reason: failed };
      let streamed;
      try {
        streamed = await ingestStreamed({ ...item, stream: item.stream }, store);
      } catch (error) {
        return { ok: false, counts, reason: `store failed on ${item.name}: ${(error as Error).message}` };
      }
      if (streamed.kind === 'quarantine') counts.quarantined += 1;
      else if (streamed.outcome === 'duplicate') counts.duplicates += 1;
      else counts.aggregate += 1;
      await source.acknowledge(item, streamed.kind === 'quarantine' ? 'quarantined' : 'stored');
      options.onItem?.({
        item: item.name,
        outcome: streamed.kind === 'quarantine' ? 'quarantined' : streamed.outcome,
        detail:
          streamed.kind === 'quarantine'
            ? `quarantined: ${streamed.reason}`
            : `aggregate report ${streamed.outcome === 'stored' ? `stored (${streamed.records} records, streamed)` : 'already stored'}`,
      });
      continue;
    }
    const partial = item.size !== undefined && item.size > item.bytes.length;
    const problem =
      item.problem ??
      (partial
        ? `${item.name}: ${item.size} bytes, too large to unpack (only XML and gzip reports are streamed; its first bytes are kept)`
        : undefined);
    const entries: StoreEntry[] =
      problem === undefined
        ? await entriesOf(item.bytes, options)
        : [{ kind: 'quarantine', reason: problem, bytes: item.bytes }];
    batch.push({ item, entries });
    for (const entry of entries) if (entry.kind === 'aggregate') batchRecords += entry.report.records.length;
    if (batch.length >= BATCH_ITEMS || batchRecords >= BATCH_RECORDS) {
      const failed = await flush();
      if (failed !== undefined) return { ok: false, counts, reason: failed };
    }
  }
  const failed = await flush();
  if (failed !== undefined) return { ok: false, counts, reason: failed };
  return { ok: true, counts };
}

/** Counts one saved item's outcomes and describes them. */
function tally(
  entries: readonly StoreEntry[],
  outcomes: readonly SaveOutcome[],
  counts: IngestCounts,
): Omit<IngestEvent, 'item'> {
  const details: string[] = [];
  let stored = 0;
  let quarantined = 0;
  entries.forEach((entry, i) => {
    if (entry.kind === 'quarantine') {
      quarantined += 1;
      details.push(`quarantined: ${entry.reason}`);
      return;
    }
    if (outcomes[i] === 'duplicate') {
      counts.duplicates += 1;
      details.push(`${entry.kind} report already stored`);
      return;
    }
    stored += 1;
    counts[entry.kind] += 1;
    details.push(`${entry.kind} report stored`);
  });
  counts.quarantined += quarantined;
  const outcome =
    quarantined === entries.length
      ? 'quarantined'
      : quarantined > 0
        ? 'partly-quarantined'
        : stored > 0
          ? 'stored'
          : 'duplicate';
  return { outcome, detail: details.join('; ') };
}

/** Above this many (expanded) bytes, an XML or gzip report is streamed rather than held. */
export const STREAM_ABOVE_BYTES = 16 * 1024 * 1024;

/**
 * Stream an item when it is (gzip) XML and large: its whole size, or for gzip the size it
 * expands to (RFC 1952 ISIZE), is over STREAM_ABOVE_BYTES, or only its first bytes are at hand.
 * Everything else goes through the whole-item path, which also repairs broken XML.
 */
function shouldStream(item: SourceItem): boolean {
  const kind = sniff(item.bytes);
  if (kind !== 'xml' && kind !== 'gzip') return false;
  const partial = item.size !== undefined && item.size > item.bytes.length;
  if (partial) return true;
  const expanded = kind === 'gzip' ? gzipExpandedSize(item.bytes) : item.bytes.length;
  return expanded > STREAM_ABOVE_BYTES;
}

/** What one item holds: its reports, and a quarantine entry for each part that failed. */
export async function entriesOf(bytes: Uint8Array, options: IngestOptions = {}): Promise<StoreEntry[]> {
  const unpacked = await unpackReports(bytes, options.limits);
  // The raw bytes go to the quarantine whole: nothing is dropped (inputs are already bounded by
  // the sources' and receivers' size limits).
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

/**
 * Stores one item that arrived by push (an SMTP message, an HTTPS POST): the caller answers the
 * sender only after this returns, so a failure to store becomes a temporary error the sender
 * retries, never a lost report. Throws when the store fails.
 */
export async function receiveItem(
  store: ReportStore,
  item: { readonly name: string; readonly bytes: Uint8Array },
  options: IngestOptions = {},
): Promise<IngestEvent & { readonly counts: IngestCounts }> {
  const entries = await entriesOf(item.bytes, options);
  const outcomes = await store.save(entries, item.name);
  const counts: IngestCounts = { items: 1, aggregate: 0, failure: 0, tls: 0, duplicates: 0, quarantined: 0 };
  return { item: item.name, ...tally(entries, outcomes, counts), counts };
}
