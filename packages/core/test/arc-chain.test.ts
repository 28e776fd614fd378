import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { arc, signDkim } from '../src/index.js';
import { SAMPLE_MESSAGE, clockAt, ed25519Key, resolverFor, rsaKey } from './support/dkim-keys.js';

const NOW = 1_800_000_000;
const rsa = rsaKey();
const ed = ed25519Key();
const resolver = resolverFor({
  'rsa._domainkey.hop1.example': [{ TXT: `v=DKIM1; p=${rsa.p}` }],
  'ed._domainkey.hop2.example': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }],
  'rsa._domainkey.hop3.example': [{ TXT: `v=DKIM1; p=${rsa.p}` }],
});

function seal(message: Uint8Array, hop: 1 | 2 | 3, cv: arc.ChainValidation): Uint8Array {
  const key =
    hop === 2 ? { selector: 'ed', privateKey: ed.privateKey } : { selector: 'rsa', privateKey: rsa.privateKey };
  const result = arc.sealArc(message, {
    domain: `hop${hop}.example`,
    ...key,
    authenticationResults: `mx.hop${hop}.example; dkim=pass header.d=example.com; arc=${cv}`,
    chainValidation: cv,
    clock: clockAt(NOW),
  });
  assert.ok(result.sealed, result.sealed ? '' : result.reason);
  assert.equal(result.instance, hop);
  return result.message;
}

type Edit = (message: string, hop: number) => string;

/** Passes the message through `count` sealing hops; `before` edits it at a hop before that hop seals
 * (as a mailing list does), `after` edits it once the hop has sealed (breaking the chain). */
async function hops(count: number, edits: { before?: Edit; after?: Edit } = {}): Promise<Uint8Array> {
  const apply = (message: Uint8Array, hop: number, edit?: Edit): Uint8Array =>
    edit ? Buffer.from(edit(Buffer.from(message).toString('latin1'), hop), 'latin1') : message;
  let message: Uint8Array = Buffer.from(SAMPLE_MESSAGE, 'latin1');
  for (let hop = 1; hop <= count; hop++) {
    const cv = (await arc.verifyArc(message, { resolver })).result;
    message = apply(message, hop, edits.before);
    message = seal(message, hop as 1 | 2 | 3, cv);
    message = apply(message, hop, edits.after);
  }
  return message;
}

test('a three-hop chain (RSA, Ed25519, RSA) validates, with oldest-pass 0', async () => {
  const result = await arc.verifyArc(await hops(3), { resolver });
  assert.equal(result.result, 'pass', result.reason);
  assert.equal(result.instances, 3);
  assert.equal(result.oldestPass, 0);
  assert.deepEqual(
    result.sets.map((s) => [s.instance, s.sealer.domain, s.chainValidation, s.seal?.ok]),
    [
      [1, 'hop1.example', 'none', true],
      [2, 'hop2.example', 'pass', true],
      [3, 'hop3.example', 'pass', true],
    ],
  );
});

test('a hop that changes the body before sealing keeps the chain valid; oldest-pass moves to 2', async () => {
  const message = await hops(3, { before: (m, hop) => (hop === 2 ? m.replace('Joe.', 'Joe (via list).') : m) });
  const result = await arc.verifyArc(message, { resolver });
  assert.equal(result.result, 'pass', result.reason);
  assert.equal(result.oldestPass, 2);
  assert.equal(result.sets[0]?.messageSignature?.ok, false);
});

test('a change after the last seal fails the chain; a failed chain is sealed with cv=fail over its own set only', async () => {
  const message = await hops(2, { after: (m, hop) => (hop === 2 ? m.replace('hungry', 'thirsty') : m) });
  const result = await arc.verifyArc(message, { resolver });
  assert.equal(result.result, 'fail');
  assert.match(result.reason, /ARC-Message-Signature 2: body hash did not verify/);
  const sealed = arc.sealArc(message, {
    domain: 'hop3.example',
    selector: 'rsa',
    privateKey: rsa.privateKey,
    authenticationResults: 'mx.hop3.example; arc=fail',
    chainValidation: 'fail',
    clock: clockAt(NOW),
  });
  assert.ok(sealed.sealed);
  assert.match(sealed.fields.seal, /cv=fail/);
  const after = await arc.verifyArc(sealed.message, { resolver });
  assert.equal(after.result, 'fail');
  assert.match(after.reason, /says cv=fail/);
  // And nobody seals it again (§5.1 step 2).
  const again = arc.sealArc(sealed.message, {
    domain: 'hop1.example',
    selector: 'rsa',
    privateKey: rsa.privateKey,
    authenticationResults: 'x.example; arc=fail',
    chainValidation: 'fail',
    clock: clockAt(NOW),
  });
  assert.equal(again.sealed, false);
});

test('structure rules: missing, duplicated and out-of-range instances, bad i=, AS with h=', async () => {
  const good = Buffer.from(await hops(2)).toString('latin1');
  const cases: [string, RegExp][] = [
    [good.replace(/ARC-Seal: [^]*?\r\n(?=ARC-Message-Signature)/, ''), /ARC set 2 has no ARC-Seal/],
    [
      good.replace('ARC-Authentication-Results: i=1;', 'ARC-Authentication-Results: i=2;'),
      /ARC set 1 has no ARC-Authentication-Results|ARC set 2 has 2/,
    ],
    [good.replace('ARC-Authentication-Results: i=2;', 'ARC-Authentication-Results: i=51;'), /outside 1\.\.50/],
    [
      good.replace('ARC-Authentication-Results: i=2;', 'ARC-Authentication-Results: i=x;'),
      /does not start with "i=N;"/,
    ],
    [good.replace('cv=pass', 'cv=none'), /instance 2 has cv=none, not pass/],
    [good.replace(/ARC-Seal: a=/, 'ARC-Seal: h=from; a='), /has an h= tag/],
  ];
  for (const [message, reason] of cases) {
    const result = await arc.verifyArc(Buffer.from(message, 'latin1'), { resolver });
    assert.equal(result.result, 'fail', String(reason));
    assert.match(result.reason, reason);
  }
  const none = await arc.verifyArc(Buffer.from(SAMPLE_MESSAGE), { resolver });
  assert.deepEqual([none.result, none.instances], ['none', 0]);
});

test('DNS failures are permanent (RFC 8617 §5.2.1): a missing or unreachable key fails the chain', async () => {
  const message = await hops(1);
  const zones: Record<string, unknown[]>[] = [{}, { 'rsa._domainkey.hop1.example': ['TIMEOUT'] }];
  for (const zone of zones) {
    const result = await arc.verifyArc(message, { resolver: resolverFor(zone) });
    assert.equal(result.result, 'fail');
  }
});

test('hostile input: 1,000 ARC sets and thousands of ARC fields end quickly with a reason', async () => {
  const one = Buffer.from(await hops(1)).toString('latin1');
  const set = one.slice(0, one.indexOf('From:'));
  const many = Array.from({ length: 1000 }, (_, i) => set.replace(/i=1\b/g, `i=${i + 1}`)).join('') + SAMPLE_MESSAGE;
  const started = performance.now();
  const result = await arc.verifyArc(Buffer.from(many, 'latin1'), { resolver });
  assert.equal(result.result, 'fail');
  assert.match(result.reason, /outside 1\.\.50|more than 50/);
  const duplicates = set.repeat(3000) + SAMPLE_MESSAGE;
  const dup = await arc.verifyArc(Buffer.from(duplicates, 'latin1'), { resolver });
  assert.equal(dup.result, 'fail');
  assert.match(dup.reason, /ARC set 1 has 3000/);
  assert.ok(performance.now() - started < 5_000);
});

test('DKIM and ARC coexist: a DKIM-signed message sealed by a forwarder keeps both', async () => {
  const zone = resolverFor({
    'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; p=${rsa.p}` }],
    'rsa._domainkey.hop1.example': [{ TXT: `v=DKIM1; p=${rsa.p}` }],
  });
  const signed = signDkim(
    Buffer.from(SAMPLE_MESSAGE),
    [{ domain: 'example.com', selector: 'rsa', privateKey: rsa.privateKey }],
    {
      clock: clockAt(NOW),
    },
  ).message;
  const sealed = arc.sealArc(signed, {
    domain: 'hop1.example',
    selector: 'rsa',
    privateKey: rsa.privateKey,
    authenticationResults: 'mx.hop1.example; dkim=pass header.d=example.com',
    chainValidation: 'none',
    clock: clockAt(NOW),
  });
  assert.ok(sealed.sealed);
  assert.match(sealed.fields.messageSignature, /h=from:subject:date:message-id:to:dkim-signature/);
  assert.equal((await arc.verifyArc(sealed.message, { resolver: zone })).result, 'pass');
});
