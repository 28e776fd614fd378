/**
 * Containers: reports are found by content in mail, gzip and zip, nested; bombs and junk are
 * refused with a clear reason, in bounded time and memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { testdataPath } from '@mailward/testkit';
import { sniff, unpackReports } from '../src/index.js';

const sample = (...parts: string[]) => readFileSync(testdataPath('parsedmarc', 'samples', ...parts));
const report = Buffer.from('<?xml version="1.0"?><feedback><report_metadata/></feedback>');

test('content is recognised by its bytes, not its name', () => {
  assert.equal(sniff(gzipSync(report)), 'gzip');
  assert.equal(sniff(zipSync({ 'a.txt': report })), 'zip');
  assert.equal(sniff(Buffer.from('\ufeff  <feedback/>')), 'xml');
  assert.equal(sniff(Buffer.from('\n{"organization-name": "x"}')), 'json');
  assert.equal(sniff(Buffer.from('From: a@b.example\r\nSubject: x\r\n\r\nbody')), 'mail');
  assert.equal(sniff(Buffer.from('From MAILER-DAEMON Fri Jul  8 12:08:34 2011\nFrom: a@b\n\n')), 'mail');
  assert.equal(sniff(Buffer.from('just text')), 'unknown');
});

test('the extract_report samples give the same XML from raw, gzip and zip', async () => {
  const raw = sample('extract_report', 'nice-input.xml');
  for (const file of ['nice-input.xml', 'nice-input.xml.gz', 'nice-input.xml.zip']) {
    const unpacked = await unpackReports(sample('extract_report', file));
    assert.ok(unpacked.ok, file);
    assert.equal(unpacked.parts.length, 1);
    assert.equal(unpacked.parts[0]?.kind, 'aggregate');
    assert.deepEqual(Buffer.from(unpacked.parts[0]?.bytes ?? []), raw, file);
  }
});

test('mail: a zip attachment, a gzip with trailing bytes (Mimecast), failure reports, TLS reports', async () => {
  const google = await unpackReports(
    sample('aggregate', 'Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml'),
  );
  assert.ok(google.ok);
  assert.match(google.parts[0]?.path ?? '', /^input > attachment google\.com!borschow\.com!.*\.zip > zip:.*\.xml$/);
  const mimecast = await unpackReports(sample('aggregate', 'mimecast-weird-gzip.eml'));
  assert.ok(mimecast.ok, mimecast.ok ? '' : mimecast.reason);
  assert.equal(mimecast.parts[0]?.kind, 'aggregate');
  for (const file of ['dmarc_ruf_report_linkedin.eml', 'exim_plain_text_only_no_arf_part.eml']) {
    const failure = await unpackReports(sample('failure', file));
    assert.ok(failure.ok, file);
    assert.deepEqual(
      failure.parts.map((p) => p.kind),
      ['failure'],
      file,
    );
  }
  const tls = await unpackReports(sample('smtp_tls', 'google.com_smtp_tls_report.eml'));
  assert.ok(tls.ok);
  assert.deepEqual(
    tls.parts.map((p) => [p.kind, p.path.endsWith('> gzip')]),
    [['tls', true]],
  );
});

test('a gzip that expands to 10 GB is refused after the budget, quickly', async () => {
  // 160 gzip members of 64 MiB of zeros each: about 10 MB that inflate to 10 GiB.
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  const bomb = Buffer.concat(Array.from({ length: 160 }, () => member));
  const started = performance.now();
  const result = await unpackReports(bomb, { maxDecompressedBytes: 128 * 1024 * 1024 });
  assert.ok(!result.ok);
  assert.match(result.reason, /^input: gzip expands beyond 134217728 bytes \(a decompression bomb\?\)$/);
  assert.ok(performance.now() - started < 10_000);
});

test('a zip of 10,000 members is refused; so is a zip member that inflates past the budget', async () => {
  const many: Record<string, Uint8Array> = {};
  for (let i = 0; i < 10_000; i += 1) many[`r${i}.xml`] = report;
  const result = await unpackReports(zipSync(many, { level: 0 }));
  assert.ok(!result.ok);
  assert.match(result.reason, /zip has more than 100 members/);

  const big = zipSync({ 'big.xml': Buffer.alloc(32 * 1024 * 1024, 0x20) }, { level: 9 });
  const bombed = await unpackReports(big, { maxDecompressedBytes: 4 * 1024 * 1024 });
  assert.ok(!bombed.ok);
  assert.match(bombed.reason, /zip member big\.xml expands beyond 4194304 bytes/);
});

test('containers nested deeper than the limit, broken gzip, and junk are refused with reasons', async () => {
  let nested: Uint8Array = report;
  for (let i = 0; i < 8; i += 1) nested = gzipSync(nested);
  const deep = await unpackReports(nested);
  assert.ok(!deep.ok);
  assert.match(deep.reason, /nested deeper than 5 containers/);

  const broken = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
    deflateRawSync(report).subarray(0, 5),
  ]);
  const truncated = await unpackReports(broken);
  assert.ok(!truncated.ok);
  assert.match(truncated.reason, /^input: broken gzip data: /);

  const junk = await unpackReports(Buffer.from('Out of office until Monday.'));
  assert.deepEqual(junk, { ok: false, reason: 'no report found: input: not a report (unrecognised content)' });
  const empty = await unpackReports(new Uint8Array());
  assert.deepEqual(empty, { ok: false, reason: 'no report found: input: empty' });
});

test('a mail over the size limit is refused without being parsed', async () => {
  const mail = Buffer.concat([Buffer.from('From: a@b.example\r\nSubject: big\r\n\r\n'), Buffer.alloc(2048, 0x61)]);
  const result = await unpackReports(mail, { maxMailBytes: 1024 });
  assert.ok(!result.ok);
  assert.match(result.reason, /mail of 2083 bytes is over the 1024-byte limit/);
});
