/** Domain audits over real DNS: crafted domains served by Knot, looked up by the network resolver. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditDomain, parseZone } from '@mailward/core';
import type { ServedZone } from '@mailward/testkit';
import { serveZone } from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';

let served: ServedZone;
let resolver: NetworkResolver;

before(async () => {
  const parsed = parseZone({
    'clean.example': [{ TXT: 'v=spf1 include:_spf.clean.example -all' }, { MX: [10, 'mx.clean.example'] }],
    '_spf.clean.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
    'mx.clean.example': [{ A: '192.0.2.25' }],
    '25.2.0.192.in-addr.arpa': [{ PTR: 'mx.clean.example' }],
    '_dmarc.clean.example': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@clean.example' }],
    'selector1._domainkey.clean.example': [
      { TXT: 'v=DKIM1; k=ed25519; p=EMBqiwzrIKd+uFFVtTrFV7lthOLp31IGqYTGc7Yb/5w=' },
    ],
    'loop.example': [{ TXT: 'v=spf1 include:_a.loop.example -all' }, { MX: [10, 'mx.clean.example'] }],
    '_a.loop.example': [{ TXT: 'v=spf1 include:_b.loop.example -all' }],
    '_b.loop.example': [{ TXT: 'v=spf1 include:_a.loop.example -all' }],
    '_dmarc.loop.example': [{ TXT: 'v=DMARC1; p=none; rua=mailto:d@clean.example' }],
    'loop.example._report._dmarc.clean.example': [{ TXT: 'v=DMARC1' }],
    'parked.example': [{ TXT: 'v=spf1 a mx ~all' }, { MX: [0, '.'] }, { A: '192.0.2.9' }],
    '_dmarc.parked.example': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@clean.example' }],
    'parked.example._report._dmarc.clean.example': [{ TXT: 'v=DMARC1' }],
    'slow.example': [{ MX: [10, 'mx.clean.example'] }, 'TIMEOUT'],
    '_dmarc.slow.example': ['TIMEOUT'],
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  served = await serveZone(parsed.zone);
  resolver = new NetworkResolver({ servers: [{ host: served.host, port: served.port }], timeoutMs: 300, retries: 1 });
});

after(async () => {
  await served?.stop();
});

/** Codes of the warnings and errors (the info findings of optional areas are checked in core's tests). */
const codes = async (domain: string) =>
  (await auditDomain(domain, { resolver })).findings
    .filter((f) => f.severity === 'error' || f.severity === 'warning')
    .map((f) => f.code)
    .sort();

test('a clean domain over Knot: spf-ok and dmarc-ok, grade A', async () => {
  const audit = await auditDomain('clean.example', { resolver });
  const ok = audit.findings
    .filter((f) => f.severity === 'ok')
    .map((f) => f.code)
    .sort();
  assert.deepEqual([audit.grade, ok], ['A', ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-ok']]);
  assert.deepEqual(await codes('clean.example'), []);
});

test('an include loop and p=none over Knot', async () => {
  assert.deepEqual(await codes('loop.example'), ['dkim-no-key-found', 'dmarc-p-none', 'spf-loop']);
});

test('a null MX makes the parked profile apply over Knot; DKIM is still probed (its SPF sends, so no key warns)', async () => {
  assert.deepEqual(await codes('parked.example'), ['dkim-no-key-found', 'mx-none-but-sends', 'spf-parked-not-strict']);
});

test('timeouts are "could not check" findings, with no grade, in bounded time', async () => {
  const started = performance.now();
  const audit = await auditDomain('slow.example', { resolver });
  // DNSSEC too: a zone whose SOA does not come back is of unknown state, not unsigned; no "no SPF
  // record". Only the apex times out here: the names below it are answered, so the DKIM and
  // optional-record findings stand on real answers.
  assert.deepEqual(
    audit.findings
      .filter((f) => f.severity !== 'ok')
      .map((f) => `${f.code}:${f.severity}`)
      .sort(),
    [
      'bimi-missing:info',
      'dkim-no-key-found:warning',
      'dmarc-lookup-failed:info',
      'dnssec-lookup-failed:info',
      'mta-sts-missing:info',
      'spf-lookup-failed:info',
      'tlsrpt-missing:info',
    ],
  );
  assert.deepEqual([audit.status, audit.grade, audit.grades.spf], ['dns-failed', null, 'could-not-check']);
  assert.ok(performance.now() - started < 10_000);
});
