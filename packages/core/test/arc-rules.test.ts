/**
 * ARC rules beyond the ValiMail suite: the DKIM time rules the AMS inherits (§4.1.2), key record
 * checks, the order of §5.2 steps 2 and 3, malformed and hostile i= values, the sealer's cv
 * preconditions (§4.4, §5.1), and streaming.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { arc, splitMessage } from '../src/index.js';
import { SAMPLE_MESSAGE, clockAt, ed25519Key, resolverFor, rsaKey } from './support/dkim-keys.js';

const NOW = 1_800_000_000;
const rsa = rsaKey();
const resolver = resolverFor({ 'rsa._domainkey.hop.example': [{ TXT: `v=DKIM1; p=${rsa.p}` }] });

function seal(message: Uint8Array | string, cv: arc.ChainValidation, at = NOW): Uint8Array {
  const result = arc.sealArc(typeof message === 'string' ? Buffer.from(message, 'latin1') : message, {
    domain: 'hop.example',
    selector: 'rsa',
    privateKey: rsa.privateKey,
    authenticationResults: `mx.hop.example; arc=${cv}`,
    chainValidation: cv,
    clock: clockAt(at),
  });
  assert.ok(result.sealed, result.sealed ? '' : result.reason);
  return result.message;
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const verify = (message: string | Uint8Array, options: Partial<arc.ArcVerifyOptions> = {}) =>
  arc.verifyArc(typeof message === 'string' ? Buffer.from(message, 'latin1') : message, { resolver, ...options });

/** The message without the `name` field of ARC set `instance`. */
function dropField(message: string, name: string, instance: number): string {
  const split = splitMessage(Buffer.from(message, 'latin1'));
  assert.ok(split.ok);
  const kept = split.headers.filter((field) => {
    const i = arc.instanceOf(field);
    return !(field.lowerName === name && i.ok && i.value === instance);
  });
  assert.equal(kept.length, split.headers.length - 1);
  return kept.map((field) => `${field.raw}\r\n`).join('') + '\r\n' + latin1(split.body);
}

/** Two valid sets, as text. */
const twoSets = latin1(seal(seal(SAMPLE_MESSAGE, 'none'), 'pass'));

test('t= in the future fails the chain when a clock is given (RFC 6376 §3.5 via RFC 8617 §4.1.2)', async () => {
  const message = seal(SAMPLE_MESSAGE, 'none', NOW + 3600);
  const early = await verify(message, { clock: clockAt(NOW) });
  assert.equal(early.result, 'fail');
  assert.match(early.reason, /ARC-Message-Signature 1: t=\d+ is in the future/);
  // Within the skew, without a clock, or with a larger skew, the chain passes.
  assert.equal((await verify(message, { clock: clockAt(NOW + 3400) })).result, 'pass');
  assert.equal((await verify(message)).result, 'pass');
  assert.equal((await verify(message, { clock: clockAt(NOW), clockSkewSeconds: 7200 })).result, 'pass');
  assert.throws(() => new arc.ArcVerifier([], { resolver, clockSkewSeconds: -1 }), RangeError);
});

test('an AMS x= in the past fails with a clock; x= before t= and a malformed t= or x= are syntax errors', async () => {
  const one = latin1(seal(SAMPLE_MESSAGE, 'none'));
  const withX = (x: string): string => one.replace(/(ARC-Message-Signature: a=rsa-sha256;)/, `$1 x=${x};`);
  const expired = await verify(withX(String(NOW + 10)), { clock: clockAt(NOW + 20) });
  assert.match(expired.reason, /ARC-Message-Signature 1: signature expired at x=/);
  const cases: [string, RegExp][] = [
    [withX(String(NOW - 10)), /ARC-Message-Signature has x=\d+ before t=\d+/],
    [withX('soon'), /ARC-Message-Signature has an invalid x=/],
    [one.replace(/(ARC-Seal: [^]*?)t=(\d+)/, '$1t=$2.5'), /ARC-Seal has an invalid t=/],
    [
      one.replace(/(ARC-Message-Signature: [^]*?)t=(\d+)/, '$1t=1234567890123'),
      /ARC-Message-Signature has an invalid t=/,
    ],
  ];
  for (const [message, reason] of cases) {
    const result = await verify(message, { clock: clockAt(NOW) });
    assert.equal(result.result, 'fail');
    assert.match(result.reason, reason);
  }
});

test('key records: an h= without sha256, a revoked key, another key type, an RSA key under 1024 bits do not validate', async () => {
  const message = seal(SAMPLE_MESSAGE, 'none');
  const small = rsaKey(512);
  const records: [string, RegExp][] = [
    [`v=DKIM1; h=sha1; p=${rsa.p}`, /the key allows h=sha1, not sha256/],
    ['v=DKIM1; p=', /key revoked/],
    [`v=DKIM1; k=ed25519; p=${ed25519Key().p}`, /key type ed25519 does not match a=rsa-sha256/],
    [`v=DKIM1; p=${small.p}`, /512-bit RSA key is under 1024 bits \(RFC 8301\)/],
  ];
  for (const [record, reason] of records) {
    const result = await verify(message, {
      resolver: resolverFor({ 'rsa._domainkey.hop.example': [{ TXT: record }] }),
    });
    assert.equal(result.result, 'fail', record);
    assert.match(result.reason, reason, record);
  }
});

test('§5.2 step 2 comes before step 3: a newest seal saying cv=fail decides, even over a broken structure', async () => {
  const failed = latin1(seal(twoSets.replace('hungry', 'thirsty'), 'fail'));
  assert.match(failed, /cv=fail/);
  const broken = dropField(failed, 'arc-message-signature', 1);
  for (const message of [failed, broken]) {
    const result = await verify(message);
    assert.equal(result.result, 'fail');
    assert.match(result.reason, /the ARC-Seal of instance 3 says cv=fail/);
    assert.equal(result.instances, 3);
    assert.deepEqual(result.sets, []);
  }
});

test('instance values: 1*2DIGIT from 1 to 50 (§3.9, §4.2.1); anything else is a clear failure', async () => {
  const aar = (value: string): string =>
    twoSets.replace('ARC-Authentication-Results: i=2;', `ARC-Authentication-Results: ${value};`);
  const failing: [string, RegExp][] = [
    [aar('i=0'), /i=0 is outside 1\.\.50/],
    [aar('i=51'), /i=51 is outside 1\.\.50/],
    [aar('i=002'), /invalid instance i=002/],
    [aar('i=-2'), /does not start with "i=N;"/],
    [aar('i=2.0'), /does not start with "i=N;"/],
    [aar('i=99999999999999999999'), /invalid instance/],
    [aar('I=2'), /does not start with "i=N;"/],
    [aar('i=1'), /ARC set 1 has 2 ARC-Authentication-Results fields/],
    [twoSets.replace(/\bi=2\b/g, 'i=3'), /ARC set 2 is missing \(instances must run 1\.\.3\)/],
    [twoSets.replace('ARC-Seal: a=', 'ARC-Seal: i=2; a='), /duplicate tag "i"/],
  ];
  for (const [message, reason] of failing) {
    const result = await verify(message);
    assert.equal(result.result, 'fail', String(reason));
    assert.match(result.reason, reason);
  }
  // "02" is a valid position (1*2DIGIT) for instance 2, but it is part of the signed AAR, so the
  // seals no longer verify: the structure is accepted and the signature check decides.
  const padded = await verify(aar('i=02'));
  assert.match(padded.reason, /ARC-Seal 2: signature did not verify/);
});

test('hostile input: 51 well-formed sets, and 1,000 sets with a huge instance, fail fast with a reason', async () => {
  const one = latin1(seal(SAMPLE_MESSAGE, 'none'));
  const set = one.slice(0, one.indexOf('From:'));
  const numbered = (count: number, first = 1): string =>
    Array.from({ length: count }, (_, i) => set.replace(/i=1\b/g, `i=${count + first - 1 - i}`)).join('');
  const started = performance.now();
  const fiftyOne = await verify(numbered(51) + SAMPLE_MESSAGE);
  assert.equal(fiftyOne.result, 'fail');
  assert.match(fiftyOne.reason, /i=51 is outside 1\.\.50/);
  const fifty = await verify(numbered(50) + SAMPLE_MESSAGE);
  assert.equal(fifty.result, 'fail');
  assert.equal(fifty.instances, 50);
  assert.match(fifty.reason, /instance 2 has cv=none, not pass/);
  const huge = await verify(
    Array.from({ length: 1000 }, () => set.replace(/i=1\b/g, 'i=4294967297')).join('') + SAMPLE_MESSAGE,
  );
  assert.match(huge.reason, /invalid instance/);
  assert.ok(performance.now() - started < 5_000);
});

test('sealing preconditions (§4.4, §5.1): cv must match whether a chain arrived', () => {
  const attempt = (message: string, cv: arc.ChainValidation) =>
    arc.sealArc(Buffer.from(message, 'latin1'), {
      domain: 'hop.example',
      selector: 'rsa',
      privateKey: rsa.privateKey,
      authenticationResults: 'mx.hop.example; arc=none',
      chainValidation: cv,
      clock: clockAt(NOW),
    });
  const cases: [string, arc.ChainValidation, RegExp][] = [
    [SAMPLE_MESSAGE, 'pass', /no ARC chain \(cv must be none\)/],
    [twoSets, 'none', /has ARC fields \(cv must be pass or fail\)/],
    [dropField(twoSets, 'arc-seal', 1), 'pass', /ARC set 1 is not intact/],
    [twoSets.replace('cv=none; d=hop.example; i=1;', 'cv=none; d=hop.example; i=x;'), 'pass', /unreadable/],
  ];
  for (const [message, cv, reason] of cases) {
    const result = attempt(message, cv);
    assert.equal(result.sealed, false);
    assert.match(result.sealed ? '' : result.reason, reason);
  }
});

test('a chain with only unreadable ARC fields is sealed as instance 1 with cv=fail, and stays failed', async () => {
  const junk = 'ARC-Seal: garbage\r\n' + SAMPLE_MESSAGE;
  const sealed = seal(junk, 'fail');
  assert.match(latin1(sealed), /^ARC-Seal: [^]*cv=fail; d=hop\.example; i=1;/);
  const result = await verify(sealed);
  assert.equal(result.result, 'fail');
  assert.match(result.reason, /instance 1 says cv=fail/);
});

test('streaming: the body pushed one octet at a time gives the same verdict as verifyArc', async () => {
  const split = splitMessage(Buffer.from(twoSets, 'latin1'));
  assert.ok(split.ok);
  const verifier = new arc.ArcVerifier(split.headers, { resolver });
  for (let i = 0; i < split.body.length; i++) verifier.push(split.body.subarray(i, i + 1));
  const streamed = await verifier.finish();
  assert.deepEqual(streamed, await verify(twoSets));
  assert.equal(streamed.result, 'pass');
  assert.deepEqual(
    streamed.sets.map((s) => [s.instance, s.messageSignature?.ok, s.seal?.ok, s.authenticationResults]),
    [
      [1, true, true, 'mx.hop.example; arc=none'],
      [2, true, true, 'mx.hop.example; arc=pass'],
    ],
  );
});
