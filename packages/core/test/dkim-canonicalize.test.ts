import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { canonicalizeHeader, canonicalizeSignatureHeader, removeSignatureValue } from '../src/dkim/canonicalize.js';
import { findHeaders, headerValue, splitMessage } from '../src/message/index.js';
import type { HeaderField, SplitMessage } from '../src/message/index.js';
import { readTestdataBytes } from './support/testdata.js';

function split(text: string | Uint8Array): SplitMessage {
  const result = splitMessage(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  assert.ok(result.ok);
  return result;
}

// RFC 6376 §3.4.5, Example 1 (header part): "A: <SP> X <CRLF> B <SP> : <SP> Y <HTAB><CRLF> <HTAB> Z <SP><SP><CRLF>"
const RFC_EXAMPLE = 'A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n';

test('RFC 6376 §3.4.5 example header, relaxed and simple', () => {
  const { headers } = split(RFC_EXAMPLE);
  assert.equal(headers.map((h) => canonicalizeHeader(h, 'relaxed')).join(''), 'a:X\r\nb:Y Z\r\n');
  assert.equal(headers.map((h) => canonicalizeHeader(h, 'simple')).join(''), 'A: X\r\nB : Y\t\r\n\tZ  \r\n');
});

test('relaxed header canonicalization, §3.4.2 step by step', () => {
  const relaxed = (raw: string): string => canonicalizeHeader(raw, 'relaxed');
  assert.equal(relaxed('SUBJect: AbC'), 'subject:AbC\r\n', 'only the name is lower-cased');
  assert.equal(relaxed('Subject \t:\t  a  \t b\t'), 'subject:a b\r\n', 'WSP around the colon and at the end');
  assert.equal(relaxed('Subject: a \r\n\t \r\n b'), 'subject:a b\r\n', 'WSP on both sides of folds is one SP');
  assert.equal(relaxed('Subject:\r\n value'), 'subject:value\r\n', 'a fold right after the colon');
  assert.equal(relaxed('X-Empty:'), 'x-empty:\r\n');
  assert.equal(relaxed('X-Empty: \t\r\n \t'), 'x-empty:\r\n');
  assert.equal(
    relaxed('X-\xc4: \xc4\xe9 a\rb'),
    'x-\xc4:\xc4\xe9 a\rb\r\n',
    'ASCII-only case folding; bare CR is data',
  );
  assert.equal(relaxed('To: a:b  c'), 'to:a:b c\r\n', 'only the first colon separates');
  const [field] = split('Received: from x\r\n\tby y;  date\r\n\r\n').headers;
  assert.equal(canonicalizeHeader(field!, 'relaxed'), relaxed(field!.raw));
  assert.equal(canonicalizeHeader(field!, 'relaxed'), 'received:from x by y; date\r\n');
  assert.equal(canonicalizeHeader(field!, 'simple'), 'Received: from x\r\n\tby y;  date\r\n');
});

test('removeSignatureValue empties exactly the b= value', () => {
  const cases: [string, string][] = [
    ['DKIM-Signature: v=1; b=abc; bh=xyz; d=a', 'DKIM-Signature: v=1; b=; bh=xyz; d=a'],
    ['DKIM-Signature: v=1; bh=xyz;\r\n b=ab\r\n cd\r\n ef', 'DKIM-Signature: v=1; bh=xyz;\r\n b='],
    ['DKIM-Signature: v=1; bh=xyz; b = ab cd ;d=x', 'DKIM-Signature: v=1; bh=xyz; b =;d=x'],
    ['DKIM-Signature: b=abc', 'DKIM-Signature: b='],
    ['DKIM-Signature:b=abc;', 'DKIM-Signature:b=;'],
    ['DKIM-Signature: v=1;\r\n\tb=\r\n\t abc\t;\r\n\tbh=b=x', 'DKIM-Signature: v=1;\r\n\tb=;\r\n\tbh=b=x'],
    ['DKIM-Signature: v=1; bh=abc; B=abc; bx=abc', 'DKIM-Signature: v=1; bh=abc; B=abc; bx=abc'],
    ['DKIM-Signature: v=1; b=; bh=abc', 'DKIM-Signature: v=1; b=; bh=abc'],
    ['DKIM-Signature: h=from:to; b=abc; b=def', 'DKIM-Signature: h=from:to; b=; b='],
    ['DKIM-Signature: v=1; z=a|b=c; b=abc', 'DKIM-Signature: v=1; z=a|b=c; b='],
  ];
  for (const [input, expected] of cases) assert.equal(removeSignatureValue(input), expected, JSON.stringify(input));
});

test('canonicalizeSignatureHeader: b= emptied, canonicalized, no trailing CRLF (§3.7 step 2)', () => {
  const raw = 'DKIM-Signature: v=1; a=rsa-sha256;\r\n\tbh=xyz=;\r\n\tb=ab\r\n\t cd=  ';
  assert.equal(canonicalizeSignatureHeader(raw, 'simple'), 'DKIM-Signature: v=1; a=rsa-sha256;\r\n\tbh=xyz=;\r\n\tb=');
  assert.equal(canonicalizeSignatureHeader(raw, 'relaxed'), 'dkim-signature:v=1; a=rsa-sha256; bh=xyz=; b=');
  const [field] = split(raw + '\r\n\r\n').headers;
  assert.equal(canonicalizeSignatureHeader(field!, 'relaxed'), canonicalizeSignatureHeader(raw, 'relaxed'));
});

/** The tags of a DKIM-Signature, FWS removed from values: enough for these fixtures. */
function tagsOf(field: HeaderField): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of headerValue(field).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags.set(part.slice(0, eq).trim(), part.slice(eq + 1).replace(/[ \t\r\n]+/g, ''));
  }
  return tags;
}

/**
 * RFC 6376 §3.7 hash step 2 with this module's canonicalization: the h= fields, each name taking
 * the next instance from the bottom up (§5.4.2; a name with no instance left adds nothing), then
 * the signature field itself with b= emptied.
 */
function signedData(message: SplitMessage, signature: HeaderField): Buffer {
  const tags = tagsOf(signature);
  const mode = (tags.get('c') ?? 'simple').split('/')[0] === 'relaxed' ? 'relaxed' : 'simple';
  const used = new Map<string, number>();
  let data = '';
  for (const name of (tags.get('h') ?? '').split(':')) {
    const lower = name.toLowerCase();
    const index = used.get(lower) ?? 0;
    used.set(lower, index + 1);
    const field = findHeaders(message, lower)[index];
    if (field !== undefined) data += canonicalizeHeader(field, mode);
  }
  data += canonicalizeSignatureHeader(signature, mode);
  return Buffer.from(data, 'latin1');
}

function publicKey(algorithm: string, p: string): KeyObject {
  if (algorithm === 'ed25519-sha256') {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(p, 'base64').toString('base64url') },
      format: 'jwk',
    });
  }
  return createPublicKey({ key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' });
}

function verifies(message: SplitMessage, signature: HeaderField, p: string): boolean {
  const tags = tagsOf(signature);
  const algorithm = tags.get('a') ?? '';
  const data = signedData(message, signature);
  const b = Buffer.from(tags.get('b') ?? '', 'base64');
  // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data, not the data.
  if (algorithm === 'ed25519-sha256')
    return verify(null, createHash('sha256').update(data).digest(), publicKey(algorithm, p), b);
  return verify('sha256', data, publicKey(algorithm, p), b);
}

// Keys: RFC 8463 Appendix A.2 (also dkimpy's test.txt and RFC 8032 §7.1 test 1), Exim's eximtest.dns.
const KEYS: Record<string, string> = {
  brisbane: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=',
  test:
    'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutA' +
    'CDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB',
  sed: 'sPs07Vu29FpHT/80UXUcYHFOHifD4o2ZlP2+XUh9g6E=',
};

test('real signatures verify over these canonical headers (simple and relaxed, ed25519 and rsa)', () => {
  const fixtures: [string[], number][] = [
    [['mimekit', 'UnitTests', 'TestData', 'dkim', 'rfc8463-example.msg'], 2], // relaxed, LF endings
    [['dkimpy', 'dkim', 'tests', 'data', 'rfc6376.signed.msg'], 2], // simple, LF endings
    [['dkimpy', 'dkim', 'tests', 'data', 'ed25519test2.msg'], 1], // relaxed, CRLF, odd folding
  ];
  for (const [path, count] of fixtures) {
    const message = split(readTestdataBytes(...path));
    const signatures = findHeaders(message, 'dkim-signature');
    assert.equal(signatures.length, count, path.join('/'));
    for (const signature of signatures) {
      const selector = tagsOf(signature).get('s') ?? '';
      assert.ok(verifies(message, signature, KEYS[selector] ?? ''), `${path.at(-1)} s=${selector}`);
      // And a changed signed field must not verify: the test can fail.
      const from = findHeaders(message, 'from')[0];
      const edited = { ...message, headers: message.headers.map((h) => (h === from ? { ...h, raw: h.raw + 'x' } : h)) };
      assert.equal(verifies(edited, signature, KEYS[selector] ?? ''), false);
    }
  }
});

/**
 * RFC 6376 §3.4.2 transcribed step by step, character by character, as a reference for the
 * production canonicalizer (which uses native searches and replaces): the two must agree on every
 * field, however its WSP, folds, stray CR/LF and colons are arranged.
 */
function referenceRelaxed(raw: string): string {
  const colon = raw.indexOf(':');
  const name = colon < 0 ? '' : raw.slice(0, colon);
  let value = colon < 0 ? raw : raw.slice(colon + 1);
  // Unfold: delete every CRLF, scanning pairs left to right in one pass.
  let unfolded = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\r' && value[i + 1] === '\n') i++;
    else unfolded += value[i];
  }
  value = unfolded;
  // Each sequence of WSP to a single SP.
  let reduced = '';
  for (let i = 0; i < value.length; i++) {
    const wsp = value[i] === ' ' || value[i] === '\t';
    if (!wsp) reduced += value[i];
    else if (i === 0 || (value[i - 1] !== ' ' && value[i - 1] !== '\t')) reduced += ' ';
  }
  // No WSP at the end of the value, nor around the colon.
  while (reduced.endsWith(' ')) reduced = reduced.slice(0, -1);
  while (reduced.startsWith(' ')) reduced = reduced.slice(1);
  let trimmedName = name;
  while (trimmedName.endsWith(' ') || trimmedName.endsWith('\t')) trimmedName = trimmedName.slice(0, -1);
  const lowerName = trimmedName.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return `${colon < 0 ? '' : `${lowerName}:`}${reduced}\r\n`;
}

test('relaxed header canonicalization agrees with a step-by-step transcription of §3.4.2 (random fields)', () => {
  const tokens = ['a', 'Z', '\xe9', ' ', '\t', '  ', '\r\n', '\r\n\t', '\r\n ', '\r', '\n', ':', ';', '=', 'b=x'];
  let state = 0x2545f491;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  for (let round = 0; round < 5000; round++) {
    let raw = next() < 0.5 ? 'X-Name' : 'Subject \t';
    raw += ':';
    const length = Math.floor(next() * 24);
    for (let k = 0; k < length; k++) raw += tokens[Math.floor(next() * tokens.length)]!;
    assert.equal(canonicalizeHeader(raw, 'relaxed'), referenceRelaxed(raw), `field ${JSON.stringify(raw)}`);
  }
});
