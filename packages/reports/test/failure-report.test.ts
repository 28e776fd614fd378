// Tests for the DMARC failure report parser: the five real samples from parsedmarc (ARF from
// domain.de, Netease and LinkedIn in CRLF and LF, and Exim's plain-text variant), plus synthetic
// messages for refusals, folding, verbatim HTML/SQL and the size cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testdataPath } from '@mailward/testkit';
import { parseFailureReport } from '../src/parse/failure-report.js';
import type { FailureReport } from '../src/model.js';

function sample(name: string): Uint8Array {
  return readFileSync(testdataPath('parsedmarc', 'samples', 'failure', name));
}

async function parseOk(message: Uint8Array, options?: { keepBody?: boolean }): Promise<FailureReport> {
  const result = await parseFailureReport(message, options);
  if (!result.ok) assert.fail(`expected a report, got: ${result.reason}`);
  return result.report;
}

async function parseRefused(message: Uint8Array): Promise<string> {
  const result = await parseFailureReport(message);
  if (result.ok) assert.fail('expected a refusal, got a report');
  return result.reason;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A minimal ARF message (RFC 5965 §2) around the given feedback-report fields and reported header. */
function arfMessage(
  fields: string,
  reportedHeader: string,
  extraTopHeaders = 'Message-ID: <r1@reporter.example>\n',
): Uint8Array {
  return bytes(
    'From: dmarc@reporter.example\n' +
      'To: ruf@example.com\n' +
      'Subject: failure report\n' +
      extraTopHeaders +
      'MIME-Version: 1.0\n' +
      'Content-Type: multipart/report; report-type=feedback-report; boundary="BB"\n' +
      '\n' +
      '--BB\n' +
      'Content-Type: text/plain\n' +
      '\n' +
      'An authentication failure report.\n' +
      '--BB\n' +
      'Content-Type: message/feedback-report\n' +
      '\n' +
      fields +
      '\n' +
      '--BB\n' +
      'Content-Type: text/rfc822-headers\n' +
      '\n' +
      reportedHeader +
      '\n' +
      '--BB--\n',
  );
}

const BASIC_FIELDS =
  'Feedback-Type: auth-failure\n' +
  'User-Agent: test/1.0\n' +
  'Version: 1\n' +
  'Original-Mail-From: <bounce@example.com>\n' +
  'Arrival-Date: Tue, 30 Apr 2019 02:09:00 +0000\n' +
  'Source-IP: 192.0.2.1\n' +
  'Reported-Domain: example.com\n' +
  'Auth-Failure: dmarc\n';

const BASIC_HEADER = 'From: Someone <someone@example.com>\nSubject: hello\nDate: Tue, 30 Apr 2019 02:08:00 +0000\n';

test('domain.de sample: ARF with a non-standard Delivery-Result and an encoded From display name', async () => {
  const name = 'DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml';
  const report = await parseOk(sample(name));
  assert.equal(report.kind, 'failure');
  assert.equal(report.format, 'arf');
  assert.equal(report.reporter, 'dmarc-report@domain.de');
  assert.equal(report.reportId, 'OF587285BA.CB01D107-ONC1258319.00334FCF@LocalDomain');
  assert.equal(report.sourceIp, '10.10.10.10');
  assert.equal(report.authFailure, 'dmarc');
  assert.equal(report.originalMailFrom, 'sharepoint@domain.de');
  assert.equal(report.originalRcptTo, 'peter.pan@domain.de');
  assert.equal(report.reportedDomain, 'domain.de');
  assert.equal(report.arrivalDate, 1538385627); // 2018-10-01T09:20:27Z
  assert.equal(report.deliveryResult, 'smg-policy-action');
  assert.equal(report.authenticationResults, 'dmarc=fail (p=none, dis=none) header.from=domain.de');
  assert.equal(report.subject, 'Subject');
  assert.equal(report.headerFrom, 'domain.de');
  assert.ok(
    report.reportedHeaders.includes(
      'from: "=?utf-8?B?SW50ZXJha3RpdmUgV2V0dGJld2VyYmVyLcOcYmVyc2ljaHQ=?=" <sharepoint@domain.de>\n',
    ),
  );
  assert.ok(!report.reportedHeaders.includes('<html>'));
  assert.equal(report.reportedBody, undefined);
  assert.ok(report.warnings.some((w) => w.includes('smg-policy-action')));

  const withBody = await parseOk(sample(name), { keepBody: true });
  assert.ok(withBody.reportedBody?.startsWith("<html><head><base href=3D'"));
  assert.equal(withBody.reportedHeaders, report.reportedHeaders);
});

test('Netease sample: base64 feedback report, RFC 9991 Identity-Alignment, no Auth-Failure', async () => {
  const name = '[Netease DMARC Failure Report] Rent Reminder.eml';
  const report = await parseOk(sample(name));
  assert.equal(report.format, 'arf');
  assert.equal(report.reporter, 'abuse@163.com');
  assert.equal(report.reportId, '5BADEAEC.AC2A83.17156@m12-184.163.com');
  assert.equal(report.sourceIp, '167.89.69.24');
  assert.equal(report.authFailure, undefined);
  assert.ok(report.warnings.some((w) => w.includes('Auth-Failure is missing')));
  assert.equal(report.originalMailFrom, 'bounces+1137616-c1ad-xsj399=163.com@email.entrata.com');
  assert.equal(report.originalRcptTo, undefined);
  assert.equal(report.reportedDomain, 'cardinal.com');
  assert.equal(report.arrivalDate, 1538124522); // 2018-09-28T08:48:42Z
  assert.equal(report.deliveryResult, 'delivered');
  assert.equal(report.identityAlignment, 'spf,dkim');
  assert.equal(report.dkimDomain, 'entrata.com');
  assert.equal(
    report.authenticationResults,
    '163.com; dkim=pass (verify result: all signatures verified) header.d=entrata.com; ' +
      'spf=pass smtp.mailfrom=bounces+1137616-c1ad-xsj399=163.com@email.entrata.com',
  );
  assert.equal(report.subject, 'Rent Reminder');
  assert.equal(report.headerFrom, 'cardinal.com');
  assert.ok(report.reportedHeaders.includes('From: 700 on Washington <info@cardinal.com>\n'));
  assert.equal(report.reportedBody, undefined);

  // The reported message has an empty body: keepBody keeps it as such (a blank line).
  const withBody = await parseOk(sample(name), { keepBody: true });
  assert.equal(withBody.reportedBody?.trim(), '');
});

test('LinkedIn sample: ARF with an empty Original-Mail-From (null sender)', async () => {
  const report = await parseOk(sample('dmarc_ruf_report_linkedin.eml'));
  assert.equal(report.format, 'arf');
  assert.equal(report.reporter, 'dmarc-noreply@linkedin.com');
  assert.equal(report.reportId, 'BB.91.26019.C3EA7CC5@mail516.prod.linkedin.com');
  assert.equal(report.sourceIp, '10.10.10.10');
  assert.equal(report.authFailure, 'dmarc');
  assert.equal(report.originalMailFrom, '');
  assert.equal(report.originalRcptTo, 'recipient@linkedin.com');
  assert.equal(report.reportedDomain, 'example.com');
  assert.equal(report.arrivalDate, 1556590140); // 2019-04-30T02:09:00Z
  assert.equal(report.deliveryResult, 'delivered');
  assert.equal(report.subject, 'Subject line, could be UTF8 encoded');
  assert.equal(report.headerFrom, 'example.com');
  assert.ok(report.reportedHeaders.includes('From: Sender <sender@example.com>\n'));
  assert.ok(report.reportedHeaders.endsWith('X-Linkedin-fe: false\n'));
  assert.ok(!report.reportedHeaders.includes('HTML Text'));
  assert.equal(report.reportedBody, undefined);
  assert.deepEqual(report.warnings, []);

  const withBody = await parseOk(sample('dmarc_ruf_report_linkedin.eml'), { keepBody: true });
  assert.ok(withBody.reportedBody?.includes('HTML Text'));
});

test('LinkedIn sample: CRLF and LF variants give the same result', async () => {
  for (const keepBody of [false, true]) {
    const lf = await parseOk(sample('dmarc_ruf_report_linkedin.eml'), { keepBody });
    const crlf = await parseOk(sample('dmarc_ruf_report_linkedin.crlf.eml'), { keepBody });
    assert.deepEqual(crlf, lf);
  }
});

/** The sample with each MIME part's header block ended by a line of spaces and a tab, as some generators write. */
function whitespaceSeparated(bytes: Uint8Array): Buffer {
  const lines = Buffer.from(bytes).toString('latin1').split('\n');
  let afterBoundary = false;
  const out = lines.map((line) => {
    if (line.startsWith('--_----abcdefghijklmnopqrstuv')) afterBoundary = true;
    else if (afterBoundary && line === '') {
      afterBoundary = false;
      return '  \t';
    }
    return line;
  });
  return Buffer.from(out.join('\n'), 'latin1');
}

test('LinkedIn sample with whitespace-only lines ending the MIME part headers: parsed as the original, with a warning', async () => {
  for (const keepBody of [false, true]) {
    const original = await parseOk(sample('dmarc_ruf_report_linkedin.eml'), { keepBody });
    const spaced = await parseOk(whitespaceSeparated(sample('dmarc_ruf_report_linkedin.eml')), { keepBody });
    assert.deepEqual({ ...spaced, warnings: [] }, original);
    assert.deepEqual(spaced.warnings, [
      '3 MIME header block(s) ended by a line of only whitespace, read as an empty line',
    ]);
  }
});

test('Exim sample: plain-text report with the original header inline', async () => {
  const report = await parseOk(sample('exim_plain_text_only_no_arf_part.eml'));
  assert.equal(report.format, 'non-arf');
  assert.equal(report.reporter, 'no-reply@node01.mailgate.example.net');
  assert.equal(report.reportId, 'E1u1tpB-00AA5u-ED@node04.mailgate.example.net');
  assert.equal(report.sourceIp, '203.0.113.68');
  assert.equal(report.authFailure, 'dmarc');
  assert.equal(report.identityAlignment, 'none');
  assert.equal(report.originalMailFrom, undefined);
  assert.equal(report.reportedDomain, 'example.com');
  assert.equal(report.arrivalDate, 1744060569); // 2025-04-07T21:16:09Z
  assert.equal(report.deliveryResult, undefined);
  assert.equal(report.subject, 'Payment from your account.');
  assert.equal(report.headerFrom, 'example.com');
  assert.ok(report.reportedHeaders.startsWith('Received: from [203.0.113.68] (helo=smtpclient.apple)\n'));
  assert.ok(report.reportedHeaders.includes('From: <user@example.com>\n'));
  assert.ok(!report.reportedHeaders.includes('Sender Domain'));
  assert.equal(report.reportedBody, undefined);
  assert.ok(report.warnings.some((w) => w.includes('Original-Mail-From')));
  assert.ok(report.warnings.some((w) => w.includes('None, Accept')));

  // Only the header was copied: there is no body to keep.
  const withBody = await parseOk(sample('exim_plain_text_only_no_arf_part.eml'), { keepBody: true });
  assert.equal(withBody.reportedBody, undefined);
});

test('an abuse-type ARF is refused, naming the type', async () => {
  const fields = BASIC_FIELDS.replace('Feedback-Type: auth-failure', 'Feedback-Type: abuse');
  const reason = await parseRefused(arfMessage(fields, BASIC_HEADER));
  assert.match(reason, /^not a DMARC failure report: /);
  assert.match(reason, /"abuse"/);
});

test('a plain mail that is not a report is refused', async () => {
  const reason = await parseRefused(
    bytes('From: alice@example.com\nTo: bob@example.com\nSubject: lunch\nMessage-ID: <l@example.com>\n\nNoon?\n'),
  );
  assert.match(reason, /^not a DMARC failure report: /);
});

test('bytes that are not mail at all are refused, not thrown', async () => {
  const reason = await parseRefused(new Uint8Array([0, 1, 2, 255, 254, 10, 10, 0]));
  assert.match(reason, /^not a DMARC failure report: /);
});

test('a folded feedback-report field is unfolded, and names are case-insensitive', async () => {
  const fields =
    BASIC_FIELDS +
    'authentication-RESULTS: mx.example.net;\n' +
    '\tdkim=fail header.d=example.com;\n' +
    '  spf=fail smtp.mailfrom=example.com\n' +
    'DKIM-Domain: example.com\n' +
    'DKIM-Selector: sel1\n' +
    'Identity-Alignment: none\n';
  const report = await parseOk(arfMessage(fields, BASIC_HEADER));
  assert.equal(
    report.authenticationResults,
    'mx.example.net;\tdkim=fail header.d=example.com;  spf=fail smtp.mailfrom=example.com',
  );
  assert.equal(report.dkimDomain, 'example.com');
  assert.equal(report.dkimSelector, 'sel1');
  assert.equal(report.identityAlignment, 'none');
  assert.equal(report.originalMailFrom, 'bounce@example.com');
  assert.equal(report.subject, 'hello');
  assert.equal(report.headerFrom, 'example.com');
  assert.equal(report.reportedHeaders, BASIC_HEADER);
  assert.equal(report.reportId, 'r1@reporter.example');
});

test('HTML and SQL in the reported Subject are kept verbatim', async () => {
  const evil = `<script>alert("x")</script>'; DROP TABLE reports; --`;
  const report = await parseOk(arfMessage(BASIC_FIELDS, `From: a@example.com\nSubject: ${evil}\n`));
  assert.equal(report.subject, evil);
  assert.ok(report.reportedHeaders.includes(`Subject: ${evil}\n`));
});

test('input over 50 MiB is refused', async () => {
  const big = new Uint8Array(50 * 1024 * 1024 + 1).fill(0x61);
  const reason = await parseRefused(big);
  assert.match(reason, /over the 52428800-byte limit/);
});

test('an oversized reported header is cut at a line boundary with a warning', async () => {
  const filler = 'X-Filler: ' + 'a'.repeat(1000) + '\n';
  const header = 'From: a@example.com\nSubject: big\n' + filler.repeat(300);
  const report = await parseOk(arfMessage(BASIC_FIELDS, header));
  assert.ok(new TextEncoder().encode(report.reportedHeaders).byteLength <= 256 * 1024);
  assert.ok(report.reportedHeaders.endsWith('\n'));
  assert.equal(report.subject, 'big');
  assert.ok(report.warnings.some((w) => w.includes('cut to 262144 bytes')));
});

test('without a Message-ID the reportId is a stable hash', async () => {
  const a = await parseOk(arfMessage(BASIC_FIELDS, BASIC_HEADER, ''));
  const b = await parseOk(arfMessage(BASIC_FIELDS, BASIC_HEADER, ''));
  assert.match(a.reportId, /^[0-9a-f]{64}$/);
  assert.equal(a.reportId, b.reportId);
  const other = await parseOk(arfMessage(BASIC_FIELDS.replace('192.0.2.1', '192.0.2.2'), BASIC_HEADER, ''));
  assert.notEqual(other.reportId, a.reportId);
  assert.ok(a.warnings.some((w) => w.includes('no Message-ID')));
});

test('an unparsable Arrival-Date gives a warning, not a failure', async () => {
  const fields = BASIC_FIELDS.replace('Tue, 30 Apr 2019 02:09:00 +0000', 'yesterday-ish');
  const report = await parseOk(arfMessage(fields, BASIC_HEADER));
  assert.equal(report.arrivalDate, undefined);
  assert.ok(report.warnings.some((w) => w.includes('Arrival-Date') && w.includes('yesterday-ish')));
});
