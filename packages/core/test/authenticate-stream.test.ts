// StreamingAuthentication (headers first, then the body in chunks, as a milter receives a message)
// gives exactly what authenticate() gives for the whole message: same results, same header fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { AuthenticateInput } from '../src/index.js';
import { StreamingAuthentication, arc, authenticate, signDkim, splitMessage } from '../src/index.js';
import { SAMPLE_MESSAGE, clockAt, ed25519Key, resolverFor } from './support/dkim-keys.js';

const NOW = 1_800_000_000;
const ed = ed25519Key();
const ZONE = {
  'football.example.com': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'ed._domainkey.football.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }],
  '_dmarc.football.example.com': [{ TXT: 'v=DMARC1; p=reject' }],
  'helo.example': [{ TXT: 'v=spf1 ip4:192.0.2.25 -all' }],
  'lists.example.org': [{ TXT: 'v=spf1 ip4:198.18.0.0/24 -all' }],
  'arc._domainkey.lists.example.org': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }],
};
const options = { resolver: resolverFor(ZONE), clock: clockAt(NOW), authservId: 'mx.receiver.example' };

const longBody = Array.from({ length: 3000 }, (_, i) => `line ${i} with  some   spaces \t\r\n`).join('');
const signed = signDkim(
  Buffer.from(SAMPLE_MESSAGE.replace(/\r\n\r\n[^]*$/, `\r\n\r\n${longBody}`)),
  [{ domain: 'football.example.com', selector: 'ed', privateKey: ed.privateKey }],
  { clock: clockAt(NOW) },
).message;
const tampered = Buffer.from(Buffer.from(signed).toString('latin1').replace('line 7 ', 'line 8 '), 'latin1');
const sealed = arc.sealArc(signed, {
  domain: 'lists.example.org',
  selector: 'arc',
  privateKey: ed.privateKey,
  authenticationResults: 'lists.example.org; dkim=pass header.d=football.example.com',
  chainValidation: 'none',
  clock: clockAt(NOW),
});
assert.ok(sealed.sealed);

async function both(message: Uint8Array, input: AuthenticateInput, chunk: number) {
  const whole = await authenticate(message, input, options);
  assert.ok(!('unverifiable' in whole));
  const split = splitMessage(message);
  assert.ok(split.ok);
  const streaming = new StreamingAuthentication(split.headers, input, options);
  for (let at = 0; at < split.body.length; at += chunk) streaming.push(split.body.subarray(at, at + chunk));
  const pieces = await streaming.finish();
  return { whole, pieces };
}

// Each case with what it must show, so equal results are not equally empty ones.
const cases: Array<[string, Uint8Array, AuthenticateInput, string]> = [
  [
    'signed, from an authorized IP',
    signed,
    { ip: '192.0.2.25', mailFrom: 'joe@football.example.com', helo: 'helo.example' },
    'dkim=pass spf=pass dmarc=pass arc=none',
  ],
  [
    'signed, from elsewhere',
    signed,
    { ip: '203.0.113.5', mailFrom: 'joe@football.example.com' },
    'dkim=pass spf=fail dmarc=pass arc=none',
  ],
  [
    'body changed after signing',
    tampered,
    { ip: '203.0.113.5', mailFrom: 'joe@football.example.com' },
    'dkim=fail spf=fail dmarc=fail arc=none',
  ],
  [
    'through an ARC sealer',
    sealed.message,
    { ip: '198.18.0.9', mailFrom: 'list@lists.example.org', helo: 'helo.example' },
    'dkim=pass spf=pass dmarc=pass arc=pass',
  ],
  [
    'null sender',
    signed,
    { ip: '192.0.2.25', mailFrom: '', helo: 'helo.example' },
    'dkim=pass spf=pass dmarc=pass arc=none',
  ],
];

for (const [name, message, input, expected] of cases) {
  test(`streaming equals whole-message authentication: ${name}`, async () => {
    // Chunk sizes that cut CRLFs, whitespace runs and the final line in different places.
    for (const chunk of [1, 7, 65535]) {
      const { whole, pieces } = await both(message, input, chunk);
      assert.deepEqual(pieces, whole, `chunk size ${chunk}`);
      const seen = `dkim=${pieces.dkim.signatures[0]?.result} spf=${pieces.spf.mailFrom.result} dmarc=${pieces.dmarc.result} arc=${pieces.arc.result}`;
      assert.equal(seen, expected);
    }
  });
}

test('the streaming variant refuses misuse instead of giving a wrong verdict', async () => {
  const split = splitMessage(signed);
  assert.ok(split.ok);
  const streaming = new StreamingAuthentication(split.headers, { ip: '192.0.2.25', mailFrom: 'a@b.example' }, options);
  streaming.push(split.body);
  await streaming.finish();
  assert.throws(() => streaming.push(split.body), /push after finish/);
  await assert.rejects(streaming.finish(), /finish called twice/);
});

test('with arcSeal, the streamed ARC set equals the one authenticate() prepends to the whole message', async () => {
  const arcSeal = { domain: 'lists.example.org', selector: 'arc', privateKey: ed.privateKey };
  const input = { ip: '192.0.2.25', mailFrom: 'joe@football.example.com', helo: 'helo.example' };
  for (const message of [signed, sealed.message]) {
    const whole = await authenticate(message, input, { ...options, arcSeal });
    assert.ok(!('unverifiable' in whole) && whole.arcSeal?.sealed);
    const split = splitMessage(message);
    assert.ok(split.ok);
    const streaming = new StreamingAuthentication(split.headers, input, { ...options, arcSeal });
    for (let at = 0; at < split.body.length; at += 1000) streaming.push(split.body.subarray(at, at + 1000));
    const result = await streaming.finishWithResults();
    assert.ok(result.arcSeal?.sealed);
    assert.deepEqual(result.arcSeal.fields, whole.arcSeal.fields);
    assert.equal(result.arcSeal.instance, whole.arcSeal.instance);
    const f = result.arcSeal.fields;
    assert.equal(
      Buffer.from(whole.arcSeal.message).toString('latin1'),
      f.seal + f.messageSignature + f.authenticationResults + Buffer.from(split.bytes).toString('latin1'),
    );
  }
  // A key the sealer refuses is a reason, not a throw.
  const split = splitMessage(signed);
  assert.ok(split.ok);
  const bad = new StreamingAuthentication(split.headers, input, {
    ...options,
    arcSeal: { ...arcSeal, algorithm: 'rsa-sha256' },
  });
  bad.push(split.body);
  const refused = await bad.finishWithResults();
  assert.ok(refused.arcSeal?.sealed === false);
  assert.match(refused.arcSeal.reason, /needs a rsa key/);
});
