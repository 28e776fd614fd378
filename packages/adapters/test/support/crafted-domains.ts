/**
 * The crafted domain set of the audit tests: each domain is built to trigger specific findings
 * (some are clean), and lists every finding code a full `auditDomain` must give for it, ok and info
 * codes included. One fixture, served by Knot in the integration test and by the in-memory
 * resolver in the unit test, so both paths must agree code for code.
 *
 * Every domain starts from a clean base (SPF "mx -all", an MX with forward-confirmed PTR, DMARC
 * p=reject with rua to itself, an Ed25519 DKIM key on selector1) and changes one thing.
 */
export interface CraftedDomain {
  readonly domain: string;
  readonly why: string;
  /** Records by owner name; `null` removes a name of the clean base. */
  readonly records: Readonly<Record<string, readonly unknown[] | null>>;
  /** Every finding code expected, besides the optional-area codes in `optional`. */
  readonly codes: readonly string[];
  /** Codes of the optional areas (default: all four missing). */
  readonly optional?: readonly string[];
}

const ED25519 = 'v=DKIM1; k=ed25519; p=EMBqiwzrIKd+uFFVtTrFV7lthOLp31IGqYTGc7Yb/5w=';
const RSA_1024 =
  'v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCVljuUWKTFkJ8klKcpqX6h42QfFE3hsXcTQrfYTyuz5HkmLFuJ2GmDubnsfLzFApiEVCUwNlYN1+zlI4yBrvOtIFQ3uiF1dDZv73c6fCG6MieoVgykyFDgXf6PQ55bvzDNVdXNXt7c101k8v4B56/r7fkT3ukBS9uGhpO6sOHqGwIDAQAB';
const RSA_512 =
  'v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJhFIUAYPGXQB5e+nCHZdENO2UIIPz9KgpJnsfxF1RChZgXlAJGvzTxtMr5k88t/Olj32askzSF98aj0oi30LKECAwEAAQ==';
const MX = 'mx.infra.example';

/** The four optional areas when nothing is published. */
export const OPTIONAL_MISSING = ['bimi-missing', 'dnssec-unsigned', 'mta-sts-missing', 'tlsrpt-missing'];
/**
 * A domain that receives no mail (no MX or a null MX) is checked for DNSSEC among the optional
 * areas; the receiving policies are not checked, and say so.
 */
const PARKED_OPTIONAL = ['bimi-not-checked', 'dnssec-unsigned', 'mta-sts-not-checked', 'tlsrpt-not-checked'];
const CLEAN = ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-ok'];

/** Shared names: the MX host with its PTR, a report vendor, SPF include targets. */
export const INFRASTRUCTURE: Record<string, readonly unknown[]> = {
  [MX]: [{ A: '192.0.2.25' }],
  '25.2.0.192.in-addr.arpa': [{ PTR: MX }],
  'mx2.infra.example': [{ A: '192.0.2.26' }],
  'reports.vendor.example': [{ MX: [10, MX] }],
  'authorized.example._report._dmarc.reports.vendor.example': [{ TXT: 'v=DMARC1' }],
  '_spf.esp.example': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
  ...Object.fromEntries(
    Array.from({ length: 11 }, (_, i) => [`_spf${i}.esp.example`, [{ TXT: `v=spf1 ip4:203.0.113.${i} -all` }]]),
  ),
};

const spf = (text: string | string[]) => [{ TXT: text }, { MX: [10, MX] }];
const dmarc = (text: string) => [{ TXT: text }];

export const CRAFTED: readonly CraftedDomain[] = [
  // Clean
  { domain: 'clean.example', why: 'the clean base', records: {}, codes: CLEAN },
  {
    domain: 'full.example',
    why: 'clean, with MTA-STS, TLS-RPT and BIMI published',
    records: {
      '_mta-sts.full.example': [{ TXT: 'v=STSv1; id=2026112901' }],
      '_smtp._tls.full.example': [{ TXT: 'v=TLSRPTv1; rua=mailto:tls@full.example' }],
      'default._bimi.full.example': [
        { TXT: 'v=BIMI1; l=https://full.example/logo.svg; a=https://full.example/vmc.pem' },
      ],
    },
    codes: CLEAN,
    optional: ['bimi-ok', 'dnssec-unsigned', 'mta-sts-policy-not-checked', 'tlsrpt-ok'],
  },
  {
    domain: 'esp.example',
    why: 'clean, SPF through an include',
    records: { 'esp.example': spf('v=spf1 include:_spf.esp.example -all') },
    codes: CLEAN,
  },
  // SPF
  {
    domain: 'nospf.example',
    why: 'no SPF record',
    records: { 'nospf.example': [{ MX: [10, MX] }] },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-missing'],
  },
  {
    domain: 'passall.example',
    why: '+all',
    records: { 'passall.example': spf('v=spf1 +all') },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-pass-all'],
  },
  {
    domain: 'neutral.example',
    why: '?all',
    records: { 'neutral.example': spf('v=spf1 mx ?all') },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-neutral-all'],
  },
  {
    domain: 'noall.example',
    why: 'no all, no redirect',
    records: { 'noall.example': spf('v=spf1 mx') },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-no-all'],
  },
  {
    domain: 'twospf.example',
    why: 'two v=spf1 records',
    records: { 'twospf.example': [{ TXT: 'v=spf1 mx -all' }, { TXT: 'v=spf1 -all' }, { MX: [10, MX] }] },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-multiple-records'],
  },
  {
    domain: 'spfsyntax.example',
    why: 'an invalid IPv4 address and an unknown mechanism',
    records: { 'spfsyntax.example': spf('v=spf1 ip4:300.1.1.1 foo:bar -all') },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-syntax', 'spf-syntax'],
  },
  {
    domain: 'ptr.example',
    why: 'the ptr mechanism',
    records: { 'ptr.example': spf('v=spf1 ptr -all') },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-ptr'],
  },
  {
    domain: 'spfloop.example',
    why: 'an include loop',
    records: {
      'spfloop.example': spf('v=spf1 include:_a.spfloop.example -all'),
      '_a.spfloop.example': [{ TXT: 'v=spf1 include:_b.spfloop.example -all' }],
      '_b.spfloop.example': [{ TXT: 'v=spf1 include:_a.spfloop.example -all' }],
    },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-loop'],
  },
  {
    domain: 'dupinc.example',
    why: 'the same include reached twice',
    records: {
      'dupinc.example': spf('v=spf1 include:_a.dupinc.example include:_b.dupinc.example -all'),
      '_a.dupinc.example': [{ TXT: 'v=spf1 include:_spf.esp.example -all' }],
      '_b.dupinc.example': [{ TXT: 'v=spf1 include:_spf.esp.example -all' }],
    },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-duplicate-include'],
  },
  {
    domain: 'manylookups.example',
    why: '11 includes: over the limit of 10 lookups',
    records: {
      'manylookups.example': spf(
        `v=spf1 ${Array.from({ length: 11 }, (_, i) => `include:_spf${i}.esp.example`).join(' ')} -all`,
      ),
    },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-too-many-lookups'],
  },
  {
    domain: 'voids.example',
    why: 'three lookups that find nothing',
    records: { 'voids.example': spf('v=spf1 a:gone1.voids.example a:gone2.voids.example a:gone3.voids.example -all') },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-too-many-void-lookups'],
  },
  {
    domain: 'missinc.example',
    why: 'an include of a name without SPF',
    records: { 'missinc.example': spf('v=spf1 include:nowhere.missinc.example -all') },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-include-missing'],
  },
  {
    domain: 'longspf.example',
    why: 'a record over 450 bytes',
    records: {
      'longspf.example': spf([
        `v=spf1 ${Array.from({ length: 28 }, (_, i) => `ip4:192.0.${i}.0/24`).join(' ')}`,
        ' -all',
      ]),
    },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-record-long'],
  },
  {
    domain: 'senderid.example',
    why: 'a leftover Sender ID record beside SPF',
    records: { 'senderid.example': [{ TXT: 'v=spf1 mx -all' }, { TXT: 'spf2.0/pra mx -all' }, { MX: [10, MX] }] },
    codes: [...CLEAN, 'spf-sender-id'],
  },
  {
    domain: 'afterall.example',
    why: 'terms after all',
    records: { 'afterall.example': spf('v=spf1 mx -all ip4:192.0.2.1') },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ok', 'spf-terms-after-all'],
  },
  {
    domain: 'modifier.example',
    why: 'an unknown modifier',
    records: { 'modifier.example': spf('v=spf1 mx foo=bar -all') },
    codes: [...CLEAN, 'spf-unknown-modifier'],
  },
  {
    domain: 'macro.example',
    why: 'an include that depends on a macro',
    records: { 'macro.example': spf('v=spf1 mx include:%{ir}._spf.macro.example -all') },
    codes: [...CLEAN, 'spf-macro-target'],
  },
  // Parked
  {
    domain: 'parked.example',
    why: 'a null MX and SPF -all: a correctly parked domain',
    records: {
      'parked.example': [{ TXT: 'v=spf1 -all' }, { MX: [0, '.'] }],
      'selector1._domainkey.parked.example': null,
    },
    // DKIM is probed even here; no key is only an info, since the domain sends no mail either.
    codes: ['dkim-no-key-found', 'dmarc-ok', 'mx-null', 'spf-ok'],
    optional: PARKED_OPTIONAL,
  },
  {
    domain: 'parkedweak.example',
    why: 'a null MX but an SPF record that authorizes senders',
    records: {
      'parkedweak.example': [{ TXT: 'v=spf1 a ~all' }, { MX: [0, '.'] }, { A: '192.0.2.9' }],
      'selector1._domainkey.parkedweak.example': null,
    },
    codes: ['dkim-no-key-found', 'dmarc-ok', 'mx-none-but-sends', 'mx-null', 'spf-parked-not-strict'],
    optional: PARKED_OPTIONAL,
  },
  // DMARC
  {
    domain: 'nodmarc.example',
    why: 'no DMARC record',
    records: { '_dmarc.nodmarc.example': null },
    codes: ['dkim-key-ok', 'dmarc-missing', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'pnone.example',
    why: 'p=none',
    records: { '_dmarc.pnone.example': dmarc('v=DMARC1; p=none; rua=mailto:d@pnone.example') },
    codes: ['dkim-key-ok', 'dmarc-p-none', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'spnone.example',
    why: 'sp=none',
    records: { '_dmarc.spnone.example': dmarc('v=DMARC1; p=reject; sp=none; rua=mailto:d@spnone.example') },
    codes: ['dkim-key-ok', 'dmarc-sp-none', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'norua.example',
    why: 'no rua',
    records: { '_dmarc.norua.example': dmarc('v=DMARC1; p=reject') },
    codes: ['dkim-key-ok', 'dmarc-no-rua', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'dmarctest.example',
    why: 't=y (RFC 9989 test mode)',
    records: { '_dmarc.dmarctest.example': dmarc('v=DMARC1; p=reject; t=y; rua=mailto:d@dmarctest.example') },
    codes: ['dkim-key-ok', 'dmarc-testing', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'pct.example',
    why: 'pct=, removed by RFC 9989',
    records: { '_dmarc.pct.example': dmarc('v=DMARC1; p=reject; pct=50; rua=mailto:d@pct.example') },
    codes: [...CLEAN, 'dmarc-removed-tag'],
  },
  {
    domain: 'manyuri.example',
    why: 'three rua URIs',
    records: {
      '_dmarc.manyuri.example': dmarc(
        'v=DMARC1; p=reject; rua=mailto:a@manyuri.example,mailto:b@manyuri.example,mailto:c@manyuri.example',
      ),
    },
    codes: ['dkim-key-ok', 'dmarc-many-uris', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'external.example',
    why: 'reports to a vendor that has not authorized them',
    records: { '_dmarc.external.example': dmarc('v=DMARC1; p=reject; rua=mailto:d@reports.vendor.example') },
    codes: ['dkim-key-ok', 'dmarc-external-unauthorized', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'authorized.example',
    why: 'reports to a vendor that has authorized them',
    records: { '_dmarc.authorized.example': dmarc('v=DMARC1; p=reject; rua=mailto:d@reports.vendor.example') },
    codes: CLEAN,
  },
  {
    domain: 'ruanomx.example',
    why: 'rua to a domain that receives no mail',
    records: { '_dmarc.ruanomx.example': dmarc('v=DMARC1; p=reject; rua=mailto:d@nomail.ruanomx.example') },
    codes: ['dkim-key-ok', 'dmarc-rua-no-mx', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'twodmarc.example',
    why: 'two DMARC records',
    records: { '_dmarc.twodmarc.example': [{ TXT: 'v=DMARC1; p=reject' }, { TXT: 'v=DMARC1; p=none' }] },
    codes: ['dkim-key-ok', 'dmarc-multiple-records', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'badpolicy.example',
    why: 'p=block: no valid policy',
    records: { '_dmarc.badpolicy.example': dmarc('v=DMARC1; p=block') },
    codes: ['dkim-key-ok', 'dmarc-no-policy', 'dmarc-no-rua', 'dmarc-tag-problem', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'sub.clean.example',
    why: 'a subdomain without its own DMARC record inherits the organizational one',
    records: {
      'sub.clean.example': spf('v=spf1 mx -all'),
      'selector1._domainkey.sub.clean.example': [{ TXT: ED25519 }],
      '_dmarc.sub.clean.example': null,
    },
    codes: [...CLEAN, 'dmarc-inherited'],
  },
  {
    domain: 'mail.sub.corp.example',
    why: 'psd=n makes sub.corp.example the organizational domain for RFC 9989; RFC 7489 uses corp.example',
    records: {
      '_dmarc.mail.sub.corp.example': null,
      '_dmarc.sub.corp.example': dmarc('v=DMARC1; p=quarantine; psd=n; rua=mailto:d@mail.sub.corp.example'),
      'corp.example': spf('v=spf1 mx -all'),
      '_dmarc.corp.example': dmarc('v=DMARC1; p=reject; rua=mailto:d@corp.example'),
    },
    codes: [...CLEAN, 'dmarc-discovery-differs', 'dmarc-inherited'],
  },
  {
    domain: 'dmarcslow.example',
    why: 'the DMARC lookup times out',
    records: { '_dmarc.dmarcslow.example': ['TIMEOUT'] },
    codes: ['dkim-key-ok', 'dmarc-lookup-failed', 'mx-ok', 'spf-ok'],
  },
  // DKIM
  {
    domain: 'nodkim.example',
    why: 'no key on any common selector',
    records: { 'selector1._domainkey.nodkim.example': null },
    codes: ['dkim-no-key-found', 'dmarc-ok', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'rsa1024.example',
    why: 'a 1024-bit RSA key',
    records: { 'selector1._domainkey.rsa1024.example': [{ TXT: RSA_1024 }] },
    codes: ['dkim-key-weak', 'dmarc-ok', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'rsa512.example',
    why: 'a 512-bit RSA key',
    records: { 'selector1._domainkey.rsa512.example': [{ TXT: RSA_512 }] },
    codes: ['dkim-key-too-short', 'dmarc-ok', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'dkimtest.example',
    why: 'a key in test mode (t=y)',
    records: { 'selector1._domainkey.dkimtest.example': [{ TXT: ED25519.replace('k=ed25519;', 'k=ed25519; t=y;') }] },
    codes: ['dkim-key-testing', 'dmarc-ok', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'revoked.example',
    why: 'a revoked key beside a good one',
    records: { 's1._domainkey.revoked.example': [{ TXT: 'v=DKIM1; k=rsa; p=' }] },
    codes: [...CLEAN, 'dkim-key-revoked'],
  },
  {
    domain: 'dkimsyntax.example',
    why: 'a key that is not base64',
    records: { 'selector1._domainkey.dkimsyntax.example': [{ TXT: 'v=DKIM1; k=rsa; p=!!!notbase64' }] },
    // A broken key is no usable key.
    codes: ['dkim-key-syntax', 'dkim-no-key-found', 'dmarc-ok', 'mx-ok', 'spf-ok'],
  },
  {
    domain: 'notemail.example',
    why: 'a key restricted to another service (s=tlsrpt)',
    records: {
      'selector1._domainkey.notemail.example': [{ TXT: ED25519.replace('k=ed25519;', 'k=ed25519; s=tlsrpt;') }],
    },
    codes: ['dkim-key-not-for-email', 'dmarc-ok', 'mx-ok', 'spf-ok'],
  },
  // MX
  {
    domain: 'mxbad.example',
    why: 'MX targets that do not resolve, a CNAME, an IP address and a duplicate',
    records: {
      'mxbad.example': [
        { TXT: 'v=spf1 ip4:192.0.2.25 -all' },
        { MX: [10, 'nowhere.mxbad.example'] },
        { MX: [20, 'alias.mxbad.example'] },
        { MX: [30, MX] },
        { MX: [40, MX] },
        { MX: [50, '192.0.2.7'] },
      ],
      'alias.mxbad.example': [{ CNAME: MX }],
    },
    codes: [
      'dkim-key-ok',
      'dmarc-ok',
      'mx-duplicate',
      'mx-target-cname',
      'mx-target-ip',
      'mx-target-unresolvable',
      'spf-ok',
    ],
  },
  {
    domain: 'noptr.example',
    why: 'an MX host without PTR',
    records: { 'noptr.example': [{ TXT: 'v=spf1 ip4:192.0.2.26 -all' }, { MX: [10, 'mx2.infra.example'] }] },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ptr-missing', 'spf-ok'],
  },
  {
    domain: 'wrongptr.example',
    why: 'an MX host whose PTR names another host',
    records: {
      'wrongptr.example': [{ TXT: 'v=spf1 ip4:192.0.2.27 -all' }, { MX: [10, 'mx.wrongptr.example'] }],
      'mx.wrongptr.example': [{ A: '192.0.2.27' }],
      '27.2.0.192.in-addr.arpa': [{ PTR: 'mail.elsewhere.example' }],
    },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-ptr-not-confirmed', 'spf-ok'],
  },
  {
    domain: 'nullmixed.example',
    why: 'a null MX beside a real one',
    records: { 'nullmixed.example': [{ TXT: 'v=spf1 mx -all' }, { MX: [0, '.'] }, { MX: [10, MX] }] },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-null-mixed', 'spf-ok'],
  },
  {
    domain: 'sendsnomx.example',
    why: 'sends (SPF, DKIM) but has no MX',
    records: { 'sendsnomx.example': [{ TXT: 'v=spf1 ip4:192.0.2.1 -all' }, { A: '192.0.2.1' }] },
    codes: ['dkim-key-ok', 'dmarc-ok', 'mx-none-but-sends', 'spf-parked-not-strict'],
    optional: PARKED_OPTIONAL,
  },
  // MTA-STS, TLS-RPT, BIMI
  {
    domain: 'optbroken.example',
    why: 'broken MTA-STS, TLS-RPT and BIMI records',
    records: {
      '_mta-sts.optbroken.example': [{ TXT: 'v=STSv1; id=not valid!' }],
      '_smtp._tls.optbroken.example': [{ TXT: 'v=TLSRPTv1; rua=ftp://reports.example' }],
      'default._bimi.optbroken.example': [{ TXT: 'v=BIMI1; l=http://optbroken.example/logo.png' }],
    },
    codes: CLEAN,
    optional: ['bimi-no-evidence', 'bimi-syntax', 'dnssec-unsigned', 'mta-sts-syntax', 'tlsrpt-syntax'],
  },
  {
    domain: 'bimiweak.example',
    why: 'BIMI without an enforcing DMARC policy',
    records: {
      '_dmarc.bimiweak.example': dmarc('v=DMARC1; p=none; rua=mailto:d@bimiweak.example'),
      'default._bimi.bimiweak.example': [
        { TXT: 'v=BIMI1; l=https://bimiweak.example/logo.svg; a=https://bimiweak.example/vmc.pem' },
      ],
    },
    codes: ['dkim-key-ok', 'dmarc-p-none', 'mx-ok', 'spf-ok'],
    optional: ['bimi-dmarc-too-weak', 'dnssec-unsigned', 'mta-sts-missing', 'tlsrpt-missing'],
  },
];

/** The whole fixture: infrastructure, then each domain's clean base with its changes. */
export function craftedFixture(): Record<string, readonly unknown[]> {
  const fixture: Record<string, readonly unknown[]> = { ...INFRASTRUCTURE };
  for (const crafted of CRAFTED) {
    const d = crafted.domain;
    const base: Record<string, readonly unknown[]> = {
      [d]: spf('v=spf1 mx -all'),
      [`_dmarc.${d}`]: dmarc(`v=DMARC1; p=reject; rua=mailto:dmarc@${d}`),
      [`selector1._domainkey.${d}`]: [{ TXT: ED25519 }],
    };
    for (const [name, records] of Object.entries(crafted.records)) {
      if (records === null) delete base[name];
      else base[name] = records;
    }
    Object.assign(fixture, base);
  }
  return fixture;
}

/** All codes expected for a crafted domain, sorted. */
export function expectedCodes(crafted: CraftedDomain): string[] {
  return [...crafted.codes, ...(crafted.optional ?? OPTIONAL_MISSING)].sort();
}
