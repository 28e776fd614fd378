/**
 * The ingest pipeline over an in-memory store and source (unit level; the SQLite store and the
 * real sources are tested in the adapters and CLI packages): outcomes, acknowledgements after
 * commit, quarantine, idempotence, and a failing store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import type { ReportSource, ReportStore, SaveOutcome, SourceItem, StoreEntry } from '../src/index.js';
import { demoReportFiles, ingest } from '../src/index.js';

class MemoryStore {
  readonly keys = new Set<string>();
  async saveBatch(items: readonly { entries: readonly StoreEntry[] }[]): Promise<SaveOutcome[][]> {
    const all: SaveOutcome[][] = [];
    for (const { entries } of items) all.push(await this.save(entries));
    return all;
  }
  readonly quarantine: string[] = [];
  failing = false;
  save(entries: readonly StoreEntry[]): Promise<SaveOutcome[]> {
    if (this.failing) return Promise.reject(new Error('database is down'));
    return Promise.resolve(
      entries.map((e) => {
        const key =
          e.kind === 'aggregate'
            ? `a ${e.report.metadata.orgName.toLowerCase()} ${e.report.metadata.reportId} ${e.report.policy.domain} ${e.report.metadata.begin} ${e.report.metadata.end}`
            : e.kind === 'failure'
              ? `f ${e.report.reporter} ${e.report.reportId}`
              : e.kind === 'tls'
                ? `t ${e.report.organizationName} ${e.report.reportId}`
                : `q ${e.reason}`;
        if (e.kind === 'quarantine') this.quarantine.push(e.reason);
        if (this.keys.has(key)) return 'duplicate';
        this.keys.add(key);
        return 'stored';
      }),
    );
  }
}

class ListSource implements ReportSource {
  readonly acknowledged: [string, string][] = [];
  constructor(private readonly list: SourceItem[]) {}
  async *items(): AsyncIterable<SourceItem> {
    for (const item of this.list) yield await Promise.resolve(item);
  }
  acknowledge(item: SourceItem, outcome: 'stored' | 'quarantined'): Promise<void> {
    this.acknowledged.push([item.name, outcome]);
    return Promise.resolve();
  }
}

const demo = demoReportFiles(1_800_000_000);
const items = (): SourceItem[] => demo.map((f) => ({ name: f.name, bytes: f.bytes }));

test('the demo set: every report stored, the junk file quarantined, every item acknowledged after its save', async () => {
  const store = new MemoryStore();
  const source = new ListSource(items());
  const result = await ingest(source, store as unknown as ReportStore);
  assert.ok(result.ok);
  assert.deepEqual(result.counts, { items: 31, aggregate: 28, failure: 1, tls: 1, duplicates: 0, quarantined: 1 });
  assert.equal(source.acknowledged.length, 31);
  assert.deepEqual(source.acknowledged.at(-1), ['not-a-report.txt', 'quarantined']);
  assert.deepEqual(store.quarantine, ['no report found: input: not a report (unrecognised content)']);

  const again = await ingest(new ListSource(items()), store as unknown as ReportStore);
  assert.ok(again.ok);
  assert.deepEqual(again.counts, { items: 31, aggregate: 0, failure: 0, tls: 0, duplicates: 30, quarantined: 1 });
});

test('a part that fails to parse is quarantined with its path; the good parts of the item are stored', async () => {
  const good = demo.find((f) => f.name.endsWith('.xml'));
  assert.ok(good);
  const broken = gzipSync(Buffer.from('<feedback><report_metadata></report_metadata></feedback>'));
  const store = new MemoryStore();
  const source = new ListSource([
    { name: 'good.xml', bytes: good.bytes },
    { name: 'broken.xml.gz', bytes: broken },
    { name: 'too-big', bytes: Buffer.from('x'), problem: 'too-big: over the limit' },
  ]);
  const result = await ingest(source, store as unknown as ReportStore);
  assert.ok(result.ok);
  assert.deepEqual([result.counts.aggregate, result.counts.quarantined], [1, 2]);
  assert.deepEqual(store.quarantine, ['input > gzip: report_metadata.org_name is missing', 'too-big: over the limit']);
  assert.deepEqual(source.acknowledged, [
    ['good.xml', 'stored'],
    ['broken.xml.gz', 'quarantined'],
    ['too-big', 'quarantined'],
  ]);
});

test('a failing store stops the run and leaves the item unacknowledged', async () => {
  const store = new MemoryStore();
  store.failing = true;
  const source = new ListSource(items().slice(0, 3));
  const result = await ingest(source, store as unknown as ReportStore);
  assert.ok(!result.ok);
  assert.match(result.reason, /^store failed on .* and 2 more: database is down$/);
  // The three items were read and batched; the batch failed, so none is acknowledged.
  assert.deepEqual(source.acknowledged, []);
  assert.equal(result.counts.items, 3);
  assert.equal(result.counts.aggregate, 0);
});
