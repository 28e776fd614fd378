import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DmarcRecord } from '../src/index.js';
import { isDmarcRecordText, parseDmarcRecord, requestedPolicy } from '../src/index.js';

function record(text: string): DmarcRecord {
  const parsed = parseDmarcRecord(text);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.record;
}

test('every RFC 9989 tag, with defaults (§4.7)', () => {
  const r = record(
    'v=DMARC1; p=reject; sp=quarantine; np=reject; psd=n; t=y; adkim=s; aspf=s; fo=1:d:s; ' +
      'rua=mailto:agg@example.com, https://reports.example.net/dmarc; ruf=mailto:fail@example.org',
  );
  assert.deepEqual(
    [r.p, r.sp, r.np, r.psd, r.testing, r.adkim, r.aspf, r.fo],
    ['reject', 'quarantine', 'reject', 'n', true, 's', 's', ['1', 'd', 's']],
  );
  assert.deepEqual(
    r.rua.map((u) => [u.scheme, u.domain]),
    [
      ['mailto', 'example.com'],
      ['https', 'reports.example.net'],
    ],
  );
  assert.equal(r.ruf[0]?.address, 'fail@example.org');
  assert.deepEqual(r.problems, []);
  const d = record('v=DMARC1');
  assert.deepEqual([d.p, d.psd, d.testing, d.adkim, d.aspf, d.fo, d.rua], [undefined, 'u', false, 'r', 'r', ['0'], []]);
});

test('v= must come first and be exactly DMARC1; otherwise it is not a DMARC record (§4.7 v)', () => {
  for (const text of ['p=none; v=DMARC1', 'v=dmarc1; p=none', 'v=DMARC2; p=none', 'v=spf1 -all', '', 'v=DMARC1x']) {
    const parsed = parseDmarcRecord(text);
    assert.equal(parsed.ok, false, text);
  }
  assert.equal(isDmarcRecordText('v=DMARC1; p=none'), true);
  assert.equal(isDmarcRecordText('v = DMARC1'), true);
  assert.equal(isDmarcRecordText('v=DMARC1x'), false);
  assert.equal(isDmarcRecordText('p=none; v=DMARC1'), false);
});

test('unknown tags are ignored; bad values become positioned problems and defaults (§4.8)', () => {
  const text = 'v=DMARC1; p=reject; foo=bar; adkim=x; aspf=S; t=maybe; psd=q; fo=0:1; pct=150; ri=abc; rf=iodef';
  const r = record(text);
  assert.equal(r.p, 'reject');
  assert.equal(r.adkim, 'r');
  assert.equal(r.aspf, 's', 'values are case-insensitive');
  assert.equal(r.testing, false);
  assert.equal(r.psd, 'u');
  assert.deepEqual(r.fo, ['0']);
  assert.equal(r.pct, undefined);
  const byTag = new Map(r.problems.filter((p) => p.severity === 'error').map((p) => [p.tag, p]));
  assert.deepEqual([...byTag.keys()].sort(), ['adkim', 'fo', 'pct', 'psd', 'rf', 'ri', 't']);
  assert.equal(byTag.get('adkim')?.position, text.indexOf('adkim='));
  assert.ok(!r.problems.some((p) => p.tag === 'foo'), 'unknown tags are silently ignored');
});

test('p= rules: missing p is none; invalid p with a valid rua is none; without rua, no policy (§4.10.1)', () => {
  assert.deepEqual(requestedPolicy(record('v=DMARC1; rua=mailto:a@example.com')), {
    kind: 'policy',
    p: 'none',
    reason: 'no p= tag: treated as p=none (RFC 9989 §4.7)',
  });
  const invalidWithRua = requestedPolicy(record('v=DMARC1; p=block; rua=mailto:a@example.com'));
  assert.equal(invalidWithRua.kind === 'policy' && invalidWithRua.p, 'none');
  assert.equal(requestedPolicy(record('v=DMARC1; p=block')).kind, 'no-policy');
  assert.equal(requestedPolicy(record('v=DMARC1; p=block; rua=nonsense')).kind, 'no-policy');
  assert.equal(requestedPolicy(record('v=DMARC1; p=reject; sp=bad')).kind, 'no-policy');
  assert.deepEqual(requestedPolicy(record('v=DMARC1; p=Quarantine')), { kind: 'policy', p: 'quarantine' });
});

test('report URIs: obsolete !size is a warning, bad URIs are problems, mailto needs an address', () => {
  const r = record(
    'v=DMARC1; p=none; rua=mailto:a@example.com!10m, mailto:nobody, ftp://x.example/, mailto:b%40c@example.org',
  );
  assert.deepEqual(
    r.rua.map((u) => [u.uri, u.obsoleteSizeLimit ?? null]),
    [
      ['mailto:a@example.com', '10m'],
      ['ftp://x.example/', null],
      ['mailto:b%40c@example.org', null],
    ],
  );
  assert.ok(r.problems.some((p) => p.severity === 'warning' && /obsolete/.test(p.message)));
  assert.ok(r.problems.some((p) => p.severity === 'error' && /mailto:nobody/.test(p.message)));
});

test('historic tags (pct, rf, ri) are kept for RFC 7489 mode, with a warning', () => {
  const r = record('v=DMARC1; p=reject; pct=25; rf=afrf; ri=3600');
  assert.deepEqual([r.pct, r.rf, r.ri], [25, ['afrf'], 3600]);
  assert.equal(r.problems.filter((p) => p.severity === 'warning').length, 3);
});

test('malformed pieces, duplicates and hostile sizes', () => {
  const r = record('v=DMARC1;; p=none; p=reject; junk; 9x=1; sp=; ');
  assert.equal(r.p, 'none', 'the first p= is used');
  assert.equal(requestedPolicy(r).kind, 'no-policy', 'an empty sp= is an invalid policy tag, and there is no rua');
  assert.deepEqual(
    r.problems.map((p) => p.message),
    [
      'p= appears more than once; the first one is used',
      '"junk" has no "="',
      '"9x" is not a tag name (letters only)',
      'sp= has an empty value',
    ],
  );
  const huge =
    'v=DMARC1; p=none; rua=' +
    Array.from({ length: 5000 }, (_, i) => `mailto:r${i}@example.com`).join(',') +
    '; x=' +
    'y'.repeat(64 * 1024);
  const started = performance.now();
  const big = record(huge);
  assert.equal(big.rua.length, 100);
  assert.ok(big.problems.some((p) => /5000 URIs/.test(p.message)));
  assert.ok(performance.now() - started < 1_000);
});
