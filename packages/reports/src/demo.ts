/**
 * A realistic demo set of reports, generated (deterministically) so that a newcomer can see the
 * report workflow without a mailbox: a week of aggregate reports for example.com from four
 * reporters in the formats they really use (zip in a mail, gzip in a mail, bare .xml.gz, RFC 9990
 * XML), an SMTP TLS report, a failure report, and one file that is not a report at all (it ends
 * up in the quarantine). The traffic mixes the domain's own servers, Google Workspace and Amazon
 * SES (aligned), SendGrid (signing with its own domain: not aligned), a mailing list that breaks
 * some signatures, and spoofers.
 */
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { SECONDS_PER_DAY } from './days.js';

export interface DemoFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

interface Source {
  readonly ip: string;
  readonly perDay: number;
  /** Share of its mail with an aligned DKIM pass, and with an aligned SPF pass. */
  readonly dkimAligned: number;
  readonly spfAligned: number;
  readonly dkimDomain?: string;
  readonly spfDomain: string;
}

const DOMAIN = 'example.com';
const SOURCES: readonly Source[] = [
  { ip: '192.0.2.10', perDay: 420, dkimAligned: 1, spfAligned: 1, dkimDomain: DOMAIN, spfDomain: DOMAIN },
  { ip: '192.0.2.11', perDay: 380, dkimAligned: 1, spfAligned: 1, dkimDomain: DOMAIN, spfDomain: DOMAIN },
  { ip: '209.85.220.41', perDay: 260, dkimAligned: 1, spfAligned: 1, dkimDomain: DOMAIN, spfDomain: DOMAIN },
  { ip: '54.240.8.21', perDay: 150, dkimAligned: 1, spfAligned: 0, dkimDomain: DOMAIN, spfDomain: 'amazonses.com' },
  {
    ip: '167.89.12.34',
    perDay: 90,
    dkimAligned: 0,
    spfAligned: 0,
    dkimDomain: 'sendgrid.net',
    spfDomain: 'em123.sendgrid.net',
  },
  {
    ip: '198.51.100.25',
    perDay: 30,
    dkimAligned: 0.6,
    spfAligned: 0,
    dkimDomain: DOMAIN,
    spfDomain: 'lists.university.example',
  },
  { ip: '203.0.113.66', perDay: 25, dkimAligned: 0, spfAligned: 0, spfDomain: 'example.com' },
  { ip: '203.0.113.99', perDay: 12, dkimAligned: 0, spfAligned: 0, spfDomain: 'bulk-mailer.example' },
];

const REPORTERS = [
  { org: 'google.com', email: 'noreply-dmarc-support@google.com', format: 'zip-mail', share: 0.45 },
  { org: 'Outlook.com', email: 'dmarcreport@microsoft.com', format: 'gzip-mail', share: 0.3 },
  { org: 'Yahoo', email: 'dmarchelp@yahooinc.com', format: 'gzip-file', share: 0.15 },
  { org: 'mail.example.net', email: 'dmarc-reports@mail.example.net', format: 'rfc9990-xml', share: 0.1 },
] as const;

/** Deterministic pseudo-random numbers (a linear congruential generator), so the demo is reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The demo files for the `days` UTC days before `now` (epoch seconds). */
export function demoReportFiles(now: number, days = 7): DemoFile[] {
  const rand = random(20261128);
  const today = Math.floor(now / SECONDS_PER_DAY);
  const files: DemoFile[] = [];
  for (let d = days; d >= 1; d -= 1) {
    const begin = (today - d) * SECONDS_PER_DAY;
    const end = begin + SECONDS_PER_DAY - 1;
    for (const reporter of REPORTERS) {
      const rfc9990 = reporter.format === 'rfc9990-xml';
      const records = SOURCES.map((source) =>
        recordXml(
          source,
          Math.max(1, Math.round(source.perDay * reporter.share * (0.8 + 0.4 * rand()))),
          rand,
          rfc9990,
        ),
      ).join('');
      const reportId = `${reporter.org.toLowerCase().replace(/[^a-z0-9]/g, '')}-${begin}`;
      const report = feedbackXml({ ...reporter, reportId, begin, end, rfc9990, records });
      const base = `${reporter.org}!${DOMAIN}!${begin}!${end}`;
      files.push(packaged(reporter.format, base, reporter.email, report, begin));
    }
  }
  const last = (today - 1) * SECONDS_PER_DAY;
  files.push({ name: `tls-report-google.com-${last}.eml`, bytes: tlsReportMail(last) });
  files.push({ name: `failure-report-${last}.eml`, bytes: failureReportMail(last) });
  files.push({ name: 'not-a-report.txt', bytes: Buffer.from('Out of office: I am away until Monday.\n') });
  return files;
}

function recordXml(source: Source, count: number, rand: () => number, rfc9990: boolean): string {
  const dkimPass = Math.round(count * source.dkimAligned);
  const parts: [number, boolean][] = [
    [dkimPass, true],
    [count - dkimPass, false],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, dkimOk]) => {
      const spfOk = source.spfAligned > 0 && rand() < source.spfAligned;
      const spfResult =
        source.spfDomain === DOMAIN
          ? spfOk || source.spfAligned === 1
            ? 'pass'
            : 'fail'
          : source.ip.startsWith('203.')
            ? 'fail'
            : 'pass';
      const dkimResult =
        source.dkimDomain === undefined ? undefined : dkimOk || source.dkimDomain !== DOMAIN ? 'pass' : 'fail';
      const alignedDkim = dkimResult === 'pass' && source.dkimDomain === DOMAIN;
      const alignedSpf = spfResult === 'pass' && source.spfDomain === DOMAIN;
      const policyDkim = alignedDkim ? 'pass' : 'fail';
      const policySpf = alignedSpf ? 'pass' : 'fail';
      const reason =
        !alignedDkim && !alignedSpf && source.ip === '198.51.100.25'
          ? '<reason><type>mailing_list</type></reason>'
          : '';
      return `
  <record>
    <row>
      <source_ip>${source.ip}</source_ip>
      <count>${n}</count>
      <policy_evaluated><disposition>none</disposition><dkim>${policyDkim}</dkim><spf>${policySpf}</spf>${reason}</policy_evaluated>
    </row>
    <identifiers>${rfc9990 ? '' : ''}<envelope_from>${xml(source.spfDomain)}</envelope_from><header_from>${DOMAIN}</header_from></identifiers>
    <auth_results>${dkimResult === undefined ? '' : `<dkim><domain>${xml(source.dkimDomain ?? '')}</domain><selector>s2026</selector><result>${dkimResult}</result></dkim>`}<spf><domain>${xml(source.spfDomain)}</domain>${rfc9990 ? '' : '<scope>mfrom</scope>'}<result>${spfResult}</result></spf></auth_results>
  </record>`;
    })
    .join('');
}

function feedbackXml(r: {
  org: string;
  email: string;
  reportId: string;
  begin: number;
  end: number;
  rfc9990: boolean;
  records: string;
}): string {
  const policy = r.rfc9990
    ? `<domain>${DOMAIN}</domain><p>none</p><sp>none</sp><np>none</np><testing>n</testing><discovery_method>treewalk</discovery_method>`
    : `<domain>${DOMAIN}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<feedback${r.rfc9990 ? ' xmlns="urn:ietf:params:xml:ns:dmarc-2.0"' : ''}>
  <version>1.0</version>
  <report_metadata>
    <org_name>${xml(r.org)}</org_name>
    <email>${xml(r.email)}</email>
    <report_id>${xml(r.reportId)}</report_id>
    <date_range><begin>${r.begin}</begin><end>${r.end}</end></date_range>${r.rfc9990 ? '\n    <generator>demo reporter 1.0</generator>' : ''}
  </report_metadata>
  <policy_published>${policy}</policy_published>${r.records}
</feedback>
`;
}

function packaged(format: string, base: string, from: string, report: string, begin: number): DemoFile {
  const xmlBytes = Buffer.from(report, 'utf8');
  switch (format) {
    case 'zip-mail':
      return {
        name: `${base}.eml`,
        bytes: mail(
          from,
          `Report domain: ${DOMAIN} Submitter: ${base.split('!')[0]}`,
          begin,
          'application/zip',
          `${base}.zip`,
          zipSync({ [`${base}.xml`]: xmlBytes }),
        ),
      };
    case 'gzip-mail':
      return {
        name: `${base}.eml`,
        bytes: mail(
          from,
          `Report Domain: ${DOMAIN} Submitter: ${base.split('!')[0]}`,
          begin,
          'application/gzip',
          `${base}.xml.gz`,
          gzipSync(xmlBytes),
        ),
      };
    case 'gzip-file':
      return { name: `${base}.xml.gz`, bytes: gzipSync(xmlBytes) };
    default:
      return { name: `${base}.xml`, bytes: xmlBytes };
  }
}

function mail(
  from: string,
  subject: string,
  date: number,
  type: string,
  filename: string,
  content: Uint8Array,
): Uint8Array {
  const boundary = `----=_demo_${date}`;
  const base64 = Buffer.from(content)
    .toString('base64')
    .replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(
    [
      `From: ${from}`,
      `To: dmarc-reports@${DOMAIN}`,
      `Subject: ${subject}`,
      `Date: ${new Date((date + SECONDS_PER_DAY + 3600) * 1000).toUTCString()}`,
      `Message-ID: <${date}.${filename.length}@demo.invalid>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `This is an aggregate report for ${DOMAIN}.`,
      `--${boundary}`,
      `Content-Type: ${type}; name="${filename}"`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${filename}"`,
      '',
      base64,
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

function tlsReportMail(begin: number): Uint8Array {
  const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
  const report = {
    'organization-name': 'Google Inc.',
    'date-range': { 'start-datetime': iso(begin), 'end-datetime': iso(begin + SECONDS_PER_DAY - 1) },
    'contact-info': 'smtp-tls-reporting@google.com',
    'report-id': `${iso(begin)}_${DOMAIN}`,
    policies: [
      {
        policy: {
          'policy-type': 'sts',
          'policy-string': ['version: STSv1', 'mode: testing', `mx: mx1.${DOMAIN}`, 'max_age: 86400'],
          'policy-domain': DOMAIN,
          'mx-host': [`mx1.${DOMAIN}`],
        },
        summary: { 'total-successful-session-count': 812, 'total-failure-session-count': 3 },
        'failure-details': [
          {
            'result-type': 'certificate-expired',
            'sending-mta-ip': '209.85.220.69',
            'receiving-mx-hostname': `mx1.${DOMAIN}`,
            'failed-session-count': 3,
          },
        ],
      },
    ],
  };
  const filename = `google.com!${DOMAIN}!${begin}!${begin + SECONDS_PER_DAY - 1}!001.json.gz`;
  return mail(
    'noreply-smtp-tls-reporting@google.com',
    `Report Domain: ${DOMAIN} Submitter: google.com`,
    begin,
    'application/tlsrpt+gzip',
    filename,
    gzipSync(Buffer.from(JSON.stringify(report))),
  );
}

function failureReportMail(when: number): Uint8Array {
  const date = new Date((when + 5000) * 1000).toUTCString();
  return Buffer.from(
    [
      'From: dmarc-failures@mail.example.net',
      `To: dmarc-failures@${DOMAIN}`,
      `Subject: DMARC failure report for ${DOMAIN}`,
      `Date: ${date}`,
      `Message-ID: <failure.${when}@mail.example.net>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"',
      '',
      '--arf',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `A message claiming to be from ${DOMAIN} failed DMARC.`,
      '--arf',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: auth-failure',
      'User-Agent: demo/1.0',
      'Version: 1',
      'Original-Mail-From: <billing@example.com>',
      'Original-Rcpt-To: <someone@mail.example.net>',
      `Arrival-Date: ${date}`,
      'Source-IP: 203.0.113.66',
      `Reported-Domain: ${DOMAIN}`,
      'Auth-Failure: dmarc',
      'Delivery-Result: delivered',
      'Identity-Alignment: none',
      `Authentication-Results: mail.example.net; dmarc=fail header.from=${DOMAIN}; spf=fail smtp.mailfrom=${DOMAIN}`,
      '',
      '--arf',
      'Content-Type: text/rfc822-headers',
      '',
      `From: "Billing" <billing@${DOMAIN}>`,
      'To: someone@mail.example.net',
      'Subject: Your invoice <script>alert(1)</script> is overdue',
      `Date: ${date}`,
      `Message-ID: <spoof.${when}@203.0.113.66>`,
      '',
      '--arf--',
      '',
    ].join('\r\n'),
  );
}
