import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { BodyCanonicalizer } from '../src/dkim/body-canonicalizer.js';
import { BodyHasher, BodyHashSet } from '../src/dkim/body-hash.js';
import type { BodyHashKey } from '../src/dkim/body-hash.js';
import { findHeaders, headerValue, splitMessage } from '../src/message/index.js';
import type { HeaderField } from '../src/message/index.js';
import { readTestdataBytes } from './support/testdata.js';

type Mode = 'simple' | 'relaxed';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

/**
 * The obviously-correct reference (§3.4.3, §3.4.4) on strings: cut into CRLF-terminated lines
 * plus an unterminated rest, reduce WSP per line (relaxed), terminate the rest, drop trailing
 * empty lines, then the empty-body rule of each algorithm.
 */
function referenceCanonical(body: string, mode: Mode): string {
  const lines = body.split('\r\n');
  const rest = lines.pop() ?? '';
  const reduce = (line: string): string => (mode === 'relaxed' ? line.replace(/[ \t]+/g, ' ').replace(/ $/, '') : line);
  const canonical = lines.map(reduce);
  const last = reduce(rest);
  if (last !== '') canonical.push(last);
  while (canonical.length > 0 && canonical.at(-1) === '') canonical.pop();
  if (canonical.length === 0) return mode === 'simple' ? '\r\n' : '';
  return canonical.map((line) => line + '\r\n').join('');
}

/** Runs the streaming canonicalizer over chunks; returns the output and the largest sink buffer. */
function canonicalize(chunks: Uint8Array[], mode: Mode): { text: string; largest: number; length: number } {
  const out: Uint8Array[] = [];
  let largest = 0;
  const canonicalizer = new BodyCanonicalizer(mode, (data) => {
    out.push(data);
    largest = Math.max(largest, data.length);
  });
  for (const chunk of chunks) canonicalizer.push(chunk);
  canonicalizer.finish();
  const all = Buffer.concat(out);
  return { text: all.toString('latin1'), largest, length: all.length };
}

const oneShot = (body: string, mode: Mode): string => canonicalize([bytes(body)], mode).text;

function quickly<T>(what: string, run: () => T): T {
  const started = performance.now();
  const result = run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 5000, `${what} took ${elapsed.toFixed(0)} ms`);
  return result;
}

function sha256(text: string): string {
  return createHash('sha256').update(bytes(text)).digest('base64');
}

test('RFC 6376 §3.4.5 example body, relaxed and simple', () => {
  const body = ' C \r\nD \t E\r\n\r\n\r\n';
  assert.equal(oneShot(body, 'relaxed'), ' C\r\nD E\r\n');
  assert.equal(oneShot(body, 'simple'), ' C \r\nD \t E\r\n');
});

test('empty body: simple is CRLF, relaxed is empty, with the hashes §3.4.3 and §3.4.4 print', () => {
  assert.equal(oneShot('', 'simple'), '\r\n');
  assert.equal(oneShot('', 'relaxed'), '');
  const hash = (key: BodyHashKey, body = ''): string => {
    const hasher = new BodyHasher(key);
    hasher.push(bytes(body));
    return hasher.finish().base64;
  };
  assert.equal(hash({ canonicalization: 'simple', algorithm: 'sha1' }), 'uoq1oCgLlTqpdDX/iUbLy7J1Wic=');
  assert.equal(
    hash({ canonicalization: 'simple', algorithm: 'sha256' }),
    'frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=',
  );
  assert.equal(hash({ canonicalization: 'relaxed', algorithm: 'sha1' }), '2jmj7l5rSw0yVb/vlWAYkK/YBwk=');
  assert.equal(
    hash({ canonicalization: 'relaxed', algorithm: 'sha256' }),
    '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  );
  // Bodies that canonicalize to the empty body hash the same.
  assert.equal(
    hash({ canonicalization: 'simple', algorithm: 'sha256' }, '\r\n\r\n\r\n'),
    'frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=',
  );
  assert.equal(
    hash({ canonicalization: 'relaxed', algorithm: 'sha256' }, ' \t\r\n \r\n\t'),
    '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  );
});

test('edge bodies', () => {
  const cases: [string, string, string][] = [
    // [body, simple, relaxed]
    ['\r\n\r\n\r\n', '\r\n', ''],
    ['abc', 'abc\r\n', 'abc\r\n'],
    ['abc  \t', 'abc  \t\r\n', 'abc\r\n'],
    ['a\r\n\r\nb\r\n\r\n', 'a\r\n\r\nb\r\n', 'a\r\n\r\nb\r\n'],
    ['a \r\n  \r\n\t\r\n', 'a \r\n  \r\n\t\r\n', 'a\r\n'],
    ['  lead\t\t mid  \r\n', '  lead\t\t mid  \r\n', ' lead mid\r\n'],
    ['a\rb\r\n', 'a\rb\r\n', 'a\rb\r\n'],
    ['a \r b\r\n', 'a \r b\r\n', 'a \r b\r\n'],
    ['abc\r', 'abc\r\r\n', 'abc\r\r\n'],
    ['\r', '\r\r\n', '\r\r\n'],
    ['\r\r\n\r\n', '\r\r\n', '\r\r\n'],
    ['a\nb\n', 'a\nb\n\r\n', 'a\nb\n\r\n'],
    ['x\r\n \r\ny', 'x\r\n \r\ny\r\n', 'x\r\n\r\ny\r\n'],
  ];
  for (const [body, simple, relaxed] of cases) {
    assert.equal(oneShot(body, 'simple'), simple, `simple ${JSON.stringify(body)}`);
    assert.equal(oneShot(body, 'relaxed'), relaxed, `relaxed ${JSON.stringify(body)}`);
    assert.equal(referenceCanonical(body, 'simple'), simple, `reference simple ${JSON.stringify(body)}`);
    assert.equal(referenceCanonical(body, 'relaxed'), relaxed, `reference relaxed ${JSON.stringify(body)}`);
  }
});

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'a',
  'b',
  'xyz',
  ' ',
  '\t',
  '  ',
  ' \t ',
  '\r',
  '\n',
  '\r\n',
  '\r\n',
  '\r\n\r\n',
  ' \r\n',
  '\r\r\n',
  '\xe9',
];

function randomBody(next: () => number): string {
  const parts: string[] = [];
  const count = Math.floor(next() * 120);
  for (let i = 0; i < count; i++) parts.push(PIECES[Math.floor(next() * PIECES.length)]!);
  return parts.join('');
}

/** 1..50 chunks at random points (empty chunks included), often cutting a CRLF in two. */
function randomChunks(data: Uint8Array, next: () => number): Uint8Array[] {
  const cuts = new Set<number>();
  const wanted = Math.floor(next() * 50);
  for (let i = 0; i < wanted; i++) cuts.add(Math.floor(next() * (data.length + 1)));
  for (let i = 1; i < data.length; i++) if (data[i - 1] === 0x0d && data[i] === 0x0a && next() < 0.5) cuts.add(i);
  const points = [...cuts].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(data.subarray(from, point));
    if (next() < 0.1) chunks.push(new Uint8Array(0));
    from = point;
  }
  chunks.push(data.subarray(from));
  return chunks.slice(0, 50);
}

test('property: any chunking gives the reference canonical form and the same body hash', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const next = random(seed);
    const body = randomBody(next);
    const data = bytes(body);
    let chunks = randomChunks(data, next);
    if (Buffer.concat(chunks).length !== data.length) chunks = [data]; // more than 50 cuts were trimmed
    for (const mode of ['simple', 'relaxed'] as const) {
      const expected = referenceCanonical(body, mode);
      const label = `seed ${seed} ${mode} ${JSON.stringify(body)}`;
      assert.equal(canonicalize(chunks, mode).text, expected, label);
      assert.equal(oneShot(body, mode), expected, label);

      const length = next() < 0.5 ? undefined : Math.floor(next() * (expected.length + 5));
      const hasher = new BodyHasher({ canonicalization: mode, algorithm: 'sha256', length });
      for (const chunk of chunks) hasher.push(chunk);
      const result = hasher.finish();
      const hashed = length === undefined ? expected : expected.slice(0, length);
      assert.equal(result.base64, sha256(hashed), label);
      assert.deepEqual(result.digest, createHash('sha256').update(bytes(hashed)).digest(), label);
      assert.equal(result.hashedLength, hashed.length, label);
      assert.equal(result.canonicalLength, expected.length, label);
    }
  }
});

test('l= hashes a prefix of the canonical body and still counts all of it (§3.5, §8.2)', () => {
  const body = 'line one\r\nline two\r\n\r\n';
  const canonical = 'line one\r\nline two\r\n';
  for (const [length, hashed] of [
    [0, ''],
    [4, 'line'],
    [canonical.length, canonical],
    [canonical.length + 100, canonical],
  ] as const) {
    const hasher = new BodyHasher({ canonicalization: 'simple', algorithm: 'sha1', length });
    hasher.push(bytes(body));
    const result = hasher.finish();
    assert.equal(result.base64, createHash('sha1').update(hashed).digest('base64'));
    assert.deepEqual([result.hashedLength, result.canonicalLength], [hashed.length, canonical.length]);
  }
  assert.throws(() => new BodyHasher({ canonicalization: 'simple', algorithm: 'sha1', length: -1 }), RangeError);
  assert.throws(() => new BodyHasher({ canonicalization: 'simple', algorithm: 'sha1', length: 1.5 }), RangeError);
});

test('BodyHashSet shares hashes and canonicalizers, and matches separate hashers', () => {
  const keys: BodyHashKey[] = [
    { canonicalization: 'relaxed', algorithm: 'sha256' },
    { canonicalization: 'relaxed', algorithm: 'sha256' },
    { canonicalization: 'relaxed', algorithm: 'sha256', length: 10 },
    { canonicalization: 'simple', algorithm: 'sha256' },
    { canonicalization: 'simple', algorithm: 'sha1' },
    { canonicalization: 'relaxed', algorithm: 'sha1', length: 0 },
  ];
  const body = bytes('Hello  world \r\n\tindented\r\n\r\n');
  const set = new BodyHashSet();
  const handles = keys.map((key) => set.request(key));
  assert.throws(() => handles[0]!.result(), /before finish/);
  set.push(body.subarray(0, 7));
  assert.throws(() => set.request(keys[0]!), /after push/);
  set.push(body.subarray(7));
  set.finish();
  keys.forEach((key, i) => {
    const single = new BodyHasher(key);
    single.push(body);
    assert.deepEqual(handles[i]!.result(), single.finish(), JSON.stringify(key));
  });
  assert.equal(handles[0]!.result(), handles[1]!.result(), 'one hash for equal keys');
  const empty = new BodyHashSet();
  empty.finish();
});

test('push after finish is a bug and throws', () => {
  const canonicalizer = new BodyCanonicalizer('simple', () => undefined);
  canonicalizer.finish();
  assert.throws(() => canonicalizer.push(bytes('x')));
  assert.throws(() => canonicalizer.finish());
});

test('hostile bodies stay linear and the sink gets bounded buffers', () => {
  const line = new Uint8Array(10 * 1024 * 1024).fill(0x61);
  for (const mode of ['simple', 'relaxed'] as const) {
    const result = quickly(`10 MB line ${mode}`, () => canonicalize([line], mode));
    assert.equal(result.length, line.length + 2);
    assert.ok(result.largest <= 64 * 1024, `sink buffer of ${result.largest} bytes`);
  }

  const spaces = new Uint8Array(5_000_000).fill(0x20);
  const spaced = bytes('a');
  assert.equal(quickly('spaces relaxed', () => canonicalize([spaced, spaces, spaced], 'relaxed')).text, 'a a\r\n');
  assert.equal(quickly('spaces simple', () => canonicalize([spaces], 'simple')).length, 5_000_002);

  const empty = bytes('\r\n'.repeat(2_000_000));
  assert.equal(quickly('empty lines relaxed', () => canonicalize([spaced, empty], 'relaxed')).text, 'a\r\n');
  assert.equal(quickly('empty lines simple', () => canonicalize([empty], 'simple')).text, '\r\n');
  const inside = quickly('empty lines then text', () => canonicalize([empty, spaced], 'simple'));
  assert.equal(inside.length, empty.length + 3);
  assert.ok(inside.largest <= 64 * 1024);

  const small = [...bytes('ab \r\n')].map((b) => Uint8Array.of(b));
  const many = quickly('one-byte chunks', () => {
    const hasher = new BodyHasher({ canonicalization: 'relaxed', algorithm: 'sha256' });
    for (let i = 0; i < 200_000; i++) for (const chunk of small) hasher.push(chunk);
    return hasher.finish();
  });
  assert.equal(many.canonicalLength, 200_000 * 4);
});

/** c=, a= and bh= (FWS removed) of a DKIM-Signature. */
function signatureTags(field: HeaderField): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of headerValue(field).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags.set(part.slice(0, eq).trim(), part.slice(eq + 1).replace(/[ \t\r\n]+/g, ''));
  }
  return tags;
}

test('body hashes of published messages equal their bh= (dkimpy, MimeKit, RFC 8463)', () => {
  const fixtures = [
    ['dkimpy', 'dkim', 'tests', 'data', 'rfc6376.signed.msg'],
    ['dkimpy', 'dkim', 'tests', 'data', 'test2.message'],
    ['dkimpy', 'dkim', 'tests', 'data', 'ed25519test2.msg'],
    ['dkimpy', 'dkim', 'tests', 'data', 'message.mbox'],
    ['mimekit', 'UnitTests', 'TestData', 'dkim', 'rfc8463-example.msg'],
    ['mimekit', 'UnitTests', 'TestData', 'dkim', 'gmail.msg'],
    ['mimekit', 'UnitTests', 'TestData', 'dkim', 'multipart-no-end-boundary.msg'],
    ['mimekit', 'UnitTests', 'TestData', 'dkim', 'related.msg'],
  ];
  let checked = 0;
  for (const path of fixtures) {
    const message = splitMessage(readTestdataBytes(...path));
    assert.ok(message.ok);
    for (const signature of findHeaders(message, 'dkim-signature')) {
      const tags = signatureTags(signature);
      const canonicalization = (tags.get('c') ?? 'simple/simple').split('/')[1] === 'relaxed' ? 'relaxed' : 'simple';
      const algorithm = tags.get('a')?.endsWith('sha1') ? 'sha1' : 'sha256';
      const l = tags.get('l');
      const hasher = new BodyHasher({ canonicalization, algorithm, length: l === undefined ? undefined : Number(l) });
      // Streamed in odd-sized chunks, as a milter would.
      for (let i = 0; i < message.body.length; i += 997) hasher.push(message.body.subarray(i, i + 997));
      assert.equal(hasher.finish().base64, tags.get('bh'), `${path.at(-1)} c=${tags.get('c')}`);
      checked++;
    }
  }
  assert.equal(checked, 10);
});

test('dkimpy test.message (unsigned): body hash as computed independently', () => {
  // Body "This is a test message.\n" → CRLF; the same under both algorithms. Expected value from
  // `printf 'This is a test message.\r\n' | openssl dgst -sha256 -binary | base64`.
  const message = splitMessage(readTestdataBytes('dkimpy', 'dkim', 'tests', 'data', 'test.message'));
  assert.ok(message.ok);
  assert.equal(message.lineEndings, 'lf-converted');
  for (const canonicalization of ['simple', 'relaxed'] as const) {
    const hasher = new BodyHasher({ canonicalization, algorithm: 'sha256' });
    hasher.push(message.body);
    assert.equal(hasher.finish().base64, 'wE7NXSkgnx9PGiavN4OZhJztvkqPDlemV3OGuEnLwNo=');
  }
});

/** Long pieces: stretches past the size handed over as views (VIEW_MIN), prose, and WSP to rewrite. */
const LONG_PIECES = [
  'lorem ipsum dolor sit amet, consectetur adipiscing elit '.repeat(12),
  'TWFpbHdhcmUgYmFzZTY0IGxpbmUgb2YgYXR0YWNobWVudCBkYXRh'.repeat(10),
  'x'.repeat(700),
  ' ',
  '  ',
  '\t',
  ' \r\n',
  '\r\n',
  '\r\n\r\n',
  '\r',
  'word ',
];

test('property: long stretches with single spaces, beside WSP runs and line breaks, at any chunking', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const next = random(seed * 7919);
    const parts: string[] = [];
    const count = Math.floor(next() * 40);
    for (let i = 0; i < count; i++) parts.push(LONG_PIECES[Math.floor(next() * LONG_PIECES.length)]!);
    const body = parts.join('');
    const data = bytes(body);
    let chunks = randomChunks(data, next);
    if (Buffer.concat(chunks).length !== data.length) chunks = [data];
    for (const mode of ['simple', 'relaxed'] as const) {
      const label = `seed ${seed} ${mode}`;
      assert.equal(canonicalize(chunks, mode).text, referenceCanonical(body, mode), label);
      assert.equal(oneShot(body, mode), referenceCanonical(body, mode), label);
    }
  }
});

test('hash-fed canonicalizers share one scratch buffer: streams interleaved chunk by chunk stay apart', () => {
  // Bodies larger than the 64 KiB batch, so the scratch buffer is also reused within one push().
  const next = random(7);
  const bodies = Array.from({ length: 3 }, () => randomBody(next).repeat(400) + 'end  \r\n');
  const chunked = bodies.map((body) => {
    const chunks = randomChunks(bytes(body), next);
    // randomChunks keeps at most 50 pieces; add what it left off.
    const covered = Buffer.concat(chunks).length;
    return covered === body.length ? chunks : [...chunks, bytes(body).subarray(covered)];
  });
  const sets = bodies.map(() => new BodyHashSet());
  const handles = sets.map((set) => ({
    relaxed: set.request({ canonicalization: 'relaxed', algorithm: 'sha256' }),
    simple: set.request({ canonicalization: 'simple', algorithm: 'sha256' }),
  }));
  const longest = Math.max(...chunked.map((chunks) => chunks.length));
  for (let k = 0; k < longest; k++) {
    chunked.forEach((chunks, i) => {
      const chunk = chunks[k];
      if (chunk !== undefined) sets[i]!.push(chunk);
    });
  }
  sets.forEach((set) => set.finish());
  bodies.forEach((body, i) => {
    assert.equal(handles[i]!.relaxed.result().base64, sha256(referenceCanonical(body, 'relaxed')), `body ${i} relaxed`);
    assert.equal(handles[i]!.simple.result().base64, sha256(referenceCanonical(body, 'simple')), `body ${i} simple`);
  });
});

test('a transient sink that pushes into another transient canonicalizer: each keeps its own output', () => {
  const inner: Uint8Array[] = [];
  const relaxed = new BodyCanonicalizer('relaxed', (bytes) => inner.push(Buffer.from(bytes)), {
    transientSink: true,
  });
  const simple = new BodyCanonicalizer('simple', (bytes) => relaxed.push(bytes), { transientSink: true });
  simple.push(bytes('a '));
  simple.push(bytes('b'));
  simple.finish();
  relaxed.finish();
  // simple gives "a b\r\n"; relaxed of that is the same.
  assert.equal(Buffer.concat(inner).toString('latin1'), 'a b\r\n');
});
