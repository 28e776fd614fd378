import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { MAX_RSA_KEY_BITS, parseKeyRecord } from '../src/dkim/key-record.js';
import { dkimpyKeyRecord } from './support/dkim-testdata.js';

// RFC 8463 Appendix A.2 (the TXT strings joined) and RFC 6376 Appendix C.
const RFC8463_ED25519 = 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
const RFC8463_RSA_P =
  'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR' +
  'iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC' +
  'DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3' +
  'Ip3G+2kryOTIKT+l/K4w3QIDAQAB';
const RFC8463_RSA = `v=DKIM1; k=rsa; p=${RFC8463_RSA_P}`;
const RFC6376_C =
  'v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ' +
  'KBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt' +
  'IxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v' +
  '/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhi' +
  'tdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB';
// RFC 8032 §7.1 test 1 public key, the one RFC 8463 uses.
const RFC8032_TEST1_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

function keyOf(text: string) {
  const parsed = parseKeyRecord(text);
  assert.ok(parsed.ok, `expected a key: ${parsed.ok ? '' : parsed.reason}`);
  return parsed.key;
}

function errorOf(text: string) {
  const parsed = parseKeyRecord(text);
  assert.equal(parsed.ok, false, `expected an error for ${text.slice(0, 200)}`);
  return parsed as Extract<typeof parsed, { ok: false }>;
}

function quickly<T>(run: () => T): T {
  const started = performance.now();
  const result = run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  return result;
}

/** DER for an RSAPublicKey with the given modulus and exponent (big-endian bytes). */
function rsaPublicKeyDer(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  const tlv = (tag: number, body: Uint8Array): Uint8Array => {
    const n = body.length;
    const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
    return Uint8Array.from([tag, ...length, ...body]);
  };
  return tlv(0x30, Uint8Array.from([...tlv(0x02, Uint8Array.from([0, ...modulus])), ...tlv(0x02, exponent)]));
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

test('RFC 8463 Appendix A.2 key records parse', () => {
  const ed = keyOf(RFC8463_ED25519);
  assert.equal(ed.version, 'DKIM1');
  assert.equal(ed.keyType, 'ed25519');
  assert.equal(ed.bits, 256);
  assert.equal(ed.revoked, false);
  assert.equal(ed.publicKey?.asymmetricKeyType, 'ed25519');
  const jwk = ed.publicKey?.export({ format: 'jwk' });
  assert.equal(Buffer.from(jwk?.x ?? '', 'base64url').toString('hex'), RFC8032_TEST1_PUBLIC);
  const rsa = keyOf(RFC8463_RSA);
  assert.equal(rsa.keyType, 'rsa');
  assert.equal(rsa.bits, 1024);
  assert.equal(rsa.publicKey?.asymmetricKeyType, 'rsa');
  assert.equal(rsa.hashAlgorithms, undefined);
  assert.deepEqual(rsa.services, ['*']);
  assert.equal(rsa.usableForEmail, true);
  assert.equal(rsa.testing, false);
  assert.equal(rsa.strict, false);
  assert.equal(rsa.notes, undefined);
  assert.equal(rsa.raw, RFC8463_RSA);
});

test('RFC 6376 Appendix C key record parses (k= defaults to rsa)', () => {
  const key = keyOf(RFC6376_C);
  assert.equal(key.keyType, 'rsa');
  assert.equal(key.bits, 1024);
});

test('dkimpy key record fixtures', () => {
  const good = keyOf(dkimpyKeyRecord('test.txt'));
  assert.equal(good.keyType, 'rsa');
  assert.equal(good.bits, 1024);
  assert.equal(good.usableForEmail, true);
  assert.equal(keyOf(dkimpyKeyRecord('test2.txt')).keyType, 'rsa'); // no k=
  const ed = keyOf(dkimpyKeyRecord('ed25519test.dns'));
  assert.equal(ed.keyType, 'ed25519');
  assert.equal(ed.version, undefined);
  assert.equal(keyOf(dkimpyKeyRecord('eximtest.dns')).keyType, 'ed25519');
  const tlsrpt = keyOf(dkimpyKeyRecord('test_tlsrpt.txt'));
  assert.deepEqual(tlsrpt.services, ['tlsrpt']);
  assert.equal(tlsrpt.usableForEmail, false);

  const badk = errorOf(dkimpyKeyRecord('badk.txt'));
  assert.equal(badk.tag, 'k');
  assert.match(badk.reason, /unknown key type k="ed25519-sha256"/);
  const badversion = errorOf(dkimpyKeyRecord('badversion.txt'));
  assert.equal(badversion.tag, 'v');
  assert.match(badversion.reason, /is not DKIM1/);
  const bad = errorOf(dkimpyKeyRecord('test_bad.txt'));
  assert.equal(bad.tag, 'p');
  assert.match(bad.reason, /DER/);
});

test('v= must be exactly DKIM1 and the first tag', () => {
  assert.equal(keyOf(`p=${RFC8463_RSA_P}`).version, undefined);
  for (const version of ['DKIM1.0', 'dkim1', 'DKIM2', '', '"DKIM1"']) {
    const error = errorOf(`v=${version}; p=${RFC8463_RSA_P}`);
    assert.equal(error.tag, 'v', version);
  }
  assert.equal(keyOf(`v=DKIM1 ; p=${RFC8463_RSA_P}`).version, 'DKIM1');
  const notFirst = errorOf(`k=rsa; v=DKIM1; p=${RFC8463_RSA_P}`);
  assert.equal(notFirst.tag, 'v');
  assert.match(notFirst.reason, /first tag/);
});

test('h= lists acceptable hash algorithms; absent means all', () => {
  assert.deepEqual(keyOf(`v=DKIM1; h=sha256; p=${RFC8463_RSA_P}`).hashAlgorithms, ['sha256']);
  assert.deepEqual(keyOf(`v=DKIM1; h=SHA1 : sha256; p=${RFC8463_RSA_P}`).hashAlgorithms, ['sha1', 'sha256']);
  assert.deepEqual(keyOf(`h=sha512; p=${RFC8463_RSA_P}`).hashAlgorithms, ['sha512']);
  for (const bad of ['sha256:', '', ':sha1', 'sha 256', 'sha_256']) {
    assert.equal(errorOf(`h=${bad}; p=${RFC8463_RSA_P}`).tag, 'h', bad);
  }
});

test('k= is rsa (default) or ed25519; anything else is an error', () => {
  assert.equal(keyOf(`k=RSA; p=${RFC8463_RSA_P}`).keyType, 'rsa');
  for (const bad of ['dsa', 'ed448', '', 'rsa-sha256']) {
    const error = errorOf(`k=${bad}; p=${RFC8463_RSA_P}`);
    assert.equal(error.tag, 'k', bad);
  }
});

test('p= empty means revoked; missing p= is an error', () => {
  for (const record of ['v=DKIM1; p=', 'v=DKIM1; k=rsa; p= ;', 'p=\r\n ; n=gone', 'k=ed25519; p=']) {
    const key = keyOf(record);
    assert.equal(key.revoked, true, record);
    assert.equal(key.publicKey, undefined);
    assert.equal(key.bits, undefined);
  }
  const missing = errorOf('v=DKIM1; k=rsa');
  assert.equal(missing.tag, 'p');
  assert.match(missing.reason, /missing required tag p=/);
});

test('p= base64 is strict and may be folded', () => {
  const folded = RFC8463_RSA_P.replace(/(.{60})/g, '$1\r\n ');
  assert.equal(keyOf(`v=DKIM1; p=${folded}`).bits, 1024);
  assert.equal(keyOf(`v=DKIM1; p=${RFC8463_RSA_P.replace(/(.{10})/g, '$1 ')}`).bits, 1024);
  for (const bad of [`${RFC8463_RSA_P}*`, RFC8463_RSA_P.slice(0, -1), `${RFC8463_RSA_P.slice(0, -4)}AQ=B`]) {
    const error = errorOf(`v=DKIM1; p=${bad}`);
    assert.equal(error.tag, 'p');
    assert.match(error.reason, /malformed base64 in p=/);
  }
});

test('rsa p= is SubjectPublicKeyInfo or PKCS#1 RSAPublicKey DER', () => {
  const spki = Buffer.from(RFC8463_RSA_P, 'base64');
  const pkcs1 = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'der', type: 'pkcs1' });
  const key = keyOf(`v=DKIM1; p=${pkcs1.toString('base64')}`);
  assert.equal(key.bits, 1024);
  assert.equal(key.publicKey?.asymmetricKeyType, 'rsa');
  const generated = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
    format: 'der',
    type: 'spki',
  });
  assert.equal(keyOf(`p=${generated.toString('base64')}`).bits, 2048);
  // Short keys parse, with their size: refusing them (RFC 8301 §3.2) is the verifier's decision.
  const short = rsaPublicKeyDer(
    Uint8Array.from({ length: 64 }, (_, i) => (i === 0 ? 0xc1 : i | 1)),
    Uint8Array.of(1, 0, 1),
  );
  assert.equal(keyOf(`p=${b64(short)}`).bits, 512);

  for (const [label, der, pattern] of [
    ['trailing bytes', Uint8Array.from([...spki, 0, 0]), /single DER structure/],
    ['truncated', spki.subarray(0, spki.length - 1), /single DER structure|DER/],
    ['random bytes', Uint8Array.from({ length: 140 }, (_, i) => (i * 37) & 0xff), /DER/],
    ['an INTEGER', Uint8Array.of(0x02, 0x01, 0x05), /DER/],
    ['empty SEQUENCE', Uint8Array.of(0x30, 0x00), /DER/],
  ] as const) {
    const error = errorOf(`v=DKIM1; p=${b64(der)}`);
    assert.equal(error.tag, 'p', label);
    assert.match(error.reason, pattern, label);
  }
  const edSpki = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  assert.match(errorOf(`k=rsa; p=${edSpki.toString('base64')}`).reason, /holds a ed25519 key, but k=rsa/);
});

test(`rsa keys above ${MAX_RSA_KEY_BITS} bits are refused without heavy work`, () => {
  const modulus = Uint8Array.from({ length: 2200 }, (_, i) => (i === 0 ? 0xff : 0x5b));
  const error = quickly(() => errorOf(`p=${b64(rsaPublicKeyDer(modulus, Uint8Array.of(1, 0, 1)))}`));
  assert.match(error.reason, /17600 bits is larger than 16384/);
  const huge = quickly(() => errorOf(`p=${b64(new Uint8Array(8000))}`));
  assert.match(huge.reason, /8000 bytes/);
});

test('ed25519 p= is exactly 32 raw bytes (RFC 8463 §4.2)', () => {
  for (const length of [31, 33, 0x2c]) {
    const error = errorOf(`k=ed25519; p=${b64(new Uint8Array(length).fill(7))}`);
    assert.equal(error.tag, 'p');
    assert.match(error.reason, new RegExp(`${length} bytes; an ed25519 key is 32`));
  }
  // An SPKI-wrapped ed25519 key is not the RFC 8463 form.
  const edSpki = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  assert.match(errorOf(`k=ed25519; p=${edSpki.toString('base64')}`).reason, /44 bytes/);
  // The RSA key with k=ed25519 is refused too.
  assert.equal(errorOf(`k=ed25519; p=${RFC8463_RSA_P}`).tag, 'p');
});

test('s= service types decide whether the key is for email', () => {
  const services = (value: string) => {
    const key = keyOf(`v=DKIM1; s=${value}; p=${RFC8463_RSA_P}`);
    return [key.services, key.usableForEmail];
  };
  assert.deepEqual(services('*'), [['*'], true]);
  assert.deepEqual(services('email'), [['email'], true]);
  assert.deepEqual(services('Email'), [['email'], true]);
  assert.deepEqual(services('tlsrpt:email'), [['tlsrpt', 'email'], true]);
  assert.deepEqual(services('tlsrpt : *'), [['tlsrpt', '*'], true]);
  assert.deepEqual(services('tlsrpt'), [['tlsrpt'], false]);
  for (const bad of ['', 'em ail', 'email:', '**']) {
    assert.equal(errorOf(`s=${bad}; p=${RFC8463_RSA_P}`).tag, 's', bad);
  }
});

test('t= flags: y is testing, s is strict, others are ignored', () => {
  const flags = (value: string) => {
    const key = keyOf(`t=${value}; p=${RFC8463_RSA_P}`);
    return [key.testing, key.strict];
  };
  assert.deepEqual(flags('y'), [true, false]);
  assert.deepEqual(flags('s'), [false, true]);
  assert.deepEqual(flags('y:s'), [true, true]);
  assert.deepEqual(flags('s : y : future-flag'), [true, true]);
  assert.deepEqual(flags('x'), [false, false]);
  assert.deepEqual(keyOf(`p=${RFC8463_RSA_P}`).testing, false);
  for (const bad of ['', 'y:', 'y s', '1']) {
    assert.equal(errorOf(`t=${bad}; p=${RFC8463_RSA_P}`).tag, 't', bad);
  }
});

test('n= notes are kept as written, non-ASCII included; unknown tags are ignored', () => {
  const key = keyOf(`v=DKIM1; n=Caf\xc3\xa9=20keys; g=*; future=1; p=${RFC8463_RSA_P}`);
  assert.equal(key.notes, 'Caf\xc3\xa9=20keys');
  assert.equal(key.bits, 1024);
});

test('tag-list errors make the record unusable', () => {
  for (const bad of ['', 'v=DKIM1; p=a; p=b', 'v=DKIM1;; p=', 'v=DKIM1\r\np=', 'not a record']) {
    const error = errorOf(bad);
    assert.match(error.reason, /key record syntax error at offset \d+/, bad);
  }
});

test('hostile: 64 KB key records end in a result quickly', () => {
  const kb64 = 64 * 1024;
  const base64 = 'AQID'.repeat(kb64 / 4);
  const cases: [string, boolean][] = [
    [`v=DKIM1; k=rsa; p=${base64}`, false],
    [`v=DKIM1; k=ed25519; p=${base64}`, false],
    [`v=DKIM1; p=${base64.slice(1)}`, false],
    [`v=DKIM1; n=${'x'.repeat(kb64)}; p=${RFC8463_RSA_P}`, true],
    [`v=DKIM1; h=${'sha256:'.repeat(kb64 / 7)}sha1; p=${RFC8463_RSA_P}`, true],
    [Array.from({ length: kb64 / 8 }, (_, i) => `x${i}=1`).join(';'), false],
    ['p='.repeat(kb64 / 2), false],
    [`v=DKIM1; p=${'\x00'.repeat(kb64)}`, false],
  ];
  for (const [record, ok] of cases) {
    const parsed = quickly(() => parseKeyRecord(record));
    assert.equal(parsed.ok, ok, record.slice(0, 60));
    if (!parsed.ok) assert.ok(parsed.reason.length > 0 && parsed.reason.length < 300);
  }
});
