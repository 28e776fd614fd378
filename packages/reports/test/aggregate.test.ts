/**
 * Aggregate reports: every real-world sample of parsedmarc and the RFC 9990 draft samples parse,
 * with exact values; broken samples are recovered with warnings; hostile input is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { testdataPath } from '@mailward/testkit';
import type { AggregateReport } from '../src/index.js';
import { parseAggregateReport, unpackReports } from '../src/index.js';

const samples = (...parts: string[]) => testdataPath('parsedmarc', 'samples', ...parts);

async function reportsIn(path: string): Promise<AggregateReport[]> {
  const unpacked = await unpackReports(readFileSync(path));
  assert.ok(unpacked.ok, unpacked.ok ? '' : `${path}: ${unpacked.reason}`);
  return unpacked.parts.map((part) => {
    assert.equal(part.kind, 'aggregate', path);
    const parsed = parseAggregateReport(part.bytes);
    assert.ok(parsed.ok, parsed.ok ? '' : `${path}: ${parsed.reason}`);
    return parsed.report;
  });
}

async function only(path: string): Promise<AggregateReport> {
  const reports = await reportsIn(path);
  assert.equal(reports.length, 1, path);
  return reports[0] as AggregateReport;
}

/** [file, schema, org, report id, policy domain, begin, end, records, messages, DMARC-pass messages]. */
const EXPECTED: [string, string, string, string, string, number, number, number, number, number][] = [
  [
    '!example.com!1538204542!1538463818.xml',
    'draft',
    'accurateplastics.com',
    'example.com:1538463741',
    'example.com',
    1538413632,
    1538413632,
    1,
    1,
    0,
  ],
  [
    '!large-example.com!1711897200!1711983600.xml',
    'draft',
    'accurateplastics.com',
    'example.com:1711897200',
    'example.com',
    1711897200,
    1711983600,
    2286,
    2286,
    0,
  ],
  [
    'Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml',
    'draft',
    'google.com',
    '949348866075514174',
    'borschow.com',
    1549929600,
    1550015999,
    1,
    1,
    0,
  ],
  [
    'addisonfoods.com!example.com!1536105600!1536191999.xml',
    'rfc7489',
    'addisonfoods.com',
    '3ceb5548498640beaeb47327e202b0b9',
    'example.com',
    1536105600,
    1536191999,
    1,
    1,
    0,
  ],
  ['empty_reason.xml', 'rfc7489', 'example.org', '', 'example.com', 0, 0, 1, 2, 2],
  [
    'estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip',
    '',
    'XYZ Corporation',
    '',
    'example.com',
    0,
    0,
    1,
    0,
    0,
  ],
  [
    'fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz',
    'rfc7489',
    'FastMail Pty Ltd',
    '102675056',
    'indemed.com',
    1516060800,
    1516147199,
    1,
    1,
    0,
  ],
  [
    'ikea.com!example.de!1538690400!1538776800.xml',
    'draft',
    'ikea.com',
    'aggr_report_2018_10_05_5bc7e9b4f3e8a',
    'example.de',
    1538690400,
    1538776800,
    1,
    0,
    0,
  ],
  [
    'invalid_utf_8.xml',
    'draft',
    'accurateplastics.com',
    'example.com:1538463741',
    'example.com',
    1538413632,
    1538413632,
    1,
    1,
    0,
  ],
  [
    'invalid_xml.xml',
    'draft',
    'veeam.com',
    'sonexushealth.com:1530233361',
    'example.com',
    1530133200,
    1530219600,
    1,
    1,
    0,
  ],
  ['mimecast-weird-gzip.eml', '', 'Mimecast', '', '', 0, 0, 0, 0, 0],
  [
    'old_draft_from_wiki.xml',
    'draft',
    'acme.com',
    '9391651994964116463',
    'example.com',
    1335571200,
    1335657599,
    1,
    2,
    2,
  ],
  [
    'protection.outlook.com!example.com!1711756800!1711843200.xml',
    'rfc7489',
    'Outlook.com',
    'cfeafefe4129445e8c81018bd9177197',
    'example.com',
    1711756800,
    1711843200,
    1,
    1,
    0,
  ],
  [
    'rfc9990-sample.xml',
    'rfc9990',
    'Sample Reporter',
    '3v98abbp8ya9n3va8yr8oa3ya',
    'example.com',
    302832000,
    302918399,
    1,
    123,
    123,
  ],
  [
    'usssa.com!example.com!1538784000!1538870399.xml',
    'rfc7489',
    'usssa.com',
    '8953b4d4a4ee4218b6ac0e2cb2667ee1',
    'example.com',
    1538784000,
    1538870399,
    2,
    2,
    0,
  ],
  [
    'veeam.com!example.com!1530133200!1530219600.xml',
    'draft',
    'veeam.com',
    'sonexushealth.com:1530233361',
    'example.com',
    1530133200,
    1530219600,
    1,
    1,
    0,
  ],
];

test('every parsedmarc aggregate sample parses, with exact metadata and counts', async () => {
  const files = readdirSync(samples('aggregate')).sort();
  assert.equal(files.length, 19);
  for (const file of files) {
    const report = await only(samples('aggregate', file));
    const expected = EXPECTED.find((e) => e[0] === file);
    if (expected === undefined) continue; // asserted one by one below
    const [, schema, org, id, domain, begin, end, records, messages, passing] = expected;
    if (schema !== '') assert.equal(report.schema, schema, file);
    assert.equal(report.metadata.orgName, org, file);
    if (id !== '') assert.equal(report.metadata.reportId, id, file);
    if (domain !== '') assert.equal(report.policy.domain, domain, file);
    if (begin !== 0) assert.deepEqual([report.metadata.begin, report.metadata.end], [begin, end], file);
    if (records !== 0) assert.equal(report.records.length, records, file);
    if (messages !== 0) {
      assert.equal(
        report.records.reduce((n, r) => n + r.count, 0),
        messages,
        file,
      );
      assert.equal(
        report.records.filter((r) => r.alignment.dmarc).reduce((n, r) => n + r.count, 0),
        passing,
        file,
      );
    }
  }
});

test('RFC 9990 sample: namespace, np, testing, discovery_method, generator, selector, no SPF scope', async () => {
  const report = await only(samples('aggregate', 'rfc9990-sample.xml'));
  assert.equal(report.schema, 'rfc9990');
  assert.deepEqual(report.policy, {
    domain: 'example.com',
    p: 'quarantine',
    sp: 'none',
    np: 'none',
    testing: 'n',
    discoveryMethod: 'treewalk',
  });
  assert.equal(report.metadata.generator, 'Example DMARC Aggregate Reporter v1.2');
  const record = report.records[0];
  assert.deepEqual(record?.dkim, [{ domain: 'example.com', result: 'pass', selector: 'abc123' }]);
  assert.deepEqual(record?.spf, [{ domain: 'example.com', result: 'fail' }]);
  assert.deepEqual(record?.alignment, { dkim: true, spf: false, dmarc: true });
  assert.equal(record?.disposition, 'pass');
  assert.deepEqual(report.warnings, []);
});

test('the draft samples of the aggregate-reporting repository parse', async () => {
  const main = await only(testdataPath('ietf-dmarc-aggregate-reporting', 'dmarc-xml-0.2.xml'));
  assert.deepEqual([main.schema, main.metadata.orgName, main.records.length], ['rfc9990', 'Sample Reporter', 1]);
  const alt = await only(testdataPath('ietf-dmarc-aggregate-reporting', 'dmarc-xmlalt-0.2.xml'));
  assert.equal(alt.schema, 'rfc9990');
  assert.deepEqual(alt.warnings, ['<feedback>: unknown element <extension> ignored']);
});

test('alignment is recomputed and kept beside the reporter verdict (DKIM pass for another domain does not align)', async () => {
  const report = await only(samples('aggregate', 'addisonfoods.com!example.com!1536105600!1536191999.xml'));
  const record = report.records[0];
  assert.deepEqual(record?.dkim, [{ domain: 'toptierhighticket.club', selector: 'default', result: 'pass' }]);
  assert.deepEqual([record?.policyDkim, record?.policySpf], ['fail', 'fail']);
  assert.deepEqual(record?.alignment, { dkim: false, spf: false, dmarc: false });
});

test('quirks are recovered with warnings: token case, empty org_name, broken XML, invalid UTF-8, a wrapper element', async () => {
  const upper = await only(samples('aggregate_invalid', 'report_with_upper_cased_pass.xml'));
  assert.equal(upper.records[0]?.disposition, 'none');
  assert.equal(upper.records[0]?.alignment.dmarc, true);
  assert.ok(upper.warnings.some((w) => /"Pass" read as "pass"/.test(w)));

  const empty = await only(samples('aggregate', '!example.com!1538204542!1538463818.xml'));
  assert.deepEqual(empty.warnings, [
    "report_metadata.org_name is empty: the email's domain accurateplastics.com is used",
  ]);

  const broken = await only(samples('aggregate', 'invalid_xml.xml'));
  assert.equal(broken.metadata.email, '<bad-xml@bad-xml.net>');
  assert.equal(broken.records[0]?.headerFrom, 'bad<xml.net');
  assert.match(broken.warnings[0] ?? '', /^recovered from malformed XML \(XML 5:18: /);

  const utf8 = await only(samples('aggregate', 'invalid_utf_8.xml'));
  assert.equal(utf8.warnings[0], 'invalid UTF-8 was replaced with U+FFFD');

  const wrapped = await only(samples('aggregate', 'ikea.com!example.de!1538690400!1538776800.xml'));
  assert.ok(wrapped.warnings.includes('only the <feedback> element was kept from the surrounding markup'));
});

test('empty.xml is refused with a clear reason', () => {
  const result = parseAggregateReport(readFileSync(samples('empty.xml')));
  assert.deepEqual(result, { ok: false, reason: 'empty document: no aggregate report' });
});

const minimal = (records: string, extra = '') =>
  Buffer.from(`<?xml version="1.0"?>
<feedback><version>1.0</version>
<report_metadata><org_name>r.example</org_name><email>a@r.example</email><report_id>id1</report_id>
<date_range><begin>1337270400.0</begin><end>1337356800</end></date_range>${extra}</report_metadata>
<policy_published><domain>example.com</domain><adkim>s</adkim><p>reject</p></policy_published>${records}</feedback>`);

const row = (ip: string, count: string, from: string, auth = '') =>
  `<record><row><source_ip>${ip}</source_ip><count>${count}</count><policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>${from}</header_from></identifiers><auth_results>${auth}</auth_results></record>`;

test('decimal epoch times are accepted; strict adkim makes a subdomain signature unaligned', () => {
  const parsed = parseAggregateReport(
    minimal(
      row('192.0.2.1', '3', 'example.com', '<dkim><domain>mail.example.com</domain><result>pass</result></dkim>'),
    ),
  );
  assert.ok(parsed.ok);
  assert.equal(parsed.report.metadata.begin, 1337270400);
  assert.deepEqual(parsed.report.records[0]?.alignment, { dkim: false, spf: false, dmarc: false });
});

test('HTML and SQL in fields are kept verbatim, as data', () => {
  const evil = `&lt;script&gt;alert(1)&lt;/script&gt;'; DROP TABLE aggregate_reports; --`;
  const parsed = parseAggregateReport(minimal(row('192.0.2.1', '1', evil)));
  assert.ok(parsed.ok);
  assert.equal(parsed.report.records[0]?.headerFrom, `<script>alert(1)</script>'; drop table aggregate_reports; --`);
});

test('bad records and metadata are refused with the path of the problem', () => {
  const cases: [Buffer, RegExp][] = [
    [
      minimal(row('192.0.2.1', 'many', 'example.com')),
      /^record\[0\]\.row\.count: "many" is not a non-negative integer$/,
    ],
    [minimal(row('192.0.2.1', '-4', 'example.com')), /record\[0\]\.row\.count/],
    [
      Buffer.from('<feedback><report_metadata><org_name>x</org_name></report_metadata></feedback>'),
      /report_metadata\.report_id is missing/,
    ],
    [Buffer.from('<html><body>not a report</body></html>'), /root element is <html>, not <feedback>/],
    [
      Buffer.from(minimal('').toString().replace('1337356800', 'tomorrow')),
      /date_range\.end: "tomorrow" is not an epoch time/,
    ],
  ];
  for (const [bytes, reason] of cases) {
    const parsed = parseAggregateReport(bytes);
    assert.ok(!parsed.ok);
    assert.match(parsed.reason, reason);
  }
});

test('an XML entity bomb (DTD) is refused without expanding anything', () => {
  const bomb = `<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>
<feedback><report_metadata><org_name>&f;</org_name></report_metadata></feedback>`;
  const started = performance.now();
  const parsed = parseAggregateReport(Buffer.from(bomb));
  assert.ok(performance.now() - started < 1000);
  assert.ok(!parsed.ok);
  assert.match(parsed.reason, /DOCTYPE is not allowed/);
  const external = `<?xml version="1.0"?><!DOCTYPE feedback SYSTEM "file:///etc/passwd"><feedback/>`;
  const refused = parseAggregateReport(Buffer.from(external));
  assert.ok(!refused.ok);
  assert.match(refused.reason, /DOCTYPE is not allowed/);
});

test('deep nesting and huge text are bounded', () => {
  const deep = `<feedback>${'<x>'.repeat(100)}${'</x>'.repeat(100)}</feedback>`;
  const parsed = parseAggregateReport(Buffer.from(deep));
  assert.ok(!parsed.ok);
  assert.match(parsed.reason, /nested deeper than 16 levels/);
  const long = parseAggregateReport(minimal(row('192.0.2.1', '1', `${'a'.repeat(200_000)}.example`)));
  assert.ok(long.ok);
  assert.equal(long.report.records[0]?.headerFrom.length, 65_537);
  assert.ok(long.report.warnings.some((w) => /<header_from>: text longer than 65536 characters was cut/.test(w)));
});

test('streaming: onRecord receives every record and memory holds none of them', () => {
  const records = Array.from({ length: 5000 }, (_, i) => row(`10.0.${i >> 8}.${i & 255}`, '2', 'example.com')).join('');
  let seen = 0;
  let messages = 0;
  const parsed = parseAggregateReport(minimal(records), {
    onRecord: (record) => {
      seen += 1;
      messages += record.count;
    },
  });
  assert.ok(parsed.ok);
  assert.deepEqual([seen, messages, parsed.report.records.length], [5000, 10_000, 0]);
});
