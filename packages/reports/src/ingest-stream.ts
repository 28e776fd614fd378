/**
 * Ingest of one item too large to hold (a huge aggregate report file, raw or gzip): bytes are
 * decompressed and parsed as they stream, and records go to the store in batches inside one
 * transaction that commits only at the end. Memory stays bounded by a chunk and a batch however
 * large the report. A report that turns out bad midway is rolled back and quarantined (with the
 * first bytes of the item and the reason). Zip archives and mails cannot be streamed this way;
 * they are quarantined as too large.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { AggregateRecord } from './model.js';
import type { AggregateWriter, ReportStore, SaveOutcome, SourceItem } from './ports.js';
import { AggregateReportStream, AggregateStreamProblem } from './parse/aggregate-stream.js';
import { sniff } from './parse/unpack.js';

const BATCH = 5000;
/** Decompressed bytes of one streamed report (memory is bounded anyway; this bounds the time a bomb costs). */
const MAX_STREAMED_BYTES = 8 * 1024 * 1024 * 1024;

export type StreamedOutcome =
  | { readonly kind: 'aggregate'; readonly outcome: SaveOutcome; readonly records: number }
  | { readonly kind: 'quarantine'; readonly reason: string };

export async function ingestStreamed(
  item: SourceItem & { readonly stream: () => AsyncIterable<Uint8Array> },
  store: ReportStore,
): Promise<StreamedOutcome> {
  const kind = sniff(item.bytes);
  if (kind !== 'xml' && kind !== 'gzip') {
    return quarantine(
      store,
      item,
      `${item.name}: too large to unpack in memory (${kind}); only raw or gzip XML reports are streamed`,
    );
  }
  const source = kind === 'gzip' ? Readable.from(item.stream()).pipe(createGunzip()) : item.stream();
  const parser = new AggregateReportStream();
  let writer: AggregateWriter | 'duplicate' | undefined;
  let records = 0;
  let bytes = 0;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      if (bytes > MAX_STREAMED_BYTES) throw new AggregateStreamProblem(`expands beyond ${MAX_STREAMED_BYTES} bytes`);
      parser.write(chunk);
      const header = parser.header();
      if (writer === undefined && header !== undefined) writer = await store.beginAggregate(header, item.name);
      if (writer === 'duplicate') break; // already stored: no need to read the rest
      if (writer !== undefined && parser.pendingCount() >= BATCH) records += await add(writer, parser.drain());
    }
    if (writer === 'duplicate') return { kind: 'aggregate', outcome: 'duplicate', records: 0 };
    const report = parser.end();
    writer ??= await store.beginAggregate(report, item.name);
    if (writer === 'duplicate') return { kind: 'aggregate', outcome: 'duplicate', records: 0 };
    records += await add(writer, parser.drain());
    await writer.commit(report);
    return { kind: 'aggregate', outcome: 'stored', records };
  } catch (error) {
    if (writer !== undefined && writer !== 'duplicate') await writer.abort();
    if (error instanceof AggregateStreamProblem) return quarantine(store, item, `${item.name}: ${error.message}`);
    if (isZlibError(error))
      return quarantine(store, item, `${item.name}: broken gzip data: ${(error as Error).message}`);
    throw error;
  } finally {
    if (typeof (source as Readable).destroy === 'function') (source as Readable).destroy();
  }
}

async function add(writer: AggregateWriter, records: readonly AggregateRecord[]): Promise<number> {
  if (records.length > 0) await writer.add(records);
  return records.length;
}

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return code.startsWith('Z_') || code === 'ERR_BUFFER_TOO_LARGE';
}

async function quarantine(store: ReportStore, item: SourceItem, reason: string): Promise<StreamedOutcome> {
  await store.save([{ kind: 'quarantine', reason, bytes: item.bytes }], item.name);
  return { kind: 'quarantine', reason };
}
