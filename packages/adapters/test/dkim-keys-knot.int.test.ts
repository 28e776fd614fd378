/**
 * DKIM key lookups over real DNS (Knot through the network resolver): normal keys, a 64 KB key
 * record that needs TCP, and the DNS failures that map to permerror and temperror.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import { parseZone, signDkim, verifyDkim } from '@mailward/core';
import type { ServedZone } from '@mailward/testkit';
import { serveZone } from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';

const NOW = 1_800_000_000;
const clock = { now: () => NOW * 1000 };
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const rsaP = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const edDer = ed.publicKey.export({ type: 'spki', format: 'der' });
const edP = edDer.subarray(edDer.length - 32).toString('base64');

const MESSAGE = Buffer.from(
  'From: a@example.com\r\nTo: b@example.net\r\nSubject: keys over DNS\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n\r\nHello.\r\n',
  'latin1',
);

function padded(record: string, length: number): string {
  return record + 'x'.repeat(length - record.length);
}

let served: ServedZone;
let resolver: NetworkResolver;

before(async () => {
  const parsed = parseZone({
    'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; k=rsa; p=${rsaP}` }],
    'ed._domainkey.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${edP}` }],
    // A note pads the record to 64,000 octets (near the 65,535-octet RDATA limit, which also holds a
    // length octet per 255-octet string): the answer needs TCP, and the key must still be found.
    'big._domainkey.example.com': [{ TXT: padded(`v=DKIM1; k=rsa; p=${rsaP}; n=`, 64_000) }],
    'huge._domainkey.example.com': [{ TXT: `v=DKIM1; k=rsa; p=${'A'.repeat(60 * 1024)}` }],
    'revoked._domainkey.example.com': [{ TXT: 'v=DKIM1; k=rsa; p=' }],
    'broken._domainkey.example.com': ['SERVFAIL'],
    'slow._domainkey.example.com': ['TIMEOUT'],
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  served = await serveZone(parsed.zone);
  resolver = new NetworkResolver({ servers: [{ host: served.host, port: served.port }], timeoutMs: 500, retries: 1 });
});

after(async () => {
  await served?.stop();
});

function signWith(selector: string, privateKey = rsa.privateKey): Uint8Array {
  return signDkim(MESSAGE, [{ domain: 'example.com', selector, privateKey }], { clock }).message;
}

test('RSA and Ed25519 keys served by Knot verify', async () => {
  const signed = signDkim(
    MESSAGE,
    [
      { domain: 'example.com', selector: 'rsa', privateKey: rsa.privateKey },
      { domain: 'example.com', selector: 'ed', privateKey: ed.privateKey },
    ],
    { clock },
  ).message;
  const { signatures } = await verifyDkim(signed, { resolver, clock });
  assert.deepEqual(
    signatures.map((s) => [s.result, s.algorithm]),
    [
      ['pass', 'rsa-sha256'],
      ['pass', 'ed25519-sha256'],
    ],
  );
});

test('a 64,000-octet key record comes over TCP; a 60 KB p= is refused with a reason', async () => {
  const before = resolver.stats.tcpFallbacks;
  const [big] = (await verifyDkim(signWith('big'), { resolver, clock })).signatures;
  assert.equal(big?.result, 'pass', big?.reason);
  assert.ok(resolver.stats.tcpFallbacks > before, 'the answer did not fit in UDP');
  const [huge] = (await verifyDkim(signWith('huge'), { resolver, clock })).signatures;
  assert.equal(huge?.result, 'permerror');
  assert.match(huge?.reason ?? '', /invalid/);
});

test('no key, revoked key, SERVFAIL and timeout', async () => {
  const cases: [string, string, RegExp][] = [
    ['missing', 'permerror', /NXDOMAIN/],
    ['revoked', 'permerror', /revoked/],
    ['broken', 'temperror', /servfail/],
    ['slow', 'temperror', /timeout/],
  ];
  for (const [selector, result, reason] of cases) {
    const [verdict] = (await verifyDkim(signWith(selector), { resolver, clock })).signatures;
    assert.equal(verdict?.result, result, selector);
    assert.match(verdict?.reason ?? '', reason, selector);
  }
});
