/**
 * `npm run bench`: SPF evaluations per second, mailward vs mailauth 4.13.3, on the same in-memory
 * zone (src/zone.ts) with zero-latency DNS on both sides, so only evaluation cost is compared.
 *
 * 1. Correctness: every check is run on both sides; results are printed and compared with each
 *    other and with the RFC 7208 result expected; any difference exits 1 before measuring.
 * 2. Warm-up, then many short alternating timed rounds (order flipped each round), so both sides
 *    see the same machine noise, drift and GC carry-over; the per-round median ratio is printed
 *    next to the overall one. One evaluation = one check_host() of one check; the whole check
 *    set is run per pass.
 *
 * Environment: BENCH_ROUNDS (default 12), BENCH_ROUND_MS (1000), BENCH_WARMUP_MS (1000).
 * Flag --per-check: also measure each check on its own (adds about 13 × 2 × 0.25 s).
 */
import type { DNSResolver } from 'mailauth';
import { spf as mailauthSpf } from 'mailauth/lib/spf/index.js';
import { MemoryResolver, checkMailFrom, parseZone } from '@mailward/core';
import type { SpfOptions } from '@mailward/core';
import type { Check } from './src/zone.js';
import { CHECKS, ZONE } from './src/zone.js';
import { nodeStyleResolver } from './src/mailauth-resolver.js';
import { median } from './src/stats.js';
import { printTable } from './src/table.js';

const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 12);
const ROUND_MS = positiveInt(process.env.BENCH_ROUND_MS, 1000);
const WARMUP_MS = positiveInt(process.env.BENCH_WARMUP_MS, 1000);
const PER_CHECK_MS = 250;
const TARGET_RATIO = 3;
const RECEIVER = 'mx.receiver.test';

interface Side {
  readonly name: 'mailward' | 'mailauth';
  evaluate(check: Check): Promise<string>;
}

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

function buildSides(): Side[] {
  const parsed = parseZone(ZONE);
  if (!parsed.ok) throw new Error(`bench zone does not parse:\n  ${parsed.errors.join('\n  ')}`);
  const options: SpfOptions = { resolver: new MemoryResolver(parsed.zone), clock: Date, receiver: RECEIVER };
  // mailauth's published DNSResolver type leaves out MX objects; the function follows node's real shapes.
  const resolver = nodeStyleResolver(new MemoryResolver(parsed.zone)) as unknown as DNSResolver;
  return [
    {
      name: 'mailward',
      async evaluate(check) {
        const result = await checkMailFrom({ ip: check.ip, mailFrom: check.mailFrom, helo: check.helo }, options);
        return result.result;
      },
    },
    {
      name: 'mailauth',
      async evaluate(check) {
        const result = await mailauthSpf({
          sender: check.mailFrom,
          ip: check.ip,
          helo: check.helo,
          mta: RECEIVER,
          resolver,
        });
        return normalizeMailauth(result.status.result);
      },
    },
  ];
}

/** mailauth's status.result uses the RFC names, except that some code paths say "temperr". */
function normalizeMailauth(result: string): string {
  const lower = result.toLowerCase();
  return lower === 'temperr' ? 'temperror' : lower;
}

async function verify(sides: Side[]): Promise<boolean> {
  console.log(`Correctness: ${CHECKS.length} checks, same zone on both sides\n`);
  const rows = [['#', 'check', 'ip', 'mail from', 'expected', ...sides.map((side) => side.name), '']];
  let ok = true;
  for (const [index, check] of CHECKS.entries()) {
    const results: string[] = [];
    for (const side of sides) results.push(await side.evaluate(check));
    const agree = results.every((result) => result === check.expected);
    ok &&= agree;
    rows.push([
      String(index + 1),
      check.label,
      check.ip,
      check.mailFrom,
      check.expected,
      ...results,
      agree ? 'ok' : 'MISMATCH',
    ]);
  }
  printTable(rows, [0]);
  return ok;
}

interface Run {
  readonly evals: number;
  readonly ms: number;
}

/** Runs the check set over and over for at least `ms`; results are checked so no work is skipped. */
async function runFor(side: Side, checks: readonly Check[], ms: number): Promise<Run> {
  const start = performance.now();
  const deadline = start + ms;
  let evals = 0;
  let now = start;
  do {
    for (const check of checks) {
      const result = await side.evaluate(check);
      if (result !== check.expected)
        throw new Error(`${side.name}: ${check.label}: ${result} during timing, expected ${check.expected}`);
    }
    evals += checks.length;
    now = performance.now();
  } while (now < deadline);
  return { evals, ms: now - start };
}

const perSecond = (run: Run): number => (run.evals * 1000) / run.ms;

const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');

async function main(): Promise<void> {
  const sides = buildSides();
  const [wardSide, authSide] = sides as [Side, Side];
  if (!(await verify(sides))) {
    console.error('\nmailward and mailauth disagree (or differ from the RFC result): not benchmarking.');
    process.exitCode = 1;
    return;
  }

  console.log(`\nWarm-up: ${WARMUP_MS} ms per side`);
  for (const side of sides) await runFor(side, CHECKS, WARMUP_MS / 2);
  for (const side of [...sides].reverse()) await runFor(side, CHECKS, WARMUP_MS / 2);

  console.log(`Measuring: ${ROUNDS} rounds × ${ROUND_MS} ms per side, alternating\n`);
  const runs = new Map<Side['name'], Run[]>(sides.map((side) => [side.name, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) runs.get(side.name)?.push(await runFor(side, CHECKS, ROUND_MS));
  }

  const summary = sides.map((side) => {
    const list = runs.get(side.name) ?? [];
    const total = { evals: list.reduce((n, run) => n + run.evals, 0), ms: list.reduce((n, run) => n + run.ms, 0) };
    const rates = list.map(perSecond);
    return { name: side.name, total, rates, evalsPerSec: perSecond(total) };
  });
  const [ward, auth] = summary as [(typeof summary)[number], (typeof summary)[number]];
  const ratio = ward.evalsPerSec / auth.evalsPerSec;

  printTable(
    [
      ['side', 'evals', 'seconds', 'evals/s', 'µs/eval', 'min round/s', 'max round/s'],
      ...summary.map((side) => [
        side.name,
        fmt(side.total.evals),
        (side.total.ms / 1000).toFixed(2),
        fmt(side.evalsPerSec),
        (1e6 / side.evalsPerSec).toFixed(1),
        fmt(Math.min(...side.rates)),
        fmt(Math.max(...side.rates)),
      ]),
    ],
    [1, 2, 3, 4, 5, 6],
  );
  const verdict = ratio >= TARGET_RATIO ? 'meets' : 'BELOW';
  // Each round runs both sides back to back, so per-round ratios are less exposed to machine drift.
  const roundRatios = ward.rates.map((rate, round) => rate / (auth.rates[round] ?? Number.NaN));
  const medianRatio = median(roundRatios);
  console.log(`\nratio mailward/mailauth: ${ratio.toFixed(2)}× (${verdict} the ${TARGET_RATIO}× target)`);
  console.log(
    `per-round ratios: ${roundRatios.map((r) => `${r.toFixed(2)}×`).join(', ')} (median ${medianRatio.toFixed(2)}×)`,
  );

  let perCheck: { label: string; mailward: number; mailauth: number; ratio: number }[] | undefined;
  if (process.argv.includes('--per-check')) {
    perCheck = [];
    console.log(`\nPer check (${PER_CHECK_MS} ms per side each):\n`);
    for (const check of CHECKS) {
      const w = await runFor(wardSide, [check], PER_CHECK_MS);
      const a = await runFor(authSide, [check], PER_CHECK_MS);
      perCheck.push({
        label: check.label,
        mailward: perSecond(w),
        mailauth: perSecond(a),
        ratio: perSecond(w) / perSecond(a),
      });
    }
    printTable(
      [
        ['check', 'mailward/s', 'mailauth/s', 'ratio'],
        ...perCheck.map((row) => [row.label, fmt(row.mailward), fmt(row.mailauth), `${row.ratio.toFixed(2)}×`]),
      ],
      [1, 2, 3],
    );
  }

  const json = {
    bench: 'spf',
    node: process.version,
    checks: CHECKS.length,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    mailward: {
      evals: ward.total.evals,
      ms: Math.round(ward.total.ms),
      evalsPerSec: Math.round(ward.evalsPerSec),
      rounds: ward.rates.map(Math.round),
    },
    mailauth: {
      evals: auth.total.evals,
      ms: Math.round(auth.total.ms),
      evalsPerSec: Math.round(auth.evalsPerSec),
      rounds: auth.rates.map(Math.round),
    },
    ratio: Number(ratio.toFixed(3)),
    roundRatios: roundRatios.map((r) => Number(r.toFixed(3))),
    medianRoundRatio: Number(medianRatio.toFixed(3)),
    target: TARGET_RATIO,
    meetsTarget: ratio >= TARGET_RATIO,
    ...(perCheck ? { perCheck } : {}),
  };
  console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
}

await main();
