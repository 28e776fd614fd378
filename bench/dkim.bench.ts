/**
 * `npm run bench:dkim` (and the second half of `npm run bench`): DKIM verify and sign throughput,
 * messages per second on one core in one process, for three sides measured in the same run:
 * - mailward: @mailward/core's verifyDkim / signDkim (relaxed/relaxed, default header list);
 * - mailauth 4.13.3: dkimVerify / dkimSign (relaxed/relaxed, default header list), its key lookups
 *   answered from the same in-memory zone with zero latency (src/mailauth-resolver.ts);
 * - floor: node:crypto alone: SHA-256 over the canonical body (canonicalized once, outside the
 *   timed loop) plus one crypto.verify / crypto.sign of the message's real header data. No
 *   implementation can do less.
 * Cells: {verify, sign} × {RSA-2048, Ed25519} × bodies of {2 KB, 20 KB, 200 KB, 2 MB}
 * (src/dkim-messages.ts describes the messages).
 *
 * 1. Correctness first: in every key × size, the message mailward signs must pass with mailward and
 *    with mailauth, the one mailauth signs must pass with both, and the floor's own verify must
 *    pass on mailward's header data and body hash; any disagreement exits 1 before measuring.
 *    A key type that mailauth cannot sign or verify at all is reported as unsupported.
 * 2. Per cell: warm-up, then BENCH_ROUNDS short rounds in which the three sides take turns (the
 *    order rotates each round), so they share the machine's noise. A side's msgs/s is the median of
 *    its per-round rates; the ratios are medians of the per-round ratios.
 *
 * Goals (from the issue): mailward time ÷ floor time ≤ 1.3 in every cell; and mailward speed ≥ 2 ×
 * mailauth's in every cell where mailauth's time is more than 2.6 × the floor's.
 *
 * Environment: BENCH_ROUNDS (default 5), BENCH_ROUND_MS (300), BENCH_WARMUP_MS (150),
 * BENCH_OPS (verify,sign), BENCH_KEYS (rsa2048,ed25519), BENCH_SIZES (2KB,20KB,200KB,2MB),
 * BENCH_BODY (mixed, or text for all-prose bodies).
 */
import { Buffer } from 'node:buffer';
import { createHash, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { DNSResolver } from 'mailauth';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import {
  BodyCanonicalizer,
  HeaderIndex,
  MemoryResolver,
  buildHeaderData,
  parseSignature,
  parseZone,
  signDkim,
  splitMessage,
  verifyDkim,
} from '@mailward/core';
import type { DkimSignature, DkimVerifyOptions, HeaderField } from '@mailward/core';
import type { BenchKey, BenchMessage, BodyShape, KeyKind } from './src/dkim-messages.js';
import { DKIM_BENCH_SIZES as ALL_SIZES, DOMAIN, keyZone, makeKeys, makeMessage } from './src/dkim-messages.js';
import { nodeStyleResolver } from './src/mailauth-resolver.js';
import { median } from './src/stats.js';
import { printTable } from './src/table.js';

const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 5);
const ROUND_MS = positiveInt(process.env.BENCH_ROUND_MS, 300);
const WARMUP_MS = positiveInt(process.env.BENCH_WARMUP_MS, 150);
const BODY: BodyShape = process.env.BENCH_BODY === 'text' ? 'text' : 'mixed';
const FLOOR_GOAL = 1.3;
const MAILAUTH_GOAL = 2;
/** The mailauth goal applies where mailauth's time is more than this many times the floor's. */
const MAILAUTH_GOAL_THRESHOLD = 2.6;
const NOW_SECONDS = 1_715_677_963; // 2024-05-14, the messages' Date
const CLOCK = { now: () => NOW_SECONDS * 1000 };
const NOW_DATE = new Date(NOW_SECONDS * 1000);

type Op = 'verify' | 'sign';
const SIDES = ['mailward', 'mailauth', 'floor'] as const;
type SideName = (typeof SIDES)[number];

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

function listEnv<T extends string>(text: string | undefined, all: readonly T[]): T[] {
  if (text === undefined || text.trim() === '') return [...all];
  const wanted = text.split(',').map((item) => item.trim().toLowerCase());
  const chosen = all.filter((item) => wanted.includes(item.toLowerCase()));
  if (chosen.length === 0) throw new Error(`none of ${text} is one of ${all.join(', ')}`);
  return chosen;
}

/** One operation of one side: resolves to true when the result is the correct one. */
type Operation = () => boolean | Promise<boolean>;

interface Cell {
  readonly op: Op;
  readonly key: BenchKey;
  readonly message: BenchMessage;
  /** Undefined when the side cannot do this cell (mailauth without support for the key type). */
  readonly sides: Readonly<Record<SideName, Operation | undefined>>;
}

/** What the floor needs, derived once from the message mailward signed. */
interface FloorData {
  readonly canonicalBody: Buffer;
  readonly bodyHash: Uint8Array;
  readonly headerData: Buffer;
  readonly signature: Uint8Array;
}

interface Fixture {
  readonly key: BenchKey;
  readonly message: BenchMessage;
  readonly wardSigned: Buffer;
  readonly authSigned: Buffer | undefined;
  readonly floor: FloorData;
}

interface Context {
  readonly wardVerifyOptions: DkimVerifyOptions;
  readonly authResolver: DNSResolver;
}

function signatureField(message: Uint8Array): { field: HeaderField; signature: DkimSignature; headers: HeaderField[] } {
  const split = splitMessage(message);
  if (!split.ok) throw new Error(`signed message does not split: ${split.message}`);
  const field = split.headers.find((header) => header.lowerName === 'dkim-signature');
  if (field === undefined) throw new Error('signed message has no DKIM-Signature');
  const parsed = parseSignature(field.raw.slice(field.raw.indexOf(':') + 1));
  if (!parsed.ok) throw new Error(`DKIM-Signature does not parse: ${parsed.reason}`);
  return { field, signature: parsed.signature, headers: [...split.headers] };
}

function canonicalBody(message: Uint8Array): Buffer {
  const split = splitMessage(message);
  if (!split.ok) throw new Error(split.message);
  const chunks: Buffer[] = [];
  const canonicalizer = new BodyCanonicalizer('relaxed', (bytes) => chunks.push(Buffer.from(bytes)));
  canonicalizer.push(split.body);
  canonicalizer.finish();
  return Buffer.concat(chunks);
}

function floorData(wardSigned: Buffer): FloorData {
  const { field, signature, headers } = signatureField(wardSigned);
  const data = buildHeaderData(new HeaderIndex(headers), signature, field);
  return {
    canonicalBody: canonicalBody(wardSigned),
    bodyHash: signature.bodyHash,
    headerData: Buffer.from(data, 'latin1'),
    signature: signature.signature,
  };
}

function wardSign(message: BenchMessage, key: BenchKey): Buffer {
  const spec = { domain: DOMAIN, selector: key.selector, privateKey: key.privateKey };
  return Buffer.from(signDkim(message.bytes, [spec], { clock: CLOCK }).message);
}

async function authSign(message: BenchMessage, key: BenchKey): Promise<string> {
  const result = await dkimSign(message.bytes, {
    signingDomain: DOMAIN,
    selector: key.selector,
    privateKey: key.privatePem,
    canonicalization: 'relaxed/relaxed',
    signTime: NOW_DATE,
    signatureData: [
      {
        signingDomain: DOMAIN,
        selector: key.selector,
        privateKey: key.privatePem,
        algorithm: key.kind === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256',
        canonicalization: 'relaxed/relaxed',
      },
    ],
  });
  const errors = (result.errors ?? []) as { err?: { message?: string } }[];
  if (errors.length > 0) throw new Error(`mailauth dkimSign: ${errors.map((e) => e.err?.message).join('; ')}`);
  if (!result.signatures.startsWith('DKIM-Signature:')) throw new Error('mailauth dkimSign returned no signature');
  return result.signatures;
}

async function wardVerify(message: Uint8Array, context: Context): Promise<string> {
  const result = await verifyDkim(message, context.wardVerifyOptions);
  return result.signatures.map((s) => `${s.result}${s.result === 'pass' ? '' : ` (${s.reason})`}`).join(', ');
}

async function authVerify(message: Uint8Array, context: Context): Promise<string> {
  const result = await dkimVerify(Buffer.from(message.buffer, message.byteOffset, message.length), {
    resolver: context.authResolver,
    curTime: NOW_DATE,
  });
  return result.results
    .map((r) => `${r.status.result}${r.status.result === 'pass' ? '' : ` (${r.status.comment ?? ''})`}`)
    .join(', ');
}

function floorVerify(key: BenchKey, floor: FloorData): boolean {
  const bodyHash = createHash('sha256').update(floor.canonicalBody).digest();
  const verified =
    key.kind === 'ed25519'
      ? cryptoVerify(null, createHash('sha256').update(floor.headerData).digest(), key.publicKey, floor.signature)
      : cryptoVerify('sha256', floor.headerData, key.publicKey, floor.signature);
  return verified && bodyHash.equals(floor.bodyHash);
}

function floorSign(key: BenchKey, floor: FloorData): boolean {
  const bodyHash = createHash('sha256').update(floor.canonicalBody).digest();
  const signature =
    key.kind === 'ed25519'
      ? cryptoSign(null, createHash('sha256').update(floor.headerData).digest(), key.privateKey)
      : cryptoSign('sha256', floor.headerData, key.privateKey);
  return signature.length > 0 && bodyHash.length === 32;
}

/** Can mailauth sign and verify with this key type at all? (A missing feature, not a disagreement.) */
async function mailauthSupports(key: BenchKey, context: Context): Promise<string | undefined> {
  const probe = makeMessage(2 * 1024, 'probe', 'mixed');
  try {
    const signed = Buffer.concat([Buffer.from(await authSign(probe, key), 'latin1'), probe.bytes]);
    const result = await authVerify(signed, context);
    return result === 'pass' ? undefined : `mailauth verifies its own ${key.label} signature as ${result}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The fields a DKIM-Signature covers that the message has (h= without repeats and absent names). */
function signedSet(message: Uint8Array): string {
  const { signature, headers } = signatureField(message);
  const present = new Set(headers.map((field) => field.lowerName));
  const names = new Set(signature.headers.map((name) => name.toLowerCase()).filter((name) => present.has(name)));
  return [...names].sort().join(':');
}

async function buildFixtures(
  keys: readonly BenchKey[],
  messages: readonly BenchMessage[],
  context: Context,
  unsupported: ReadonlyMap<KeyKind, string>,
): Promise<{ fixtures: Fixture[]; ok: boolean }> {
  console.log('Correctness: every signed message verified by both implementations (and the floor)\n');
  const rows = [['key', 'size', 'signer', 'mailward verifies', 'mailauth verifies', 'floor', '']];
  const fixtures: Fixture[] = [];
  let ok = true;
  let headerNote = '';
  for (const key of keys) {
    const authOk = !unsupported.has(key.kind);
    for (const message of messages) {
      const wardSigned = wardSign(message, key);
      const floor = floorData(wardSigned);
      const floorOk = floorVerify(key, floor);
      const authSigned = authOk
        ? Buffer.concat([Buffer.from(await authSign(message, key), 'latin1'), message.bytes])
        : undefined;
      for (const [signer, signed] of [
        ['mailward', wardSigned],
        ['mailauth', authSigned],
      ] as const) {
        if (signed === undefined) {
          rows.push([key.label, message.label, signer, '-', '-', '-', 'mailauth: unsupported']);
          continue;
        }
        const byWard = await wardVerify(signed, context);
        const byAuth = authOk ? await authVerify(signed, context) : 'unsupported';
        const floorCell = signer === 'mailward' ? (floorOk ? 'pass' : 'FAIL') : '-';
        const good = byWard === 'pass' && (byAuth === 'pass' || !authOk) && floorCell !== 'FAIL';
        ok &&= good;
        rows.push([key.label, message.label, signer, byWard, byAuth, floorCell, good ? 'ok' : 'MISMATCH']);
      }
      if (authSigned !== undefined && headerNote === '') {
        const ward = signedSet(wardSigned);
        const auth = signedSet(authSigned);
        headerNote =
          ward === auth
            ? `Both sign the same header fields: ${ward}`
            : `Signed header fields present in the message:\n  mailward ${ward}\n  mailauth ${auth}`;
      }
      fixtures.push({ key, message, wardSigned, authSigned, floor });
    }
  }
  printTable(rows);
  if (headerNote !== '')
    console.log(`\n${headerNote}\n(mailward also lists absent names to oversign them, which adds no signed data)`);
  return { fixtures, ok };
}

function cellsFor(fixture: Fixture, ops: readonly Op[], context: Context, authOk: boolean): Cell[] {
  const { key, message, wardSigned, floor } = fixture;
  const spec = [{ domain: DOMAIN, selector: key.selector, privateKey: key.privateKey }];
  const cells: Cell[] = [];
  for (const op of ops) {
    if (op === 'verify') {
      const authInput = Buffer.from(wardSigned);
      cells.push({
        op,
        key,
        message,
        sides: {
          mailward: async () =>
            (await verifyDkim(wardSigned, context.wardVerifyOptions)).signatures[0]?.result === 'pass',
          mailauth: authOk
            ? async () =>
                (await dkimVerify(authInput, { resolver: context.authResolver, curTime: NOW_DATE })).results[0]?.status
                  .result === 'pass'
            : undefined,
          floor: () => floorVerify(key, floor),
        },
      });
    } else {
      cells.push({
        op,
        key,
        message,
        sides: {
          mailward: () => signDkim(message.bytes, spec, { clock: CLOCK }).fields.length === 1,
          mailauth: authOk ? async () => (await authSign(message, key)).length > 0 : undefined,
          floor: () => floorSign(key, floor),
        },
      });
    }
  }
  return cells;
}

interface Run {
  readonly count: number;
  readonly ms: number;
}

/** Runs the operation over and over for at least `ms` (at least once); a wrong result throws. */
async function runFor(name: string, operation: Operation, ms: number): Promise<Run> {
  const start = performance.now();
  const deadline = start + ms;
  let count = 0;
  let now = start;
  do {
    const outcome = operation();
    const good = typeof outcome === 'boolean' ? outcome : await outcome;
    if (!good) throw new Error(`${name}: wrong result during timing`);
    count++;
    now = performance.now();
  } while (now < deadline);
  return { count, ms: now - start };
}

const rate = (run: Run): number => (run.count * 1000) / run.ms;

interface CellResult {
  readonly op: Op;
  readonly key: string;
  readonly size: string;
  readonly perSecond: Record<SideName, number | undefined>;
  /** Median per-round mailward time ÷ floor time. */
  readonly wardOverFloor: number;
  /** Median per-round mailward speed ÷ mailauth speed. */
  readonly wardOverAuth: number | undefined;
  /** Median per-round mailauth time ÷ floor time. */
  readonly authOverFloor: number | undefined;
  readonly floorGoal: boolean;
  /** Undefined when the goal does not apply (mailauth within 2.6× of the floor, or unsupported). */
  readonly authGoal: boolean | undefined;
}

async function measure(cell: Cell): Promise<CellResult> {
  const active = SIDES.filter((side) => cell.sides[side] !== undefined);
  const label = `${cell.op} ${cell.key.label} ${cell.message.label}`;
  for (const side of active) await runFor(`${label} ${side}`, cell.sides[side]!, WARMUP_MS);
  const rates = new Map<SideName, number[]>(active.map((side) => [side, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < active.length; k++) {
      const side = active[(round + k) % active.length]!;
      rates.get(side)!.push(rate(await runFor(`${label} ${side}`, cell.sides[side]!, ROUND_MS)));
    }
  }
  const perRound = (fn: (round: number) => number): number =>
    median(Array.from({ length: ROUNDS }, (_, round) => fn(round)));
  const at = (side: SideName, round: number): number => rates.get(side)?.[round] ?? Number.NaN;
  const wardOverFloor = perRound((r) => at('floor', r) / at('mailward', r));
  const authOk = rates.has('mailauth');
  const wardOverAuth = authOk ? perRound((r) => at('mailward', r) / at('mailauth', r)) : undefined;
  const authOverFloor = authOk ? perRound((r) => at('floor', r) / at('mailauth', r)) : undefined;
  const perSecond = Object.fromEntries(
    SIDES.map((side) => [side, rates.has(side) ? median(rates.get(side)!) : undefined]),
  ) as Record<SideName, number | undefined>;
  return {
    op: cell.op,
    key: cell.key.label,
    size: cell.message.label,
    perSecond,
    wardOverFloor,
    wardOverAuth,
    authOverFloor,
    floorGoal: wardOverFloor <= FLOOR_GOAL,
    authGoal:
      authOverFloor === undefined || authOverFloor <= MAILAUTH_GOAL_THRESHOLD
        ? undefined
        : (wardOverAuth ?? 0) >= MAILAUTH_GOAL,
  };
}

const fmtRate = (value: number | undefined): string =>
  value === undefined ? 'unsupported' : value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
const fmtRatio = (value: number | undefined): string => (value === undefined ? '-' : `${value.toFixed(2)}×`);

async function main(): Promise<void> {
  const ops = listEnv<Op>(process.env.BENCH_OPS, ['verify', 'sign']);
  const kinds = listEnv<KeyKind>(process.env.BENCH_KEYS, ['rsa2048', 'ed25519']);
  const sizeLabels = listEnv(
    process.env.BENCH_SIZES,
    ALL_SIZES.map((size) => size.label),
  );
  const keys = makeKeys().filter((key) => kinds.includes(key.kind));
  const messages = ALL_SIZES.filter((size) => sizeLabels.includes(size.label)).map((size) =>
    makeMessage(size.bytes, size.label, BODY),
  );
  const parsed = parseZone(keyZone(keys));
  if (!parsed.ok) throw new Error(`key zone does not parse:\n  ${parsed.errors.join('\n  ')}`);
  const context: Context = {
    wardVerifyOptions: { resolver: new MemoryResolver(parsed.zone), clock: CLOCK },
    authResolver: nodeStyleResolver(new MemoryResolver(parsed.zone)) as unknown as DNSResolver,
  };

  console.log(`DKIM benchmark: node ${process.version}, body shape ${BODY}`);
  console.log(
    `Messages: ${messages.map((m) => `${m.label} (${m.bytes.length.toLocaleString('en-US')} octets, body ${m.bodyBytes.toLocaleString('en-US')})`).join(', ')}\n`,
  );
  const unsupported = new Map<KeyKind, string>();
  for (const key of keys) {
    const problem = await mailauthSupports(key, context);
    if (problem !== undefined) {
      unsupported.set(key.kind, problem);
      console.log(`mailauth 4.13.3 does not support ${key.label}: ${problem}`);
    }
  }
  const { fixtures, ok } = await buildFixtures(keys, messages, context, unsupported);
  if (!ok) {
    console.error('\nA signed message did not pass everywhere: not benchmarking.');
    process.exitCode = 1;
    return;
  }

  const cells = ops.flatMap((op) =>
    fixtures.flatMap((fixture) => cellsFor(fixture, [op], context, !unsupported.has(fixture.key.kind))),
  );
  console.log(
    `\nMeasuring ${cells.length} cells: warm-up ${WARMUP_MS} ms per side, then ${ROUNDS} rounds × ${ROUND_MS} ms per side, rotating\n`,
  );
  const results: CellResult[] = [];
  for (const cell of cells) {
    const result = await measure(cell);
    results.push(result);
    console.log(
      `  ${result.op} ${result.key} ${result.size}: mailward ${fmtRate(result.perSecond.mailward)}/s, ` +
        `mailauth ${fmtRate(result.perSecond.mailauth)}/s, floor ${fmtRate(result.perSecond.floor)}/s`,
    );
  }

  console.log(
    `\nmsgs/s are medians of per-round rates; ratios are medians of per-round ratios.\n` +
      `×floor = mailward time ÷ floor time (goal ≤ ${FLOOR_GOAL}); ×mailauth = mailward speed ÷ mailauth speed ` +
      `(goal ≥ ${MAILAUTH_GOAL} where mailauth time ÷ floor time > ${MAILAUTH_GOAL_THRESHOLD})\n`,
  );
  printTable(
    [
      [
        'op',
        'key',
        'body',
        'mailward/s',
        'mailauth/s',
        'floor/s',
        '×floor',
        'mailauth×floor',
        '×mailauth',
        `≤${FLOOR_GOAL}× floor`,
        `≥${MAILAUTH_GOAL}× mailauth`,
      ],
      ...results.map((r) => [
        r.op,
        r.key,
        r.size,
        fmtRate(r.perSecond.mailward),
        fmtRate(r.perSecond.mailauth),
        fmtRate(r.perSecond.floor),
        fmtRatio(r.wardOverFloor),
        fmtRatio(r.authOverFloor),
        fmtRatio(r.wardOverAuth),
        r.floorGoal ? 'met' : 'MISSED',
        r.authGoal === undefined
          ? r.authOverFloor === undefined
            ? 'mailauth unsupported'
            : 'n/a'
          : r.authGoal
            ? 'met'
            : 'MISSED',
      ]),
    ],
    [3, 4, 5, 6, 7, 8],
  );
  const floorMet = results.filter((r) => r.floorGoal).length;
  const authApplies = results.filter((r) => r.authGoal !== undefined);
  console.log(
    `\nfloor goal met in ${floorMet}/${results.length} cells; mailauth goal met in ` +
      `${authApplies.filter((r) => r.authGoal).length}/${authApplies.length} cells where it applies`,
  );
  for (const [kind, problem] of unsupported) console.log(`mailauth unsupported for ${kind}: ${problem}`);

  const round = (value: number | undefined): number | null =>
    value === undefined ? null : Number(value.toFixed(value >= 100 ? 0 : 3));
  const json = {
    bench: 'dkim',
    node: process.version,
    body: BODY,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    cells: results.map((r) => ({
      op: r.op,
      key: r.key,
      size: r.size,
      mailward: round(r.perSecond.mailward),
      mailauth: round(r.perSecond.mailauth),
      floor: round(r.perSecond.floor),
      wardOverFloor: round(r.wardOverFloor),
      authOverFloor: round(r.authOverFloor),
      wardOverAuth: round(r.wardOverAuth),
      floorGoal: r.floorGoal,
      authGoal: r.authGoal ?? null,
    })),
  };
  console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
}

await main();
