/**
 * The benchmark's DNS data and the checks run against it. Addresses come from the documentation
 * ranges (RFC 5737 TEST-NET-1/2/3, RFC 3849 2001:db8::/32, RFC 9637 3fff::/20) and the RFC 2544
 * benchmarking range 198.18.0.0/15 (needed for provider-sized netblocks); names are .test,
 * .example and example.com/org/net (RFC 2606).
 *
 * The zone deliberately stays where mailauth 4.13.3 and RFC 7208 agree, so the two can be timed
 * on identical work: %{d} is used only in the sender domain's own record (mailauth expands %{d} to
 * the sender domain even inside include/redirect targets), every host named by a/mx has both A and
 * AAAA records (mailauth does not count a single-stack host's empty A or AAAA answer as a void
 * lookup, RFC 7208 §4.6.4 does), and no domain has more than 10 MX records.
 */

/** A TXT value as a DNS server would hand it out: long records split into 255-byte strings. */
function txt(text: string): string | string[] {
  if (text.length <= 255) return text;
  const strings: string[] = [];
  for (let at = 0; at < text.length; at += 255) strings.push(text.slice(at, at + 255));
  return strings;
}

function spf(...terms: string[]): { TXT: string | string[] } {
  return { TXT: txt(['v=spf1', ...terms].join(' ')) };
}

const ip4 = (ranges: string[]): string[] => ranges.map((range) => `ip4:${range}`);
const ip6 = (ranges: string[]): string[] => ranges.map((range) => `ip6:${range}`);

export const ZONE: Record<string, unknown[]> = {
  // --- A Google-like provider: one include that fans out to three netblock records. ---
  '_spf.provider.test': [
    spf(
      'include:_netblocks.provider.test',
      'include:_netblocks2.provider.test',
      'include:_netblocks3.provider.test',
      '~all',
    ),
  ],
  '_netblocks.provider.test': [
    spf(
      ...ip4([
        '198.18.0.0/20',
        '198.18.16.0/20',
        '198.18.32.0/19',
        '198.18.64.0/19',
        '198.18.96.0/20',
        '198.18.112.0/21',
        '198.18.120.0/22',
        '198.18.124.0/23',
        '198.18.128.0/19',
        '198.18.160.0/20',
        '198.18.176.0/21',
        '198.18.184.0/22',
        '198.18.188.0/24',
        '198.18.192.0/19',
        '198.18.224.0/20',
        '198.18.240.0/21',
      ]),
      '~all',
    ),
  ],
  '_netblocks2.provider.test': [
    spf(
      ...ip6([
        '2001:db8:1000::/36',
        '2001:db8:2000::/36',
        '2001:db8:3000::/40',
        '2001:db8:3100::/40',
        '2001:db8:3200::/44',
        '2001:db8:3210::/44',
        '2001:db8:4000::/36',
        '2001:db8:5000::/36',
        '2001:db8:6000::/40',
        '2001:db8:6100::/48',
      ]),
      '~all',
    ),
  ],
  '_netblocks3.provider.test': [
    spf(
      ...ip4(['198.19.0.0/20', '198.19.16.0/21', '198.19.24.0/22', '198.19.28.0/24', '198.19.32.0/19']),
      ...ip6(['2001:db8:7000::/36', '2001:db8:8000::/36', '2001:db8:9000::/40']),
      '~all',
    ),
  ],

  // --- A Microsoft-like provider: ranges plus an include chain. ---
  'spf.protection.mscloud.test': [
    spf(
      ...ip4(['198.19.64.0/18', '198.19.128.0/20', '198.19.144.0/21']),
      ...ip6(['2001:db8:c000::/36', '2001:db8:d000::/38']),
      'include:spfd.protection.mscloud.test',
      '-all',
    ),
  ],
  'spfd.protection.mscloud.test': [
    spf(
      ...ip4(['198.19.160.0/20', '198.19.176.0/21', '198.19.184.0/22', '198.19.192.0/19']),
      ...ip6(['2001:db8:e000::/36', '2001:db8:f000::/40']),
      '-all',
    ),
  ],

  // --- A bulk-mail provider. ---
  'spf.bulkmail.example': [spf(...ip4(['203.0.113.224/28', '203.0.113.240/29']), ...ip6(['3fff:100::/40']), '~all')],

  // --- example.com: own hosts (a, mx with a CNAME'd MX host), both providers, an exists macro. ---
  'example.com': [
    { TXT: 'google-site-verification=bench-0123456789abcdef' },
    spf(
      'a',
      'mx',
      'include:_spf.provider.test',
      'include:spf.protection.mscloud.test',
      'exists:%{i}._spf.%{d}',
      '-all',
    ),
    { TXT: 'MS=ms12345678' },
    { MX: [10, 'mx1.example.com'] },
    { MX: [20, 'mx2.example.com'] },
    { MX: [30, 'mx3.example.com'] },
    { A: '192.0.2.10' },
    { AAAA: '2001:db8:100::10' },
  ],
  'mx1.example.com': [{ A: '192.0.2.11' }, { AAAA: '2001:db8:100::11' }],
  'mx2.example.com': [{ A: '192.0.2.12' }, { AAAA: '2001:db8:100::12' }],
  'mx3.example.com': [{ CNAME: 'mail.hosting.test' }],
  'mail.hosting.test': [{ A: '192.0.2.13' }, { AAAA: '2001:db8:200::13' }],
  '192.0.2.77._spf.example.com': [{ A: '127.0.0.2' }],

  // --- example.org: per-IP delegation through an include built from macros. ---
  'example.org': [spf(...ip4(['198.51.100.0/28', '198.51.100.16/28']), 'include:%{ir}.%{v}._spf.mta.example', '~all')],
  '33.100.51.198.in-addr._spf.mta.example': [spf('ip4:198.51.100.33', '-all')],
  '34.100.51.198.in-addr._spf.mta.example': [spf('-all')],

  // --- example.net: ip6 ranges, then redirect= to a shared record with mx:, a:/cidr and ?all. ---
  'example.net': [spf('ip6:2001:db8:a00::/40', 'redirect=_spf.example.net'), { MX: [10, 'mx.example.net'] }],
  '_spf.example.net': [spf('mx:example.net', 'a:out.example.net/29', 'ip4:203.0.113.128/26', '?all')],
  'mx.example.net': [{ A: '203.0.113.5' }, { AAAA: '2001:db8:b00::25' }],
  'out.example.net': [{ A: '203.0.113.40' }, { AAAA: '2001:db8:b00::40' }],

  // --- bank.test: three providers and its own range, ~all. ---
  'bank.test': [
    spf(
      'include:_spf.provider.test',
      'include:spf.protection.mscloud.test',
      'include:spf.bulkmail.example',
      'ip4:203.0.113.192/27',
      '~all',
    ),
  ],
};

export type Expected = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface Check {
  readonly label: string;
  readonly ip: string;
  readonly mailFrom: string;
  readonly helo: string;
  /** What RFC 7208 says the result is; both implementations are checked against it. */
  readonly expected: Expected;
}

export const CHECKS: readonly Check[] = [
  {
    label: 'ip4 deep in provider _netblocks3',
    ip: '198.19.28.9',
    mailFrom: 'alice@example.com',
    helo: 'out-1.provider.test',
    expected: 'pass',
  },
  {
    label: 'ip6 in provider _netblocks2',
    ip: '2001:db8:6100::25',
    mailFrom: 'bob@example.com',
    helo: 'out-2.provider.test',
    expected: 'pass',
  },
  {
    label: 'mx host (via CNAME, last MX)',
    ip: '192.0.2.13',
    mailFrom: 'carol@example.com',
    helo: 'mail.hosting.test',
    expected: 'pass',
  },
  {
    label: 'ip4 at end of MS include chain',
    ip: '198.19.200.1',
    mailFrom: 'dave@example.com',
    helo: 'mail-x.mscloud.test',
    expected: 'pass',
  },
  {
    label: 'exists:%{i}._spf.%{d}',
    ip: '192.0.2.77',
    mailFrom: 'erin@example.com',
    helo: 'gw.example.com',
    expected: 'pass',
  },
  {
    label: 'ip4 nowhere: whole tree, -all',
    ip: '192.0.2.200',
    mailFrom: 'spoof@example.com',
    helo: 'bad.example',
    expected: 'fail',
  },
  {
    label: 'ip6 nowhere: whole tree, -all',
    ip: '2001:db8:ffff::1',
    mailFrom: 'spoof6@example.com',
    helo: 'bad6.example',
    expected: 'fail',
  },
  {
    label: 'include:%{ir}.%{v}._spf… pass',
    ip: '198.51.100.33',
    mailFrom: 'news@example.org',
    helo: 'mta33.mta.example',
    expected: 'pass',
  },
  {
    label: 'include:%{ir}.%{v}._spf… revoked',
    ip: '198.51.100.34',
    mailFrom: 'news@example.org',
    helo: 'mta34.mta.example',
    expected: 'softfail',
  },
  {
    label: 'redirect=, nothing matches, ?all',
    ip: '203.0.113.99',
    mailFrom: 'ops@example.net',
    helo: 'unknown.example',
    expected: 'neutral',
  },
  {
    label: 'redirect=, mx:example.net over ip6',
    ip: '2001:db8:b00::25',
    mailFrom: 'ops@example.net',
    helo: 'mx.example.net',
    expected: 'pass',
  },
  {
    label: 'three providers walked, ~all',
    ip: '192.0.2.250',
    mailFrom: 'alerts@bank.test',
    helo: 'phish.example',
    expected: 'softfail',
  },
  {
    label: 'include target missing (NXDOMAIN)',
    ip: '198.51.100.99',
    mailFrom: 'news@example.org',
    helo: 'mta99.mta.example',
    expected: 'permerror',
  },
];
