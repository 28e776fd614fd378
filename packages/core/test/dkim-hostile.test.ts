/**
 * Hostile input for DKIM verification: every case must end with verdicts and reasons, in bounded
 * time, without throwing. Time limits are generous (a slow CI machine) but would catch quadratic
 * behaviour, which takes minutes at these sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { signDkim, verifyDkim } from '../src/index.js';
import { SAMPLE_MESSAGE, clockAt, ed25519Key, resolverFor, rsaKey } from './support/dkim-keys.js';

const NOW = 1_800_000_000;
const rsa = rsaKey();
const ed = ed25519Key();
const ZONE = {
  'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; k=rsa; p=${rsa.p}` }],
  'ed._domainkey.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }],
};

function signed(message: string | Uint8Array): Buffer {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'latin1') : message;
  const specs = [
    { domain: 'example.com', selector: 'rsa', privateKey: rsa.privateKey },
    {
      domain: 'example.com',
      selector: 'ed',
      privateKey: ed.privateKey,
      canonicalization: { header: 'simple', body: 'simple' },
    } as const,
  ];
  return Buffer.from(signDkim(bytes, specs, { clock: clockAt(NOW) }).message);
}

async function timed<T>(limitMs: number, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < limitMs, `took ${Math.round(elapsed)} ms, limit ${limitMs} ms`);
  return result;
}

function verify(bytes: Uint8Array, zone: Record<string, unknown[]> = ZONE) {
  return verifyDkim(bytes, { resolver: resolverFor(zone), clock: clockAt(NOW) });
}

test('10,000 DKIM-Signature fields: one verdict each, only the first 10 evaluated', async () => {
  const message = signed(SAMPLE_MESSAGE).toString('latin1');
  const end = message.indexOf('From:');
  const fields = message.slice(0, end);
  const hostile = fields.repeat(5_000) + message.slice(end);
  const { signatures } = await timed(10_000, () => verify(Buffer.from(hostile, 'latin1')));
  assert.equal(signatures.length, 10_000);
  assert.equal(signatures.filter((s) => s.result === 'pass').length, 10);
  assert.equal(signatures.filter((s) => s.result === 'neutral').length, 9_990);
  assert.match(signatures[9_999]?.reason ?? '', /only the first 10/);
});

test('a 10 MB body on a single line, and 10 MB of spaces, verify in linear time', async () => {
  const head = SAMPLE_MESSAGE.slice(0, SAMPLE_MESSAGE.indexOf('\r\n\r\n') + 4);
  for (const filler of ['x', ' ', '\t ']) {
    const body = Buffer.alloc(10 * 1024 * 1024, filler);
    const message = signed(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    const { signatures } = await timed(15_000, () => verify(message));
    assert.deepEqual(
      signatures.map((s) => s.result),
      ['pass', 'pass'],
      JSON.stringify(filler),
    );
  }
});

test('a 1 MB header field (signed) verifies; the same field unsigned-changed fails', async () => {
  const subject = 'Subject: ' + 'word '.repeat(200_000) + '\r\n';
  const message = signed(SAMPLE_MESSAGE.replace('Subject: Is dinner ready?\r\n', subject));
  const { signatures } = await timed(10_000, () => verify(message));
  assert.deepEqual(
    signatures.map((s) => s.result),
    ['pass', 'pass'],
  );
  const changed = Buffer.from(message.toString('latin1').replace('word word', 'word  word'), 'latin1');
  // Relaxed (the RSA signature) tolerates the extra space; simple (the Ed25519 one) does not.
  const after = await verify(changed);
  assert.deepEqual(
    after.signatures.map((s) => s.result),
    ['pass', 'fail'],
  );
});

test('an h= listing 100,000 names is evaluated in bounded time', async () => {
  const names = Array.from({ length: 100_000 }, (_, i) => `x-h${i}`).join(':');
  const field = `DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; h=from:${names}; bh=AAAA; b=AAAA\r\n`;
  const { signatures } = await timed(10_000, () => verify(Buffer.from(field + SAMPLE_MESSAGE, 'latin1')));
  assert.equal(signatures[0]?.result, 'fail');
});

test('malformed base64 in b= and bh= is permerror naming the tag', async () => {
  const cases: [string, RegExp][] = [
    ['bh=AAA*; b=AAAA', /base64 in bh=/],
    ['bh=AAAA; b=AA=A', /base64 in b=/],
    ['bh=AAAA; b=A', /base64 in b=/],
    ['bh=; b=AAAA', /bh=/],
    [`bh=AAAA; b=${'A'.repeat(100_000)}=`, /base64 in b=/],
  ];
  for (const [tags, reason] of cases) {
    const field = `DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; ${tags}\r\n`;
    const { signatures } = await verify(Buffer.from(field + SAMPLE_MESSAGE, 'latin1'));
    assert.equal(signatures[0]?.result, 'permerror', tags.slice(0, 40));
    assert.match(signatures[0]?.reason ?? '', reason, tags.slice(0, 40));
  }
  // A b= that decodes but has the wrong length for the key is a plain verification failure.
  const message = signed(SAMPLE_MESSAGE)
    .toString('latin1')
    .replace(/b=[A-Za-z0-9+/=\r\n\t ]+$/m, 'b=AAAA');
  const { signatures } = await verify(Buffer.from(message, 'latin1'));
  assert.ok(signatures.some((s) => s.result === 'fail'));
});

test('a 64 KB key record is refused with a reason, in bounded time', async () => {
  const message = signed(SAMPLE_MESSAGE);
  const huge = { 'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; k=rsa; p=${'A'.repeat(64 * 1024)}` }] };
  const { signatures } = await timed(2_000, () => verify(message, { ...ZONE, ...huge }));
  assert.equal(signatures[0]?.result, 'permerror');
  assert.match(signatures[0]?.reason ?? '', /key record at rsa\._domainkey\.example\.com is invalid: .*p=/);
  const padded = { 'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; n=${'x'.repeat(64 * 1024)}; k=rsa; p=${rsa.p}` }] };
  const { signatures: withNote } = await timed(2_000, () => verify(message, { ...ZONE, ...padded }));
  assert.equal(withNote[0]?.result, 'pass');
});

test('many TXT records at the key name: a bounded number are parsed', async () => {
  const message = signed(SAMPLE_MESSAGE);
  const records = Array.from({ length: 1_000 }, () => ({ TXT: 'v=DKIM1; p=%%%' }));
  const { signatures } = await timed(2_000, () => verify(message, { ...ZONE, 'rsa._domainkey.example.com': records }));
  assert.equal(signatures[0]?.result, 'permerror');
  assert.match(signatures[0]?.reason ?? '', /and 7 other invalid record/);
});

test('a header block over the limit is a result naming the problem, not an exception', async () => {
  const message = Buffer.from('X-Big: ' + 'a'.repeat(9 * 1024 * 1024) + '\r\n\r\nbody\r\n', 'latin1');
  const result = await verify(message);
  assert.deepEqual(result.signatures, []);
  assert.match(result.unverifiable ?? '', /header/i);
});
