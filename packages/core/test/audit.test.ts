/**
 * Domain audits: one crafted domain per finding, asserting the exact codes (SPF, DMARC) and the
 * grading rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../src/index.js';
import {
  auditBimi,
  auditDkim,
  auditDmarc,
  auditDnssec,
  auditDomain,
  auditMtaStsRecord,
  auditMx,
  auditSpf,
  auditTlsRpt,
  areaGrade,
  gradeArea,
  overallGrade,
} from '../src/index.js';
import { resolverFor } from './support/dkim-keys.js';

const includes = (n: number, prefix: string) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`${prefix}${i}.example`, [{ TXT: `v=spf1 a:h${i}.${prefix}.example -all` }]]),
  );

const ZONE = {
  // SPF
  'good.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 include:_spf.good.example -all' }, { MX: [10, 'mx.good.example'] }],
  '_spf.good.example': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 ~all' }],
  '_dmarc.good.example': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@good.example' }],
  'mx.good.example': [{ A: '192.0.2.25' }],
  'google._domainkey.good.example': [{ TXT: 'v=DKIM1; k=ed25519; p=EMBqiwzrIKd+uFFVtTrFV7lthOLp31IGqYTGc7Yb/5w=' }],
  // DKIM
  'keys.example': [{ TXT: 'v=spf1 -all' }, { MX: [10, 'mx.good.example'] }],
  'selector1._domainkey.keys.example': [
    {
      TXT: 'v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCVljuUWKTFkJ8klKcpqX6h42QfFE3hsXcTQrfYTyuz5HkmLFuJ2GmDubnsfLzFApiEVCUwNlYN1+zlI4yBrvOtIFQ3uiF1dDZv73c6fCG6MieoVgykyFDgXf6PQ55bvzDNVdXNXt7c101k8v4B56/r7fkT3ukBS9uGhpO6sOHqGwIDAQAB',
    },
  ],
  's1._domainkey.keys.example': [
    {
      TXT: 'v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJhFIUAYPGXQB5e+nCHZdENO2UIIPz9KgpJnsfxF1RChZgXlAJGvzTxtMr5k88t/Olj32askzSF98aj0oi30LKECAwEAAQ==',
    },
  ],
  'k1._domainkey.keys.example': [{ TXT: 'v=DKIM1; k=ed25519; t=y; p=EMBqiwzrIKd+uFFVtTrFV7lthOLp31IGqYTGc7Yb/5w=' }],
  'default._domainkey.keys.example': [{ TXT: 'v=DKIM1; p=' }],
  'mail._domainkey.keys.example': [{ TXT: 'v=DKIM1; k=rsa; p=!!!notbase64' }],
  'custom._domainkey.keys.example': [
    { TXT: 'v=DKIM1; k=ed25519; s=email; p=EMBqiwzrIKd+uFFVtTrFV7lthOLp31IGqYTGc7Yb/5w=' },
  ],
  'nokeys.example': [{ TXT: 'v=spf1 -all' }, { MX: [10, 'mx.good.example'] }],
  '25.2.0.192.in-addr.arpa': [{ PTR: 'mx.good.example' }],
  // MX
  'mxbad.example': [
    { MX: [10, 'nowhere.mxbad.example'] },
    { MX: [20, 'alias.mxbad.example'] },
    { MX: [30, 'mx.good.example'] },
    { MX: [40, 'mx.good.example'] },
    { MX: [50, '192.0.2.7'] },
  ],
  'alias.mxbad.example': [{ CNAME: 'mx.good.example' }],
  'mxnoptr.example': [{ MX: [10, 'mx.mxnoptr.example'] }],
  'mx.mxnoptr.example': [{ A: '192.0.2.99' }],
  'mxwrongptr.example': [{ MX: [10, 'mx.mxwrongptr.example'] }],
  'mx.mxwrongptr.example': [{ A: '192.0.2.98' }],
  '98.2.0.192.in-addr.arpa': [{ PTR: 'other.example' }],
  'nullmixed.example': [{ MX: [0, '.'] }, { MX: [10, 'mx.good.example'] }],
  'sendsnomx.example': [{ TXT: 'v=spf1 ip4:192.0.2.1 -all' }, { A: '192.0.2.1' }],
  // TLS-RPT, MTA-STS, BIMI
  '_smtp._tls.good.example': [{ TXT: 'v=TLSRPTv1; rua=mailto:tls@good.example' }],
  '_smtp._tls.pnone.example': [{ TXT: 'v=TLSRPTv1; rua=ftp://x' }],
  '_mta-sts.good.example': [{ TXT: 'v=STSv1; id=2026112801' }],
  '_mta-sts.pnone.example': [{ TXT: 'v=STSv1; id=not valid!' }],
  'default._bimi.good.example': [{ TXT: 'v=BIMI1; l=https://good.example/logo.svg; a=https://good.example/vmc.pem' }],
  'default._bimi.pnone.example': [{ TXT: 'v=BIMI1; l=http://pnone.example/logo.png' }],
  // DNSSEC

  'none.example': [{ MX: [10, 'mx.good.example'] }],
  'passall.example': [{ TXT: 'v=spf1 +all' }, { MX: [10, 'mx.good.example'] }],
  'neutral.example': [{ TXT: 'v=spf1 mx ?all' }, { MX: [10, 'mx.good.example'] }],
  'noall.example': [{ TXT: 'v=spf1 ip4:192.0.2.1' }, { MX: [10, 'mx.good.example'] }],
  'two.example': [{ TXT: 'v=spf1 -all' }, { TXT: 'v=spf1 mx -all' }, { MX: [10, 'mx.good.example'] }],
  'syntax.example': [{ TXT: 'v=spf1 ip4:300.1.1.1 foo:bar -all' }, { MX: [10, 'mx.good.example'] }],
  'ptr.example': [{ TXT: 'v=spf1 ptr -all' }, { MX: [10, 'mx.good.example'] }],
  'loop.example': [{ TXT: 'v=spf1 include:loop2.example -all' }, { MX: [10, 'mx.good.example'] }],
  'loop2.example': [{ TXT: 'v=spf1 include:loop.example -all' }],
  'dup.example': [{ TXT: 'v=spf1 include:a.dup.example include:b.dup.example -all' }, { MX: [10, 'mx.good.example'] }],
  'a.dup.example': [{ TXT: 'v=spf1 include:shared.example -all' }],
  'b.dup.example': [{ TXT: 'v=spf1 include:shared.example -all' }],
  'shared.example': [{ TXT: 'v=spf1 ip4:203.0.113.0/24 -all' }],
  'many.example': [
    { TXT: `v=spf1 ${Array.from({ length: 11 }, (_, i) => `include:m${i}.example`).join(' ')} -all` },
    { MX: [10, 'mx.good.example'] },
  ],
  ...Object.fromEntries(
    Array.from({ length: 11 }, (_, i) => [`m${i}.example`, [{ TXT: 'v=spf1 ip4:192.0.2.9 -all' }]]),
  ),
  'void.example': [
    { TXT: 'v=spf1 a:gone1.example a:gone2.example mx:gone3.example -all' },
    { MX: [10, 'mx.good.example'] },
  ],
  'missinc.example': [{ TXT: 'v=spf1 include:nowhere.example -all' }, { MX: [10, 'mx.good.example'] }],
  'long.example': [
    { TXT: [`v=spf1 ${Array.from({ length: 28 }, (_, i) => `ip4:192.0.${i}.0/24`).join(' ')}`, ' -all'] },
    { MX: [10, 'mx.good.example'] },
  ],
  'senderid.example': [{ TXT: 'v=spf1 -all' }, { TXT: 'spf2.0/pra -all' }, { MX: [10, 'mx.good.example'] }],
  'parked.example': [{ TXT: 'v=spf1 mx ~all' }, { MX: [0, '.'] }],
  'parkedok.example': [{ TXT: 'v=spf1 -all' }, { MX: [0, '.'] }],
  'afterall.example': [{ TXT: 'v=spf1 -all ip4:192.0.2.1' }, { MX: [10, 'mx.good.example'] }],
  'broken.example': ['SERVFAIL'],
  ...includes(0, 'x'),
  // DMARC
  'nodmarc.example': [{ TXT: 'v=spf1 -all' }],
  'pnone.example': [{ TXT: 'v=spf1 -all' }, { MX: [10, 'mx.good.example'] }],
  '_dmarc.pnone.example': [{ TXT: 'v=DMARC1; p=none; rua=mailto:d@pnone.example' }],
  'spnone.example': [{ TXT: 'v=spf1 -all' }, { MX: [10, 'mx.good.example'] }],
  '_dmarc.spnone.example': [{ TXT: 'v=DMARC1; p=reject; sp=none; rua=mailto:d@spnone.example' }],
  'norua.example': [{ TXT: 'v=spf1 -all' }],
  '_dmarc.norua.example': [{ TXT: 'v=DMARC1; p=reject' }],
  'testing.example': [{ TXT: 'v=spf1 -all' }, { MX: [10, 'mx.good.example'] }],
  '_dmarc.testing.example': [{ TXT: 'v=DMARC1; p=reject; t=y; rua=mailto:d@testing.example' }],
  'historic.example': [{ TXT: 'v=spf1 -all' }, { MX: [10, 'mx.good.example'] }],
  '_dmarc.historic.example': [{ TXT: 'v=DMARC1; p=reject; pct=50; rua=mailto:d@historic.example' }],
  'manyuri.example': [{ TXT: 'v=spf1 -all' }, { MX: [10, 'mx.good.example'] }],
  '_dmarc.manyuri.example': [
    { TXT: 'v=DMARC1; p=reject; rua=mailto:a@manyuri.example,mailto:b@manyuri.example,mailto:c@manyuri.example' },
  ],
  'external.example': [{ TXT: 'v=spf1 -all' }],
  '_dmarc.external.example': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@reports.vendor.example' }],
  'reports.vendor.example': [{ MX: [10, 'mx.good.example'] }],
  'authorized.example': [{ TXT: 'v=spf1 -all' }],
  '_dmarc.authorized.example': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@reports.vendor.example' }],
  'authorized.example._report._dmarc.reports.vendor.example': [{ TXT: 'v=DMARC1' }],
  'ruanomx.example': [{ TXT: 'v=spf1 -all' }],
  '_dmarc.ruanomx.example': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@sub.ruanomx.example' }],
  'twodmarc.example': [{ TXT: 'v=spf1 -all' }],
  '_dmarc.twodmarc.example': [{ TXT: 'v=DMARC1; p=reject' }, { TXT: 'v=DMARC1; p=none' }],
  'nop.example': [{ TXT: 'v=spf1 -all' }],
  '_dmarc.nop.example': [{ TXT: 'v=DMARC1; p=block' }],
  'sub.good.example': [{ A: '192.0.2.80' }],
  '_dmarc.dmarcfail.example': ['TIMEOUT'],
};
const resolver = resolverFor(ZONE);

const codes = (findings: readonly Finding[]) => findings.map((f) => f.code).sort();

const SPF_CASES: [string, string[], { parked?: boolean }?][] = [
  ['good.example', ['spf-ok']],
  ['none.example', ['spf-missing']],
  ['passall.example', ['spf-pass-all']],
  ['neutral.example', ['spf-neutral-all']],
  ['noall.example', ['spf-no-all']],
  ['two.example', ['spf-multiple-records']],
  ['syntax.example', ['spf-syntax', 'spf-syntax']],
  ['ptr.example', ['spf-ptr']],
  ['loop.example', ['spf-loop']],
  ['dup.example', ['spf-duplicate-include']],
  ['many.example', ['spf-too-many-lookups']],
  ['void.example', ['spf-too-many-void-lookups']],
  ['missinc.example', ['spf-include-missing']],
  ['long.example', ['spf-record-long']],
  ['senderid.example', ['spf-ok', 'spf-sender-id']],
  ['parked.example', ['spf-parked-not-strict'], { parked: true }],
  ['parkedok.example', ['spf-ok'], { parked: true }],
  ['afterall.example', ['spf-terms-after-all']],
  ['broken.example', ['spf-lookup-failed']],
];

for (const [domain, expected, options] of SPF_CASES) {
  test(`SPF audit of ${domain}: ${expected.join(', ')}`, async () => {
    const audit = await auditSpf(domain, { resolver, ...(options ?? {}) });
    assert.deepEqual(codes(audit.findings), expected.sort(), JSON.stringify(audit.findings, null, 1));
    for (const f of audit.findings) {
      assert.equal(f.area, 'spf');
      assert.match(f.rfc ?? '', /RFC/);
      if (f.severity === 'error' || f.severity === 'warning')
        assert.ok(f.fix !== undefined && f.fix.length > 0, f.code);
    }
  });
}

test('SPF audit: the include tree carries lookups per branch', async () => {
  const audit = await auditSpf('many.example', { resolver });
  assert.equal(audit.lookups, 11);
  assert.equal(audit.tree?.children.length, 11);
  assert.match(audit.findings[0]?.message ?? '', /needs 11 DNS lookups \(at most 10\)/);
  const good = await auditSpf('good.example', { resolver });
  assert.deepEqual([good.lookups, good.all, good.tree?.children[0]?.domain], [1, '-', '_spf.good.example']);
});

const DMARC_CASES: [string, string[]][] = [
  ['good.example', ['dmarc-ok']],
  ['nodmarc.example', ['dmarc-missing']],
  ['pnone.example', ['dmarc-p-none']],
  ['spnone.example', ['dmarc-sp-none']],
  ['norua.example', ['dmarc-no-rua']],
  ['testing.example', ['dmarc-testing']],
  ['historic.example', ['dmarc-ok', 'dmarc-removed-tag']],
  ['manyuri.example', ['dmarc-many-uris']],
  ['external.example', ['dmarc-external-unauthorized']],
  ['authorized.example', ['dmarc-ok']],
  ['ruanomx.example', ['dmarc-rua-no-mx']],
  ['twodmarc.example', ['dmarc-multiple-records']],
  ['nop.example', ['dmarc-no-policy', 'dmarc-no-rua', 'dmarc-tag-problem']],
  ['sub.good.example', ['dmarc-inherited', 'dmarc-ok']],
  ['dmarcfail.example', ['dmarc-lookup-failed']],
];

for (const [domain, expected] of DMARC_CASES) {
  test(`DMARC audit of ${domain}: ${expected.join(', ')}`, async () => {
    const audit = await auditDmarc(domain, { resolver });
    assert.deepEqual(codes(audit.findings), expected.sort(), JSON.stringify(audit.findings, null, 1));
  });
}

test('DKIM audit: common selectors probed; each key checked (size, t=y, revoked, syntax); named selectors too', async () => {
  const audit = await auditDkim('keys.example', { resolver, selectors: ['custom', 'missing'] });
  assert.deepEqual(codes(audit.findings), [
    'dkim-key-ok',
    'dkim-key-revoked',
    'dkim-key-syntax',
    'dkim-key-testing',
    'dkim-key-too-short',
    'dkim-key-weak',
    'dkim-selector-missing',
  ]);
  assert.deepEqual(audit.keys.map((k) => [k.selector, k.type ?? '-', k.bits ?? 0]).sort(), [
    ['custom', 'ed25519', 256],
    ['default', 'rsa', 0],
    ['k1', 'ed25519', 256],
    ['mail', '-', 0],
    ['s1', 'rsa', 512],
    ['selector1', 'rsa', 1024],
  ]);
  const none = await auditDkim('nokeys.example', { resolver });
  assert.deepEqual(codes(none.findings), ['dkim-no-key-found']);
  assert.match(none.findings[0]?.message ?? '', / on 23 common selectors;?/);
  // A named selector that is a common one is not "yours"; one that is not, is not a common one.
  const named = await auditDkim('nokeys.example', { resolver, selectors: ['google', 'foo'] });
  assert.match(
    named.findings.find((f) => f.code === 'dkim-no-key-found')?.message ?? '',
    / on 23 common selectors and yours/,
  );
});

const MX_CASES: [string, string[], boolean?][] = [
  ['good.example', ['mx-ok']],
  ['mxbad.example', ['mx-duplicate', 'mx-target-cname', 'mx-target-ip', 'mx-target-unresolvable']],
  ['mxnoptr.example', ['mx-ptr-missing']],
  ['mxwrongptr.example', ['mx-ptr-not-confirmed']],
  ['nullmixed.example', ['mx-null-mixed']],
  ['parkedok.example', ['mx-null']],
  ['nokeys-nomx.example', ['mx-none']],
  ['sendsnomx.example', ['mx-none-but-sends'], true],
];

for (const [domain, expected, sends] of MX_CASES) {
  test(`MX audit of ${domain}: ${expected.join(', ')}`, async () => {
    const audit = await auditMx(domain, { resolver, ...(sends === true && { sends }) });
    assert.deepEqual(codes(audit.findings), expected.sort(), JSON.stringify(audit.findings, null, 1));
  });
}

test('TLS-RPT, MTA-STS record and BIMI: valid, missing, broken; BIMI needs an enforcing DMARC policy', async () => {
  assert.deepEqual(codes(await auditTlsRpt('good.example', { resolver })), ['tlsrpt-ok']);
  assert.deepEqual(codes(await auditTlsRpt('nokeys.example', { resolver })), ['tlsrpt-missing']);
  assert.deepEqual(codes(await auditTlsRpt('pnone.example', { resolver })), ['tlsrpt-syntax']);
  assert.deepEqual((await auditMtaStsRecord('good.example', { resolver })).id, '2026112801');
  assert.deepEqual(codes((await auditMtaStsRecord('nokeys.example', { resolver })).findings), ['mta-sts-missing']);
  assert.deepEqual(codes((await auditMtaStsRecord('pnone.example', { resolver })).findings), ['mta-sts-syntax']);
  assert.deepEqual(codes(await auditBimi('good.example', { resolver, dmarcPolicy: 'reject' })), ['bimi-ok']);
  assert.deepEqual(codes(await auditBimi('good.example', { resolver, dmarcPolicy: 'quarantine', dmarcPct: 50 })), [
    'bimi-dmarc-too-weak',
  ]);
  assert.deepEqual(codes(await auditBimi('pnone.example', { resolver, dmarcPolicy: 'none' })), [
    'bimi-dmarc-too-weak',
    'bimi-no-evidence',
    'bimi-syntax',
  ]);
  assert.deepEqual(codes(await auditBimi('nokeys.example', { resolver })), ['bimi-missing']);
});

test('DNSSEC: unsigned, signed but not validated, validated (AD bit)', async () => {
  assert.deepEqual(codes(await auditDnssec('good.example', { resolver })), ['dnssec-unsigned']);
  const answer = (authenticated: boolean) => ({ kind: 'answer', records: [{}], ttl: 60, cnames: [], authenticated });
  const signed = { lookup: () => Promise.resolve(answer(false)) } as never;
  assert.deepEqual(codes(await auditDnssec('x.example', { resolver: signed })), ['dnssec-not-validated']);
  const validated = { lookup: () => Promise.resolve(answer(true)) } as never;
  assert.deepEqual(codes(await auditDnssec('x.example', { resolver: validated })), ['dnssec-validated']);
});

test('DNSSEC: a SERVFAIL that goes away with the CD bit is a bogus chain (error, area F); otherwise a failed lookup', async () => {
  const answer = { kind: 'answer', records: [{}], ttl: 60, cnames: [], authenticated: false };
  const servfail = { kind: 'servfail', reason: 'validation failure', rcode: true };
  const timeout = { kind: 'timeout', reason: 'no answer' };
  type Options = { checkingDisabled?: boolean };
  const scripted = (respond: (type: string, options?: Options) => unknown, asked: string[] = []) =>
    ({
      lookup: (_name: string, type: string, options?: Options) => {
        asked.push(`${type}${options?.checkingDisabled === true ? '+CD' : ''}`);
        return Promise.resolve(respond(type, options));
      },
    }) as never;

  const asked: string[] = [];
  const bogus = scripted((_type, options) => (options?.checkingDisabled === true ? answer : servfail), asked);
  const findings = await auditDnssec('bogus.example', { resolver: bogus });
  assert.deepEqual(codes(findings), ['dnssec-bogus']);
  assert.equal(findings[0]?.severity, 'error');
  // Both asked, both asked again, then the failed question (SOA) without validation.
  assert.deepEqual(asked, ['DNSKEY', 'SOA', 'DNSKEY', 'SOA', 'SOA+CD']);
  assert.equal(gradeArea('dnssec', findings), 'F');

  // Below the zone apex the unchecked SOA is NODATA: still an answer, still bogus.
  const nodata = { kind: 'nodata' };
  const below = scripted((_type, options) => (options?.checkingDisabled === true ? nodata : servfail));
  assert.deepEqual(codes(await auditDnssec('www.bogus.example', { resolver: below })), ['dnssec-bogus']);

  // Only DNSKEY fails: the CD question is DNSKEY.
  const dnskeyAsked: string[] = [];
  const dnskeyOnly = scripted(
    (type, options) => (type === 'SOA' || options?.checkingDisabled === true ? answer : servfail),
    dnskeyAsked,
  );
  assert.deepEqual(codes(await auditDnssec('x.example', { resolver: dnskeyOnly })), ['dnssec-bogus']);
  assert.equal(dnskeyAsked.at(-1), 'DNSKEY+CD');

  // A single failure is retried and forgotten.
  let calls = 0;
  const flaky = scripted(() => (calls++ === 0 ? servfail : answer));
  assert.deepEqual(codes(await auditDnssec('x.example', { resolver: flaky })), ['dnssec-not-validated']);

  // Failures that are not a SERVFAIL answer, or that stay without validation: a failed lookup.
  const down = scripted(() => timeout);
  const failed = await auditDnssec('down.example', { resolver: down });
  assert.deepEqual(codes(failed), ['dnssec-lookup-failed']);
  assert.equal(gradeArea('dnssec', failed), 'A');
  assert.equal(areaGrade('dnssec', failed), 'could-not-check');
  assert.equal(failed[0]?.severity, 'info');
  const notimpAsked: string[] = [];
  const notimp = scripted(() => ({ kind: 'servfail', reason: 'NOTIMP' }), notimpAsked);
  assert.deepEqual(codes(await auditDnssec('x.example', { resolver: notimp })), ['dnssec-lookup-failed']);
  assert.ok(!notimpAsked.some((q) => q.endsWith('+CD')));
  const broken = scripted(() => servfail);
  assert.deepEqual(codes(await auditDnssec('broken.example', { resolver: broken })), ['dnssec-lookup-failed']);
});

test('grades: F with an error, C with two warnings, B with one, A otherwise; optional areas never below B', async () => {
  const f = (severity: Finding['severity'], area: Finding['area'] = 'spf'): Finding => ({
    code: 'x',
    severity,
    area,
    message: '',
  });
  assert.equal(gradeArea('spf', [f('error')]), 'F');
  assert.equal(gradeArea('spf', [f('warning'), f('warning')]), 'C');
  assert.equal(gradeArea('spf', [f('warning'), f('info')]), 'B');
  assert.equal(gradeArea('spf', [f('ok'), f('info')]), 'A');
  assert.equal(gradeArea('mta-sts', [f('error', 'mta-sts')]), 'B');
  assert.equal(overallGrade(['A', 'C', 'B']), 'C');
  const audit = await auditDomain('good.example', { resolver });
  assert.deepEqual(
    [audit.grade, audit.grades],
    ['A', { spf: 'A', dkim: 'A', dmarc: 'A', mx: 'A', 'mta-sts': 'A', 'tls-rpt': 'A', bimi: 'A', dnssec: 'A' }],
  );
  const bad = await auditDomain('passall.example', { resolver });
  assert.equal(bad.grade, 'F');
  // A null MX makes the domain parked: its SPF must be "v=spf1 -all".
  const parked = await auditDomain('parked.example', { resolver });
  assert.ok(parked.findings.some((x) => x.code === 'spf-parked-not-strict'));
});

test('DKIM audit for surveys: NXDOMAIN at _domainkey skips the selector probes (RFC 8020); a key below is still found', async () => {
  const asked: string[] = [];
  const counting = {
    lookup: ((name: string, type: 'TXT', options?: never) => {
      asked.push(name);
      return resolver.lookup(name, type, options);
    }) as typeof resolver.lookup,
  };
  const none = await auditDkim('nokeys.example', { resolver: counting, stopAtNxdomain: true });
  assert.deepEqual(asked, ['_domainkey.nokeys.example']);
  assert.deepEqual(codes(none.findings), ['dkim-no-key-found']);
  assert.match(
    none.findings[0]?.message ?? '',
    /no DKIM key found for nokeys\.example \(_domainkey\.nokeys\.example does not exist\)/,
  );
  asked.length = 0;
  const found = await auditDkim('keys.example', { resolver: counting, stopAtNxdomain: true });
  assert.equal(asked.length, 24);
  assert.deepEqual(found, await auditDkim('keys.example', { resolver }));
  // Selectors the user names are probed whatever _domainkey says.
  asked.length = 0;
  await auditDkim('nokeys.example', { resolver: counting, stopAtNxdomain: true, selectors: ['mine'] });
  assert.deepEqual(asked, ['_domainkey.nokeys.example', 'mine._domainkey.nokeys.example']);
});
