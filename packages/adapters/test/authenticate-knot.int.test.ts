/**
 * Whole-message authentication over real DNS: SPF, DKIM and DMARC records served by Knot, looked
 * up through the network resolver.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import type { Authentication } from '@mailward/core';
import { authenticate, parseZone, signDkim } from '@mailward/core';
import type { ServedZone } from '@mailward/testkit';
import { serveZone } from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';

const NOW = 1_800_000_000;
const clock = { now: () => NOW * 1000 };
const key = generateKeyPairSync('ed25519');
const der = key.publicKey.export({ type: 'spki', format: 'der' });
const p = der.subarray(der.length - 32).toString('base64');
const message = (from: string): Buffer =>
  Buffer.from(
    `From: ${from}\r\nTo: b@example.net\r\nSubject: over DNS\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n\r\nHello.\r\n`,
  );

let served: ServedZone;
let resolver: NetworkResolver;

before(async () => {
  const parsed = parseZone({
    'example.com': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }, { A: '192.0.2.1' }],
    'ed._domainkey.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${p}` }],
    '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com' }],
    'news.example.com': [{ A: '192.0.2.2' }],
    'slow.example': [{ A: '192.0.2.3' }],
    '_dmarc.slow.example': ['TIMEOUT'],
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  served = await serveZone(parsed.zone);
  resolver = new NetworkResolver({ servers: [{ host: served.host, port: served.port }], timeoutMs: 500, retries: 1 });
});

after(async () => {
  await served?.stop();
});

async function run(bytes: Uint8Array, ip: string, mailFrom: string): Promise<Authentication> {
  const result = await authenticate(bytes, { ip, mailFrom }, { resolver, clock, authservId: 'mx.test' });
  assert.ok(!('unverifiable' in result));
  return result;
}

test('signed mail from an authorized IP passes SPF, DKIM and DMARC over Knot', async () => {
  const signed = signDkim(
    message('a@example.com'),
    [{ domain: 'example.com', selector: 'ed', privateKey: key.privateKey }],
    { clock },
  ).message;
  const a = await run(signed, '192.0.2.10', 'a@example.com');
  assert.deepEqual([a.spf.mailFrom.result, a.dkim.signatures[0]?.result, a.dmarc.result], ['pass', 'pass', 'pass']);
});

test('a spoof of a subdomain fails DMARC with the sp= disposition', async () => {
  const a = await run(message('ceo@news.example.com'), '203.0.113.5', 'ceo@news.example.com');
  assert.deepEqual([a.dmarc.result, a.dmarc.disposition], ['fail', 'quarantine']);
  assert.equal(a.dmarc.authorDomain !== undefined && a.dmarc.policyTag, 'sp');
});

test('a DMARC lookup that times out gives temperror', async () => {
  const a = await run(message('a@slow.example'), '203.0.113.5', 'a@slow.example');
  assert.equal(a.dmarc.result, 'temperror');
});
