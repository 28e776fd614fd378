/**
 * `npm run bench:dkim-bound`: how close to the DKIM benchmark's floor any implementation in
 * Node.js can get. The floor (bench/dkim.bench.ts) is SHA-256 over the canonical body plus one
 * public-key operation. Two more steps cannot be skipped by an implementation that meets the
 * issue's other requirements, and this measures them on the same messages:
 * - the bare-LF scan: messages read from files may end lines in LF alone, and they are verified
 *   and signed in CRLF form (RFC 6376 §5.3); finding out whether a message has a bare LF takes one
 *   native indexOf per line, the fastest primitive Node.js has for it (a JavaScript loop, a
 *   word-at-a-time loop, string search and regular expressions were all measured slower);
 * - relaxed body canonicalization: the body must be canonicalized before it is hashed. Counted
 *   generously: only its prose part (an implementation can hand WSP-free base64 to the hash
 *   as it is, as mailward does), and at the speed of the smallest JavaScript loop that does the
 *   relaxed rewrite at all (WSP runs to one SP, SP before CRLF dropped; table lookups instead of
 *   branches, no chunk state, no trailing-line rule), which is faster than mailward's
 *   canonicalizer and than every other variant we measured.
 * The bound is floor + scan + canonicalization; bound ÷ floor is the best ratio an implementation
 * could reach if everything else (splitting the header, parsing the signature, canonicalizing
 * the signed header fields, the key lookup) were free.
 *
 * Environment: BENCH_ROUNDS (default 7), BENCH_ROUND_MS (200).
 */
import { Buffer } from 'node:buffer';
import { createHash, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { BodyCanonicalizer, splitMessage } from '@mailward/core';
import type { BenchKey } from './src/dkim-messages.js';
import { DKIM_BENCH_SIZES as SIZES, makeKeys, makeMessage } from './src/dkim-messages.js';
import { median } from './src/stats.js';
import { printTable } from './src/table.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7) || 7;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 200) || 200;
const FLOOR_GOAL = 1.3;

/** Microseconds per call: the median over rounds of at least ROUND_MS each. */
function microseconds(operation: () => unknown): number {
  const perRound: number[] = [];
  for (let round = -1; round < ROUNDS; round++) {
    const start = performance.now();
    let count = 0;
    let now = start;
    do {
      operation();
      count++;
      now = performance.now();
    } while (now - start < ROUND_MS);
    if (round >= 0) perRound.push(((now - start) * 1000) / count); // round -1 warms up
  }
  return median(perRound);
}

/** Counts LFs not preceded by CR, as splitMessage's line-ending check does. */
function bareLineFeeds(bytes: Uint8Array): number {
  let bare = 0;
  for (let lf = bytes.indexOf(0x0a); lf >= 0; lf = bytes.indexOf(0x0a, lf + 1)) {
    if (lf === 0 || bytes[lf - 1] !== 0x0d) bare++;
  }
  return bare;
}

function canonicalize(body: Uint8Array, sink: (bytes: Uint8Array) => void): void {
  const canonicalizer = new BodyCanonicalizer('relaxed', sink, { transientSink: true });
  canonicalizer.push(body);
  canonicalizer.finish();
}

const IS_WSP = Uint8Array.from({ length: 256 }, (_, octet) => (octet === 0x20 || octet === 0x09 ? 1 : 0));
const AS_WRITTEN = Uint8Array.from({ length: 256 }, (_, octet) => (octet === 0x09 ? 0x20 : octet));

/** The least a relaxed body canonicalizer can do per prose octet (see the header comment). */
function minimalRelaxed(prose: Uint8Array, out: Uint8Array): number {
  let end = 0;
  let previousWsp = 0;
  for (let i = 0; i < prose.length; i++) {
    const c = prose[i]!;
    if (c === 0x0d && prose[i + 1] === 0x0a) {
      end -= previousWsp;
      out[end++] = 0x0d;
      out[end++] = 0x0a;
      previousWsp = 0;
      i++;
      continue;
    }
    const wsp = IS_WSP[c]!;
    out[end] = AS_WRITTEN[c]!;
    end += 1 - (wsp & previousWsp);
    previousWsp = wsp;
  }
  return end;
}

/** The benchmark messages' prose: the body up to the base64 attachment (all of it when none). */
function prosePart(body: Uint8Array): Uint8Array {
  const attachment = Buffer.from(body.buffer, body.byteOffset, body.length).indexOf(
    'Content-Transfer-Encoding: base64',
  );
  return attachment < 0 ? body : body.subarray(0, attachment);
}

function publicKeyOperation(op: 'verify' | 'sign', key: BenchKey, data: Buffer, signature: Buffer): () => unknown {
  if (op === 'sign') {
    return key.kind === 'ed25519'
      ? () => cryptoSign(null, createHash('sha256').update(data).digest(), key.privateKey)
      : () => cryptoSign('sha256', data, key.privateKey);
  }
  return key.kind === 'ed25519'
    ? () => cryptoVerify(null, createHash('sha256').update(data).digest(), key.publicKey, signature)
    : () => cryptoVerify('sha256', data, key.publicKey, signature);
}

function main(): void {
  const keys = makeKeys();
  // 700 octets: about what a DKIM-Signature's header data is for the benchmark's messages.
  const headerData = Buffer.alloc(700, 0x61);
  const rows = [
    ['op', 'key', 'body', 'floor µs', '+ LF scan µs', '+ canonicalization µs', 'bound ÷ floor', '≤1.3× possible'],
  ];
  let impossible = 0;
  let cells = 0;
  for (const size of SIZES) {
    const message = makeMessage(size.bytes, size.label, 'mixed');
    const split = splitMessage(message.bytes);
    if (!split.ok) throw new Error(split.message);
    const pieces: Buffer[] = [];
    canonicalize(split.body, (bytes) => pieces.push(Buffer.from(bytes)));
    const canonicalBody = Buffer.concat(pieces);
    if (bareLineFeeds(message.bytes) !== 0) throw new Error('benchmark message has a bare LF');
    const hash = microseconds(() => createHash('sha256').update(canonicalBody).digest());
    const scan = microseconds(() => bareLineFeeds(message.bytes));
    const prose = prosePart(split.body);
    const out = new Uint8Array(prose.length);
    const canonicalization = microseconds(() => minimalRelaxed(prose, out));
    for (const op of ['verify', 'sign'] as const) {
      for (const key of keys) {
        const signature =
          key.kind === 'ed25519'
            ? cryptoSign(null, createHash('sha256').update(headerData).digest(), key.privateKey)
            : cryptoSign('sha256', headerData, key.privateKey);
        const pk = microseconds(publicKeyOperation(op, key, headerData, signature));
        const floor = hash + pk;
        const bound = floor + scan + canonicalization;
        const possible = bound / floor <= FLOOR_GOAL;
        cells++;
        if (!possible) impossible++;
        rows.push([
          op,
          key.label,
          size.label,
          `${(prose.length / 1024).toFixed(1)} KiB`,
          floor.toFixed(1),
          scan.toFixed(1),
          canonicalization.toFixed(1),
          `${(bound / floor).toFixed(2)}×`,
          possible ? 'yes' : 'NO',
        ]);
      }
    }
  }
  console.log(`DKIM lower bound: node ${process.version}, ${ROUNDS} rounds × ${ROUND_MS} ms per measurement\n`);
  printTable(rows, [3, 4, 5, 6, 7]);
  console.log(
    `\nIn ${impossible}/${cells} cells the floor plus these two steps alone is above ${FLOOR_GOAL}× the floor, ` +
      'before any header splitting, signature parsing or header canonicalization.',
  );
}

main();
