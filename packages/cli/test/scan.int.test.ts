/**
 * `mailward scan` over real DNS: 10,000 generated domains served by Knot behind a proxy that drops
 * every query about a third of them (a resolver that times out). The scan is killed with SIGKILL
 * in the middle and run again: every domain ends up exactly once in the results file and in the
 * NDJSON output; the timed-out domains are reported with lookup failures, and the scan goes on.
 * The second run retries those the first one could not check (they time out again), and rewrites
 * the NDJSON output, still with one line per domain.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Buffer } from 'node:buffer';
import Database from 'better-sqlite3';
import { parseZone } from '@mailward/core';
import type { DroppingProxy, KnotServer } from '@mailward/testkit';
import { renderZone, startDroppingProxy, startKnot } from '@mailward/testkit';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const DOMAINS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'mailward-scan-'));
let knot: KnotServer;
let proxy: DroppingProxy;

const slow = (i: number) => i % 3 === 0;

before(async () => {
  const zone: Record<string, unknown[]> = {
    'mx.scan.test': [{ A: '192.0.2.25' }],
    '25.2.0.192.in-addr.arpa': [{ PTR: 'mx.scan.test' }],
  };
  for (let i = 0; i < DOMAINS; i += 1) {
    const d = `d${i}.scan.test`;
    zone[d] = [{ TXT: i % 5 === 0 ? 'v=spf1 +all' : 'v=spf1 mx -all' }, { MX: [10, 'mx.scan.test'] }];
    zone[`_dmarc.${d}`] = [{ TXT: i % 2 === 0 ? 'v=DMARC1; p=reject; rua=mailto:r@scan.test' : 'v=DMARC1; p=none' }];
  }
  const parsed = parseZone(zone);
  assert.ok(parsed.ok);
  knot = await startKnot({
    zones: [{ origin: '.', text: renderZone(parsed.zone, { origin: '.' }) }],
    readyTimeoutMs: 60_000,
  });
  proxy = await startDroppingProxy({
    upstream: knot,
    drop: (q) => {
      const match = /(?:^|\.)d(\d+)\.scan\.test$/.exec(q.name);
      return match !== null && slow(Number(match[1]));
    },
  });
  const lines = Array.from({ length: DOMAINS }, (_, i) => `d${i}.scan.test`);
  // Garbage, a 300-character name, an IDN and duplicates are mixed in.
  lines.splice(10, 0, 'this is not a domain', 'x'.repeat(300), 'd5.scan.test', 'D7.SCAN.TEST.');
  writeFileSync(join(dir, 'domains.txt'), `${lines.join('\n')}\n`);
});

after(async () => {
  await proxy?.stop();
  await knot?.stop();
});

function scan(): { child: ReturnType<typeof spawn>; output: () => string; done: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'scan',
      join(dir, 'domains.txt'),
      '--db',
      join(dir, 'results.db'),
      '--out',
      join(dir, 'results.ndjson'),
      '--dns',
      `${proxy.host}:${proxy.port}`,
      '--dns-timeout',
      '300',
      '--concurrency',
      '64',
      '--time-budget',
      '3000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output, done: new Promise((resolve) => child.once('exit', resolve)) };
}

const rowsInDb = (where = '1'): number => {
  try {
    const db = new Database(join(dir, 'results.db'), { readonly: true, fileMustExist: true });
    const n = (db.prepare(`SELECT COUNT(*) AS n FROM scan_results WHERE ${where}`).get() as { n: number }).n;
    db.close();
    return n;
  } catch {
    return 0;
  }
};

test('a scan killed in the middle and resumed: every domain exactly once; timeouts reported, the scan goes on', async () => {
  const first = scan();
  const started = Date.now();
  while (rowsInDb() < DOMAINS / 3) {
    assert.ok(Date.now() - started < 300_000, `no progress:\n${first.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  first.child.kill('SIGKILL');
  await first.done;
  const atKill = rowsInDb();
  assert.ok(atKill < DOMAINS, 'the kill came too late to test resuming');
  const failedAtKill = rowsInDb("status = 'dns-failed'");
  assert.ok(failedAtKill > 0);

  const second = scan();
  assert.equal(await second.done, 0, second.output());
  assert.match(second.output(), /2 lines skipped:\n {2}line 11: not a domain name/);
  // Every failed domain is retried. The dropped third stays failed; on a loaded machine a domain
  // that merely timed out in the first run (300 ms per attempt) may pass on its retry.
  const retried = /\nRetried (\d+) domains that could not be checked before: (\d+) checked now, (\d+) still/.exec(
    second.output(),
  );
  assert.ok(retried, second.output());
  const [retriedCount, checkedNow, stillFailed] = retried.slice(1).map(Number) as [number, number, number];
  assert.equal(retriedCount, failedAtKill);
  assert.equal(checkedNow + stillFailed, failedAtKill);
  assert.ok(stillFailed > 0 && checkedNow < failedAtKill / 2, second.output());

  const db = new Database(join(dir, 'results.db'), { readonly: true });
  const domains = (db.prepare('SELECT domain FROM scan_results').all() as { domain: string }[]).map((r) => r.domain);
  const slowFailures = db
    .prepare(`SELECT COUNT(*) AS n FROM scan_results WHERE audit_json LIKE '%spf-lookup-failed%'`)
    .get() as { n: number };
  db.close();
  assert.equal(domains.length, DOMAINS);
  assert.equal(new Set(domains).size, DOMAINS);
  // The dropped third, plus (on a loaded machine) the few that timed out twice.
  assert.ok(
    slowFailures.n >= Math.ceil(DOMAINS / 3) && slowFailures.n <= Math.ceil(DOMAINS / 3) + DOMAINS / 100,
    String(slowFailures.n),
  );

  const lines = readFileSync(join(dir, 'results.ndjson'), 'utf8').trimEnd().split('\n');
  const written = lines.map((l) => (JSON.parse(l) as { domain: string }).domain);
  assert.equal(written.length, DOMAINS, 'one NDJSON line per domain');
  assert.equal(new Set(written).size, DOMAINS);
  const sample = JSON.parse(lines.find((l) => l.includes('"d10.scan.test"')) ?? '{}') as {
    grade: string;
    findings: { code: string }[];
  };
  assert.equal(sample.grade, 'F');
  assert.ok(sample.findings.some((f) => f.code === 'spf-pass-all'));
});
