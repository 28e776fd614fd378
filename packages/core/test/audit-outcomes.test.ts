/**
 * What a domain audit says when the answer is not a record: a domain that does not exist, DNS
 * lookups that fail (could not check, no grade), areas that are not audited (not checked, never an
 * A), a domain without MX that still publishes keys; and findings that come all at once (several
 * SPF records, the heaviest includes, a p= typo, an enforcing MTA-STS policy missing an MX).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MtaStsFetcher, Resolver } from '../src/index.js';
import { auditDmarc, auditDomain, auditMtaStsPolicy, auditMx, auditSpf, gradeArea } from '../src/index.js';
import { resolverFor } from './support/dkim-keys.js';

const RSA_512 =
  'v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJhFIUAYPGXQB5e+nCHZdENO2UIIPz9KgpJnsfxF1RChZgXlAJGvzTxtMr5k88t/Olj32askzSF98aj0oi30LKECAwEAAQ==';

const resolver = resolverFor({
  'mx.infra.example': [{ A: '192.0.2.25' }],
  '25.2.0.192.in-addr.arpa': [{ PTR: 'mx.infra.example' }],
  // Sends (SPF), receives nothing (no MX), and has a forgotten 512-bit key at a selector of its own.
  'sender.example': [{ TXT: 'v=spf1 ip4:192.0.2.1 -all' }],
  'old2019._domainkey.sender.example': [{ TXT: RSA_512 }],
  '_dmarc.sender.example': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@sender.example' }],
  // Neither receives nor sends: no DKIM key is expected.
  'quiet.example': [{ TXT: 'v=spf1 -all' }, { MX: [0, '.'] }],
  '_dmarc.quiet.example': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@sender.example' }],
  // An MX host whose address lookups fail.
  'hostfail.example': [{ TXT: 'v=spf1 mx -all' }, { MX: [10, 'mx.hostfail.example'] }],
  'mx.hostfail.example': ['TIMEOUT'],
  // Two SPF records, both with problems of their own.
  'twospf.example': [{ TXT: 'v=spf1 +all' }, { TXT: 'v=spf1 ptr ?all' }, { MX: [10, 'mx.infra.example'] }],
  // 12 lookups: 9 own terms (includes of records without lookups), and one heavy include.
  'heavy.example': [
    {
      TXT: `v=spf1 ${Array.from({ length: 8 }, (_, i) => `include:z${i}.esp.example`).join(' ')} include:big.esp.example -all`,
    },
  ],
  ...Object.fromEntries(
    Array.from({ length: 8 }, (_, i) => [`z${i}.esp.example`, [{ TXT: 'v=spf1 ip4:192.0.2.9 -all' }]]),
  ),
  'big.esp.example': [{ TXT: 'v=spf1 a:a.esp.example a:b.esp.example a:c.esp.example -all' }],
  'a.esp.example': [{ A: '192.0.2.1' }],
  'b.esp.example': [{ A: '192.0.2.2' }],
  'c.esp.example': [{ A: '192.0.2.3' }],
  'typo.example': [{ TXT: 'v=spf1 -all' }],
  '_dmarc.typo.example': [{ TXT: 'v=DMARC1; p=rejct; rua=mailto:d@typo.example' }],
});

/** Every query refused, or every query timing out, with the reason a network resolver gives. */
function failing(kind: 'refused' | 'timeout'): Resolver {
  return {
    lookup: (name, type) =>
      Promise.resolve(
        kind === 'refused'
          ? { kind, reason: `127.0.0.1:5300 answered REFUSED for ${name} ${type}` }
          : { kind, reason: `no usable answer for ${name} ${type} after 3 attempt(s) (127.0.0.1:5300: no answer)` },
      ),
  };
}

test('a domain that does not exist: one error finding with a fix, no grade, nothing else asked', async () => {
  const asked: string[] = [];
  const counting: Resolver = {
    lookup: (name, type, options) => {
      asked.push(`${name} ${type}`);
      return resolver.lookup(name, type, options);
    },
  };
  const audit = await auditDomain('gone.example', { resolver: counting });
  assert.equal(audit.status, 'nxdomain');
  assert.equal(audit.grade, null);
  assert.deepEqual(audit.grades, {});
  assert.deepEqual(
    audit.findings.map((f) => [f.code, f.severity, f.fix]),
    [['domain-nxdomain', 'error', 'check the spelling, or register gone.example']],
  );
  assert.deepEqual(asked, ['gone.example MX', 'gone.example TXT']);
});

for (const kind of ['refused', 'timeout'] as const) {
  test(`DNS ${kind}: every area could not be checked, no grade, no advice to the domain`, async () => {
    const audit = await auditDomain('example.com', { resolver: failing(kind) });
    assert.equal(audit.status, 'dns-failed');
    assert.equal(audit.grade, null);
    assert.deepEqual(new Set(Object.values(audit.grades)), new Set(['could-not-check']));
    assert.ok(audit.findings.length > 0);
    for (const f of audit.findings) {
      assert.match(f.code, /-lookup-failed$/, f.code);
      assert.equal(f.severity, 'info');
      // The failure is named as the resolver reported it, server included; refused is not timeout.
      assert.match(
        f.message,
        kind === 'refused' ? /refused the query \(127\.0\.0\.1:5300 answered REFUSED/ : /no usable answer/,
      );
      assert.doesNotMatch(f.fix ?? '', /publish|make the name servers/);
    }
    assert.ok(!audit.findings.some((f) => f.code === 'dkim-no-key-found' || f.code === 'spf-missing'));
  });
}

test('a domain without MX is still audited for DKIM: a 512-bit key at a named selector is an error', async () => {
  const audit = await auditDomain('sender.example', { resolver, selectors: ['old2019'] });
  assert.equal(audit.status, 'ok');
  assert.ok(audit.findings.some((f) => f.code === 'dkim-key-too-short' && f.severity === 'error'));
  assert.equal(audit.grades.dkim, 'F');
  assert.equal(audit.grade, 'F');
  // The receiving policies are not asked for: shown as not checked, never graded.
  assert.deepEqual(
    [audit.grades['mta-sts'], audit.grades['tls-rpt'], audit.grades.bimi],
    ['not-checked', 'not-checked', 'not-checked'],
  );
  assert.ok(audit.findings.some((f) => f.code === 'mta-sts-not-checked' && /receives no mail/.test(f.message)));
});

test('a domain that neither receives nor sends: no key is only an info, the DKIM area is still graded', async () => {
  const audit = await auditDomain('quiet.example', { resolver });
  const noKey = audit.findings.find((f) => f.code === 'dkim-no-key-found');
  assert.equal(noKey?.severity, 'info');
  assert.equal(audit.grades.dkim, 'A');
  assert.equal(audit.status, 'ok');
});

test('MX: a host whose address lookup fails is "could not check", not "no address"', async () => {
  const audit = await auditMx('hostfail.example', { resolver });
  assert.deepEqual(
    audit.findings.map((f) => f.code),
    ['mx-lookup-failed'],
  );
  const full = await auditDomain('hostfail.example', { resolver, selectors: [] });
  assert.equal(full.grades.mx, 'could-not-check');
  assert.equal(full.grade, null);
});

test('several SPF records: each is still audited, its findings naming the record', async () => {
  const audit = await auditSpf('twospf.example', { resolver });
  const messages = audit.findings.map((f) => `${f.code}: ${f.message}`);
  assert.deepEqual(audit.findings.map((f) => f.code).sort(), [
    'spf-multiple-records',
    'spf-neutral-all',
    'spf-pass-all',
    'spf-ptr',
  ]);
  assert.ok(
    messages.some((m) => m.startsWith('spf-pass-all: twospf.example (record 1 of 2):')),
    messages.join('\n'),
  );
  assert.ok(messages.some((m) => m.startsWith('spf-neutral-all: twospf.example (record 2 of 2):')));
  assert.equal(audit.record, 'v=spf1 +all');
});

test('too many SPF lookups: the heaviest includes leave out branches that cost nothing below them', async () => {
  const audit = await auditSpf('heavy.example', { resolver });
  const finding = audit.findings.find((f) => f.code === 'spf-too-many-lookups');
  assert.equal(
    finding?.message,
    'heavy.example: the record needs 12 DNS lookups (at most 10), so evaluation ends in permerror: 9 for its own terms, 3 below its includes (heaviest: big.esp.example 3)',
  );
});

test('p=rejct: the typo gets a fix, and no finding claims the record says p=none', async () => {
  const audit = await auditDmarc('typo.example', { resolver });
  const typo = audit.findings.find((f) => f.code === 'dmarc-tag-problem');
  assert.equal(typo?.fix, 'write p=none, p=quarantine or p=reject');
  const none = audit.findings.find((f) => f.code === 'dmarc-p-none');
  assert.ok(none !== undefined);
  assert.doesNotMatch(none.message, /^p=none:/);
  assert.match(none.message, /read this record as p=none/);
  assert.ok(audit.findings.every((f) => f.severity === 'ok' || f.severity === 'info' || f.fix !== undefined));
});

test('MTA-STS: an MX not covered by an enforcing policy is an error (area F); under testing a warning', async () => {
  const policy = (mode: string): MtaStsFetcher => ({
    fetchPolicy: () =>
      Promise.resolve({
        kind: 'ok',
        status: 200,
        contentType: 'text/plain',
        body: `version: STSv1\nmode: ${mode}\nmx: mx1.example.com\nmax_age: 604800\n`,
      }),
  });
  const mxHosts = ['mx1.example.com', 'mx2.example.com'];
  const enforce = await auditMtaStsPolicy('example.com', { fetcher: policy('enforce'), mxHosts });
  const notCovered = enforce.findings.find((f) => f.code === 'mta-sts-mx-not-covered');
  assert.equal(notCovered?.severity, 'error');
  assert.match(notCovered?.message ?? '', /mx2\.example\.com .*will not deliver there/);
  assert.equal(gradeArea('mta-sts', enforce.findings), 'F');
  const testing = await auditMtaStsPolicy('example.com', { fetcher: policy('testing'), mxHosts });
  assert.equal(testing.findings.find((f) => f.code === 'mta-sts-mx-not-covered')?.severity, 'warning');
  assert.equal(gradeArea('mta-sts', testing.findings), 'B');
});
