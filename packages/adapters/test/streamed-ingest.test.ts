/**
 * Large report files are streamed: parsed while read, records stored in batches in one
 * transaction; a duplicate stops reading; a report that breaks midway is rolled back and
 * quarantined.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import { ingest } from '@mailward/reports';
import { FileSource, SqliteReportStore } from '../src/index.js';

const record = (i: number) =>
  `<record><row><source_ip>10.${i >> 16}.${(i >> 8) & 255}.${i & 255}</source_ip><count>3</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><result>pass</result></dkim></auth_results></record>`;
const report = (id: string, records: number, tail = '</feedback>') =>
  `<?xml version="1.0"?><feedback><version>1.0</version><report_metadata><org_name>big.example</org_name><email>r@big.example</email><report_id>${id}</report_id><date_range><begin>1800000000</begin><end>1800086399</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>${Array.from({ length: records }, (_, i) => record(i)).join('')}${tail}`;

test('a large gzip report streams into SQLite; reading it again is a duplicate; a broken one is rolled back and quarantined', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-stream-'));
  const files = join(dir, 'in');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(files);
  writeFileSync(join(files, 'a-big.xml.gz'), gzipSync(Buffer.from(report('big-1', 30_000))));
  writeFileSync(join(files, 'b-raw.xml'), Buffer.from(report('big-2', 12_000)));
  writeFileSync(join(files, 'c-broken.xml'), Buffer.from(report('big-3', 12_000, '<record><row>')));
  const store = new SqliteReportStore(join(dir, 'r.db'));
  const events: string[] = [];
  const source = new FileSource(files, 64 * 1024);
  const first = await ingest(source, store, { onItem: (e) => events.push(`${e.outcome}: ${e.detail}`) });
  assert.ok(first.ok);
  assert.deepEqual(first.counts, { items: 3, aggregate: 2, failure: 0, tls: 0, duplicates: 0, quarantined: 1 });
  assert.deepEqual(events.slice(0, 2), [
    'stored: aggregate report stored (30000 records, streamed)',
    'stored: aggregate report stored (12000 records, streamed)',
  ]);
  assert.match(events[2] ?? '', /^quarantined: quarantined: .*c-broken\.xml: XML \d+:\d+: unclosed tag/);
  const totals = await store.totals({});
  assert.deepEqual([totals.reports, totals.messages, totals.dmarcPass, totals.quarantined], [2, 126_000, 126_000, 1]);

  const again = await ingest(new FileSource(files, 64 * 1024), store);
  assert.ok(again.ok);
  assert.deepEqual([again.counts.aggregate, again.counts.duplicates, again.counts.quarantined], [0, 2, 1]);
  assert.equal((await store.totals({})).reports, 2);
  await store.close();
});
