/**
 * The STARTTLS probe against real SMTP servers on loopback (smtp-server, certificates made by
 * openssl): a good host, no STARTTLS, an untrusted chain, a certificate for another name, an
 * expired certificate, a TLS 1.0-only server, a refusing greeting, a closed port, a server that
 * never greets, and one that sends an endless reply. Then the whole audit with an MTA-STS policy in
 * enforce mode, which turns the same TLS problems into errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerOptions } from 'smtp-server';
import type { Finding, MtaStsFetcher, SmtpProbeResult } from '@mailward/core';
import { MemoryResolver, auditDomain, auditSmtp, parseZone } from '@mailward/core';
import type { TestCertificate } from '@mailward/testkit';
import { makeTestCertificate } from '@mailward/testkit';
import { StartTlsProbe } from '../src/index.js';

const HOST = 'mx.probe.example';
const zone = parseZone({
  [HOST]: [{ A: '127.0.0.1' }],
  'probe.example': [{ TXT: 'v=spf1 mx -all' }, { MX: [10, HOST] }],
  '_mta-sts.probe.example': [{ TXT: 'v=STSv1; id=2026112901' }],
  'noaddress.example': [{ TXT: 'v=spf1 -all' }],
});
assert.ok(zone.ok);
const resolver = new MemoryResolver(zone.zone);

let good: TestCertificate;
let otherName: TestCertificate;
let expired: TestCertificate;
let untrusted: TestCertificate;
const servers: { close(): void }[] = [];

before(() => {
  good = makeTestCertificate([`DNS:${HOST}`]);
  otherName = makeTestCertificate(['DNS:mail.elsewhere.example']);
  expired = makeTestCertificate([`DNS:${HOST}`], { days: 0 });
  untrusted = makeTestCertificate([`DNS:${HOST}`]);
});

after(() => {
  for (const server of servers) server.close();
});

async function smtpServer(options: SMTPServerOptions): Promise<number> {
  const server = new SMTPServer({ logger: false, disabledCommands: ['AUTH'], ...options });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.server.address() as { port: number }).port;
}

async function rawServer(onConnection: (socket: Socket) => void): Promise<number> {
  const server: TcpServer = createTcpServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** Probes HOST on `port`, trusting the good, other-name and expired certificates (not `untrusted`). */
const probe = (port: number, timeoutMs = 3000) =>
  new StartTlsProbe({
    resolver,
    heloName: 'checker.mailward.test',
    port,
    timeoutMs,
    ca: [good.cert, otherName.cert, expired.cert],
  });
const codes = (findings: readonly Finding[]) => findings.map((f) => f.code).sort();
const auditOf = async (port: number, mtaStsMode?: string) =>
  auditSmtp([HOST], { probe: probe(port), ...(mtaStsMode !== undefined && { mtaStsMode }) });

test('a good server: STARTTLS, TLS 1.3, certificate trusted and for the host', async () => {
  const port = await smtpServer({ key: good.key, cert: good.cert });
  const result = await probe(port).probe(HOST);
  assert.equal(result.kind, 'tls', JSON.stringify(result));
  const tls = result as Extract<SmtpProbeResult, { kind: 'tls' }>;
  assert.equal(tls.protocol, 'TLSv1.3');
  assert.deepEqual([tls.certificate.trusted, tls.certificate.nameMatches, tls.certificate.names], [true, true, [HOST]]);
  const findings = await auditOf(port);
  assert.deepEqual(codes(findings), ['smtp-tls-ok']);
  assert.match(
    findings[0]?.message ?? '',
    /^mx\.probe\.example: STARTTLS with TLSv1\.3 .*valid until \d{4}-\d\d-\d\d$/,
  );
});

test('no STARTTLS offered: a warning, an error under MTA-STS enforce', async () => {
  const port = await smtpServer({ hideSTARTTLS: true });
  assert.deepEqual(await probe(port).probe(HOST), { kind: 'no-starttls' });
  const findings = await auditOf(port);
  assert.deepEqual([codes(findings), findings[0]?.severity], [['smtp-no-starttls'], 'warning']);
  const enforced = await auditOf(port, 'enforce');
  assert.equal(enforced[0]?.severity, 'error');
  assert.match(enforced[0]?.message ?? '', /enforce mode/);
});

test('a certificate that does not chain to a trusted root', async () => {
  const port = await smtpServer({ key: untrusted.key, cert: untrusted.cert });
  const findings = await auditOf(port);
  assert.deepEqual(codes(findings), ['smtp-cert-untrusted']);
  assert.match(findings[0]?.message ?? '', /SELF_SIGNED|self.signed/i);
});

test('a certificate for another name', async () => {
  const port = await smtpServer({ key: otherName.key, cert: otherName.cert });
  const findings = await auditOf(port);
  assert.deepEqual(codes(findings), ['smtp-cert-name-mismatch']);
  assert.match(findings[0]?.message ?? '', /names mail\.elsewhere\.example, not mx\.probe\.example/);
});

test('an expired certificate', async () => {
  const port = await smtpServer({ key: expired.key, cert: expired.cert });
  const findings = await auditOf(port);
  assert.deepEqual(codes(findings), ['smtp-cert-expired']);
  assert.match(findings[0]?.message ?? '', /expired on \d{4}-\d\d-\d\d/);
});

test('a server that speaks TLS 1.0 at best', async () => {
  const port = await smtpServer({
    key: good.key,
    cert: good.cert,
    maxVersion: 'TLSv1',
    minVersion: 'TLSv1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
  } as SMTPServerOptions);
  const result = await probe(port).probe(HOST);
  assert.equal(result.kind === 'tls' && result.protocol, 'TLSv1');
  assert.deepEqual(codes(await auditOf(port)), ['smtp-tls-old-version']);
});

test('a server that refuses the session in its greeting', async () => {
  const port = await rawServer((socket) => socket.end('554-mx.probe.example\r\n554 no service for you\r\n'));
  assert.deepEqual(await probe(port).probe(HOST), {
    kind: 'refused',
    reply: '554-mx.probe.example 554 no service for you',
  });
  assert.deepEqual(codes(await auditOf(port)), ['smtp-refused']);
});

test('a closed port, a host without an address, a server that never greets: unreachable in bounded time', async () => {
  const closed = await rawServer(() => undefined);
  servers.pop()?.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const refused = await probe(closed).probe(HOST);
  assert.equal(refused.kind, 'unreachable');
  assert.match(refused.kind === 'unreachable' ? refused.reason : '', /ECONNREFUSED/);
  assert.deepEqual(await probe(closed).probe('nothing.noaddress.example'), {
    kind: 'unreachable',
    reason: 'nothing.noaddress.example has no address (nxdomain)',
  });
  const silent = await rawServer(() => undefined);
  const started = performance.now();
  const result = await probe(silent, 500).probe(HOST);
  assert.deepEqual(result, { kind: 'unreachable', reason: 'no answer within 500 ms while waiting for the greeting' });
  assert.ok(performance.now() - started < 2000);
});

test('an endless reply is cut off at 64 KiB', async () => {
  const port = await rawServer((socket) => {
    const line = Buffer.alloc(16 * 1024, 'x');
    const flood = () => {
      while (socket.writable && socket.write(line));
    };
    socket.on('drain', flood);
    socket.on('error', () => undefined);
    flood();
  });
  const result = await probe(port).probe(HOST);
  assert.equal(result.kind, 'unreachable');
  assert.match(result.kind === 'unreachable' ? result.reason : '', /longer than 65536 bytes/);
});

test('the whole audit: MX hosts probed, smtp graded; enforce MTA-STS makes a bad certificate an error', async () => {
  const port = await smtpServer({ key: otherName.key, cert: otherName.cert });
  const fetcher: MtaStsFetcher = {
    fetchPolicy: () =>
      Promise.resolve({
        kind: 'ok',
        status: 200,
        contentType: 'text/plain',
        body: `version: STSv1\nmode: enforce\nmx: ${HOST}\nmax_age: 604800\n`,
      }),
  };
  const audit = await auditDomain('probe.example', { resolver, mtaStsFetcher: fetcher, smtpProbe: probe(port) });
  const smtp = audit.findings.filter((f) => f.area === 'smtp');
  assert.deepEqual(
    smtp.map((f) => [f.code, f.severity]),
    [['smtp-cert-name-mismatch', 'error']],
  );
  assert.equal(audit.grades.smtp, 'F');
  const offline = await auditDomain('probe.example', { resolver });
  assert.equal(offline.grades.smtp, undefined);
  assert.ok(!offline.findings.some((f) => f.area === 'smtp'));
});
