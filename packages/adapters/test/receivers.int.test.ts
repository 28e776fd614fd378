/**
 * The report receivers with real clients: Python's smtplib (STARTTLS with a certificate made by
 * openssl) against the SMTP receiver, curl against the HTTPS TLS-RPT endpoint. Reports are
 * committed before the positive answer; a failing store gives a temporary error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ReportStore } from '@mailward/reports';
import { makeTestCertificate, testdataPath } from '@mailward/testkit';
import type { RunningReceiver } from '../src/index.js';
import { SqliteReportStore, startHttpsReceiver, startSmtpReceiver } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mailward-receivers-'));
let certFile: string;
let tls: { cert: Buffer; key: Buffer };
let store: SqliteReportStore;
const running: RunningReceiver[] = [];

before(() => {
  const certificate = makeTestCertificate(['DNS:localhost', 'IP:127.0.0.1']);
  certFile = certificate.certFile;
  tls = { cert: certificate.cert, key: certificate.key };
  store = new SqliteReportStore(join(dir, 'r.db'));
});
after(async () => {
  for (const receiver of running) await receiver.close();
  await store.close();
});

const PYTHON_CLIENT = `
import json, smtplib, ssl, sys
port, cafile, sender, rcpt, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
data = open(path, 'rb').read()
out = {}
try:
    with smtplib.SMTP('127.0.0.1', port, timeout=20) as s:
        s.ehlo('client.test')
        out['starttls_offered'] = s.has_extn('starttls')
        out['size'] = s.esmtp_features.get('size')
        if out['starttls_offered']:
            s.starttls(context=ssl.create_default_context(cafile=cafile))
            s.ehlo('client.test')
        code, message = s.mail(sender)
        code, message = s.rcpt(rcpt)
        out['rcpt'] = code
        if code == 250:
            code, message = s.data(data)
            out['data'] = code
            out['message'] = message.decode()
except smtplib.SMTPException as e:
    out['error'] = str(e)
print(json.dumps(out))
`;

// Clients run asynchronously: a synchronous spawn would block the servers in this process.
const run = promisify(execFile);

async function send(port: number, rcpt: string, file: string): Promise<Record<string, unknown>> {
  const args = ['-c', PYTHON_CLIENT, String(port), certFile, 'noreply@reporter.example', rcpt, file];
  const { stdout } = await run('/usr/bin/python3', args);
  return JSON.parse(stdout) as Record<string, unknown>;
}

const sample = (...parts: string[]) => testdataPath('parsedmarc', 'samples', ...parts);

test('SMTP: STARTTLS, report mail stored before 250, other recipients refused, junk quarantined, size enforced', async () => {
  const receiver = await startSmtpReceiver(store, {
    host: '127.0.0.1',
    port: 0,
    addresses: ['DMARC@example.com'],
    tls,
    maxMessageBytes: 64 * 1024,
  });
  running.push(receiver);
  const report = await send(
    receiver.port,
    'dmarc@example.com',
    sample('aggregate', 'Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml'),
  );
  assert.deepEqual(
    [report['starttls_offered'], report['size'], report['rcpt'], report['data']],
    [true, '65536', 250, 250],
  );
  assert.match(String(report['message']), /stored \(aggregate report stored\)/);
  assert.equal((await store.totals({ domain: 'borschow.com' })).reports, 1);

  const again = await send(
    receiver.port,
    'dmarc@example.com',
    sample('aggregate', 'Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml'),
  );
  assert.match(String(again['message']), /already stored/);
  const stranger = await send(receiver.port, 'postmaster@example.com', sample('aggregate', 'twilight.eml'));
  assert.equal(stranger['rcpt'], 550);
  const junkFile = join(dir, 'junk.eml');
  writeFileSync(junkFile, 'From: a@b.example\r\nSubject: hello\r\n\r\nnot a report\r\n');
  const junk = await send(receiver.port, 'dmarc@example.com', junkFile);
  assert.equal(junk['data'], 250);
  assert.match(String(junk['message']), /quarantined/);
  const bigFile = join(dir, 'big.eml');
  writeFileSync(bigFile, `From: a@b.example\r\nSubject: big\r\n\r\n${'x'.repeat(100_000)}\r\n`);
  const big = await send(receiver.port, 'dmarc@example.com', bigFile);
  assert.match(String(big['error'] ?? big['data']), /552/);
});

test('SMTP: a failing store answers 451, so the sender keeps the message and retries', async () => {
  const broken = {
    save: () => Promise.reject(new Error('disk full')),
  } as unknown as ReportStore;
  const receiver = await startSmtpReceiver(broken, { host: '127.0.0.1', port: 0, addresses: ['dmarc@example.com'] });
  running.push(receiver);
  const result = await send(receiver.port, 'dmarc@example.com', sample('aggregate', 'twilight.eml'));
  assert.equal(result['starttls_offered'], false);
  assert.match(JSON.stringify(result), /451.*cannot store the report now: disk full/);
});

async function curl(port: number, args: string[]): Promise<{ status: number; body: string }> {
  const url = `https://localhost:${port}/tlsrpt`;
  const { stdout } = await run('curl', ['-sS', '--cacert', certFile, '-o', '-', '-w', '\n%{http_code}', ...args, url]);
  const lines = stdout.trimEnd().split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n').trimEnd() };
}

test('HTTPS: TLS reports posted as tlsrpt+gzip and tlsrpt+json are stored; everything else is refused with a reason', async () => {
  const receiver = await startHttpsReceiver(store, { host: '127.0.0.1', port: 0, tls, maxBodyBytes: 256 * 1024 });
  running.push(receiver);
  const gz = join(dir, 'report.json.gz');
  writeFileSync(gz, gzipSync(readFileSync(sample('smtp_tls', 'rfc8460.json'))));
  const posted = await curl(receiver.port, ['-H', 'Content-Type: application/tlsrpt+gzip', '--data-binary', `@${gz}`]);
  assert.deepEqual(posted, { status: 201, body: 'tls report stored' });
  const json = await curl(receiver.port, [
    '-H',
    'Content-Type: application/tlsrpt+json',
    '--data-binary',
    `@${sample('smtp_tls', 'mail.ru.json')}`,
  ]);
  assert.equal(json.status, 201);
  const duplicate = await curl(receiver.port, [
    '-H',
    'Content-Type: application/tlsrpt+gzip',
    '--data-binary',
    `@${gz}`,
  ]);
  assert.deepEqual(duplicate, { status: 201, body: 'tls report already stored' });
  assert.equal((await store.totals({})).tlsReports, 2);

  assert.equal((await curl(receiver.port, ['-H', 'Content-Type: text/plain', '--data-binary', 'hello'])).status, 415);
  assert.equal((await curl(receiver.port, [])).status, 405);
  const junk = await curl(receiver.port, [
    '-H',
    'Content-Type: application/tlsrpt+json',
    '--data-binary',
    '{"not": "a report"}',
  ]);
  assert.equal(junk.status, 400);
  assert.match(junk.body, /not a usable TLS report: quarantined: input: date-range: missing/);
  const big = join(dir, 'big.json');
  writeFileSync(big, `{"x": "${'y'.repeat(300_000)}"}`);
  const tooBig = await curl(receiver.port, ['-H', 'Content-Type: application/tlsrpt+json', '--data-binary', `@${big}`]);
  assert.equal(tooBig.status, 413);
});
