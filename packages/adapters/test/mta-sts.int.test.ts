/**
 * MTA-STS policies fetched from a loopback HTTPS server (certificate made by openssl, trusted for
 * the test): a good policy, a certificate for another name, a redirect, an oversize policy, a wrong
 * content type, an MX the policy does not cover, and a server that never answers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { Buffer } from 'node:buffer';
import type { Finding } from '@mailward/core';
import { MemoryResolver, auditDomain, auditMtaStsPolicy, mxPatternMatches, parseZone } from '@mailward/core';
import { makeTestCertificate } from '@mailward/testkit';
import { HttpsMtaStsFetcher } from '../src/index.js';

const names = ['good', 'redirect', 'big', 'html', 'uncovered', 'slow', 'clean'];
let server: Server;
let port: number;
let ca: Buffer;

const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mx.good.example\r\nmx: *.backup.example\r\nmax_age: 604800\r\n';

before(async () => {
  const certificate = makeTestCertificate(names.map((n) => `DNS:mta-sts.${n}.example`));
  ca = certificate.cert;
  server = createServer({ cert: ca, key: certificate.key }, (request, response) => {
    const host = (request.headers.host ?? '').split(':')[0] ?? '';
    if (request.url !== '/.well-known/mta-sts.txt') {
      response.writeHead(404).end();
    } else if (host === 'mta-sts.redirect.example') {
      response.writeHead(301, { location: 'https://elsewhere.example/' }).end();
    } else if (host === 'mta-sts.big.example') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end(`${POLICY}${'# padding\r\n'.repeat(10_000)}`);
    } else if (host === 'mta-sts.html.example') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(POLICY);
    } else if (host === 'mta-sts.slow.example') {
      // Never answers.
    } else {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(POLICY);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const zone = parseZone({
  ...Object.fromEntries(names.map((n) => [`mta-sts.${n}.example`, [{ A: '127.0.0.1' }]])),
  'mta-sts.badcert.example': [{ A: '127.0.0.1' }],
  'clean.example': [{ TXT: 'v=spf1 mx -all' }, { MX: [10, 'mx.good.example'] }],
  '_mta-sts.clean.example': [{ TXT: 'v=STSv1; id=2026112801' }],
  'mx.good.example': [{ A: '192.0.2.25' }],
});
assert.ok(zone.ok);
const resolver = new MemoryResolver(zone.zone);
const fetcher = () => new HttpsMtaStsFetcher({ resolver, port, ca: [ca], timeoutMs: 1500 });
const codes = (findings: readonly Finding[]) => findings.map((f) => f.code).sort();
const audit = (domain: string, mxHosts = ['mx.good.example', 'mx2.backup.example']) =>
  auditMtaStsPolicy(domain, { fetcher: fetcher(), mxHosts }).then((audit) => audit.findings);

test('a good policy served as text/plain with a valid certificate covers the MX hosts', async () => {
  assert.deepEqual(codes(await audit('good.example')), ['mta-sts-ok']);
});

test('a certificate for another name is refused', async () => {
  const findings = await audit('badcert.example');
  assert.deepEqual(codes(findings), ['mta-sts-policy-unreachable']);
  assert.match(findings[0]?.message ?? '', /mta-sts\.badcert\.example|altnames|certificate/i);
});

test('a redirect is not followed', async () => {
  const findings = await audit('redirect.example');
  assert.deepEqual(codes(findings), ['mta-sts-policy-unreachable']);
  assert.match(findings[0]?.message ?? '', /HTTP 301 \(redirects are not followed\)/);
});

test('an oversize policy is refused', async () => {
  const findings = await audit('big.example');
  assert.match(findings[0]?.message ?? '', /larger than 65536 bytes/);
});

test('a policy not served as text/plain is ignored', async () => {
  assert.deepEqual(codes(await audit('html.example')), ['mta-sts-policy-content-type']);
});

test('an MX host not covered by the policy; wildcards match exactly one left-most label', async () => {
  const findings = await audit('uncovered.example', ['mx.good.example', 'a.b.backup.example', 'backup.example']);
  assert.deepEqual(codes(findings), ['mta-sts-mx-not-covered', 'mta-sts-mx-not-covered']);
  assert.equal(mxPatternMatches('*.backup.example', 'mx2.backup.example'), true);
  assert.equal(mxPatternMatches('*.backup.example', 'a.b.backup.example'), false);
  assert.equal(mxPatternMatches('*.backup.example', 'backup.example'), false);
  assert.equal(mxPatternMatches('*.backup.example', 'evilbackup.example'), false);
});

test('a server that never answers times out in bounded time', async () => {
  const started = performance.now();
  const findings = await audit('slow.example');
  assert.match(findings[0]?.message ?? '', /no complete answer within 1500 ms/);
  assert.ok(performance.now() - started < 5000);
});

test('auditDomain fetches the policy when given a fetcher, and says so when not', async () => {
  const online = await auditDomain('clean.example', { resolver, mtaStsFetcher: fetcher() });
  assert.ok(
    online.findings.some((f) => f.code === 'mta-sts-ok'),
    JSON.stringify(online.findings),
  );
  const offline = await auditDomain('clean.example', { resolver });
  assert.ok(offline.findings.some((f) => f.code === 'mta-sts-policy-not-checked'));
});
