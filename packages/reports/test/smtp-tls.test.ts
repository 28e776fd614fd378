/** RFC 8460 SMTP TLS reports: the samples with exact values, quirks with warnings, errors with paths. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testdataPath } from '@mailward/testkit';
import { parseTlsReport } from '../src/index.js';

const sample = (name: string) => readFileSync(testdataPath('parsedmarc', 'samples', 'smtp_tls', name));

test('the RFC 8460 example: every field', () => {
  const parsed = parseTlsReport(sample('rfc8460.json'));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  const r = parsed.report;
  assert.deepEqual(
    [r.organizationName, r.reportId, r.contactInfo, r.begin, r.end],
    ['Company-X', '5065427c-23d3-47ca-b6e0-946ea0e8c4be', 'sts-reporting@company-x.example', 1459468800, 1459555199],
  );
  const policy = r.policies[0];
  assert.deepEqual(
    [policy?.policyType, policy?.policyDomain, policy?.mxHosts, policy?.policyStrings.length],
    ['sts', 'company-y.example', ['*.mail.company-y.example'], 4],
  );
  assert.deepEqual([policy?.totalSuccessfulSessionCount, policy?.totalFailureSessionCount], [5326, 303]);
  assert.deepEqual(policy?.failureDetails[2], {
    resultType: 'validation-failure',
    sendingMtaIp: '198.51.100.62',
    receivingIp: '203.0.113.58',
    receivingMxHostname: 'mx-backup.mail.company-y.example',
    failedSessionCount: 3,
    failureReasonCode: 'X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED',
  });
  assert.deepEqual(r.warnings, ['policies[0].policy.mx-host: a string, read as a list of one']);
});

test('Mail.ru and Google-style samples', () => {
  const mailru = parseTlsReport(sample('mail.ru.json'));
  assert.ok(mailru.ok);
  assert.deepEqual(
    [mailru.report.organizationName, mailru.report.begin, mailru.report.policies[0]?.failureDetails.length],
    ['Mail.ru', 1708560000, 2],
  );
  assert.equal(mailru.report.policies[0]?.failureDetails[0]?.failureReasonCode, 'bad https response code: 404');
  const example = parseTlsReport(sample('smtp_tls.json'));
  assert.ok(example.ok);
  assert.deepEqual(
    [example.report.reportId, example.report.policies[0]?.totalFailureSessionCount, example.report.warnings],
    ['2024-01-09T00:00:00Z_example.com', 3, []],
  );
});

test('date-times without an offset (as Microsoft sends) are read as UTC, with a warning', () => {
  const report = JSON.parse(sample('smtp_tls.json').toString()) as Record<string, unknown>;
  report['date-range'] = { 'start-datetime': '2024-01-09T00:00:00', 'end-datetime': '2024-01-09T23:59:59Z' };
  const parsed = parseTlsReport(new TextEncoder().encode(JSON.stringify(report)));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  assert.deepEqual([parsed.report.begin, parsed.report.end], [1704758400, 1704844799]);
  assert.deepEqual(parsed.report.warnings, [
    'date-range.start-datetime: "2024-01-09T00:00:00" has no time offset, read as UTC',
  ]);
});

const base = () => JSON.parse(sample('smtp_tls.json').toString()) as Record<string, unknown>;

test('errors name the JSON path', () => {
  const cases: [unknown, RegExp][] = [
    ['not json', /^not a JSON TLS report/],
    [[], /^\(top level\): expected a JSON object/],
    [{ ...base(), 'organization-name': undefined }, /^organization-name: missing$/],
    [
      { ...base(), 'date-range': { 'start-datetime': '2024-02-30T00:00:00Z', 'end-datetime': '2024-03-01T00:00:00Z' } },
      /^date-range\.start-datetime: "2024-02-30T00:00:00Z" is not an RFC 3339 date-time$/,
    ],
    [
      { ...base(), 'date-range': { 'start-datetime': 'yesterday', 'end-datetime': '2024-01-09T23:59:59Z' } },
      /^date-range\.start-datetime: "yesterday" is not an RFC 3339 date-time$/,
    ],
    [
      { ...base(), policies: [{ policy: { 'policy-type': 'sts' }, summary: {} }] },
      /^policies\[0\]\.policy\.policy-domain: missing$/,
    ],
    [
      {
        ...base(),
        policies: [
          {
            policy: { 'policy-type': 'sts', 'policy-domain': 'x' },
            summary: { 'total-successful-session-count': -1, 'total-failure-session-count': 0 },
          },
        ],
      },
      /total-successful-session-count: -1 is not a non-negative integer/,
    ],
    [{ ...base(), policies: Array.from({ length: 10_001 }, () => ({})) }, /policies: 10001 entries, more than 10000/],
  ];
  for (const [document, reason] of cases) {
    const parsed = parseTlsReport(typeof document === 'string' ? document : JSON.stringify(document));
    assert.ok(!parsed.ok, String(reason));
    assert.match(parsed.reason, reason);
  }
});

test('counts as numeric strings are accepted with a warning; HTML and SQL are kept verbatim', () => {
  const doc = base();
  doc['organization-name'] = `<b>x</b>'; DROP TABLE tls_reports; --`;
  const policies = doc['policies'] as { summary: Record<string, unknown> }[];
  (policies[0] as { summary: Record<string, unknown> }).summary['total-successful-session-count'] = '12';
  const parsed = parseTlsReport(JSON.stringify(doc));
  assert.ok(parsed.ok);
  assert.equal(parsed.report.organizationName, `<b>x</b>'; DROP TABLE tls_reports; --`);
  assert.equal(parsed.report.policies[0]?.totalSuccessfulSessionCount, 12);
  assert.deepEqual(parsed.report.warnings, [
    'policies[0].summary.total-successful-session-count: a string, read as a number',
  ]);
});
