/**
 * `mailward scan` resumed after DNS failures: domains an earlier run could not check are audited
 * again (unless --no-retry-failed), their rows replaced in place, and the NDJSON/CSV output keeps
 * one line per domain in list order. Exit 3 only when a run could check none of its domains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runProgram } from '../src/program.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
const dir = mkdtempSync(join(tmpdir(), 'mailward-scan-retry-'));

const healthy = `
a.example: [{ TXT: 'v=spf1 -all' }, { MX: [0, '.'] }]
b.example: [{ TXT: 'v=spf1 +all' }, { MX: [0, '.'] }]
new.example: [{ TXT: 'v=spf1 -all' }, { MX: [0, '.'] }]
`;
// The first run: the name servers of down.example and flaky.example refuse every query.
const broken = join(dir, 'broken.yaml');
writeFileSync(broken, `${healthy}down.example: [REFUSED]\nflaky.example: [REFUSED]\n`);
// Later: they answer.
const repaired = join(dir, 'repaired.yaml');
writeFileSync(
  repaired,
  `${healthy}down.example: [{ TXT: 'v=spf1 -all' }, { MX: [0, '.'] }]\nflaky.example: [{ TXT: 'v=spf1 ~all' }, { MX: [0, '.'] }]\n`,
);
const list = join(dir, 'list.txt');
writeFileSync(list, 'a.example\ndown.example\nb.example\nflaky.example\n');
// The list of the second run also has a new domain, and repeats a failed one.
const longer = join(dir, 'longer.txt');
writeFileSync(longer, 'a.example\ndown.example\nb.example\nflaky.example\ndown.example\nnew.example\n');

const ORDER = ['a.example', 'down.example', 'b.example', 'flaky.example'];

// One domain at a time, so the scan order is the list's order.
const scan = (listFile: string, db: string, out: string, fixture: string, ...more: string[]) =>
  runProgram(
    [
      'scan',
      listFile,
      '--db',
      join(dir, db),
      '--out',
      join(dir, out),
      '--dns-fixture',
      fixture,
      '--concurrency',
      '1',
      ...more,
    ],
    env,
  );

const ndjson = (file: string) =>
  readFileSync(join(dir, file), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { domain: string; status: string; grade: string | null });

const csv = (file: string) =>
  readFileSync(join(dir, file), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split(',').slice(0, 2).join(','));

const stored = (db: string) => {
  const raw = new Database(join(dir, db), { readonly: true });
  const rows = raw.prepare('SELECT domain, status FROM scan_results ORDER BY seq').all() as {
    domain: string;
    status: string;
  }[];
  raw.close();
  return rows.map((r) => `${r.domain},${r.status}`);
};

test('scan resumed: failed domains are retried; the DB and the NDJSON hold one row per domain, in list order', async () => {
  const first = await scan(list, 'n.db', 'n.ndjson', broken);
  assert.equal(first.exitCode, 0, first.stderr);
  assert.match(
    first.stdout,
    /\n2 domains in .*n\.db could not be checked; running the same command again retries them\n/,
  );
  assert.deepEqual(
    ndjson('n.ndjson').map((r) => `${r.domain},${r.status}`),
    ['a.example,ok', 'down.example,dns-failed', 'b.example,ok', 'flaky.example,dns-failed'],
  );

  const second = await scan(longer, 'n.db', 'n.ndjson', repaired);
  assert.equal(second.exitCode, 0, second.stderr);
  assert.match(
    second.stdout,
    /^Scanned 3 domains in .*; 3 already in .*n\.db or repeated; 5 in all\nRetried 2 domains that could not be checked before: 2 checked now, 0 still could not be checked\n/,
  );
  assert.doesNotMatch(second.stdout, /could not be checked;/);
  const expected = [...ORDER, 'new.example'].map((d) => `${d},ok`);
  assert.deepEqual(stored('n.db'), expected);
  const rows = ndjson('n.ndjson');
  assert.deepEqual(
    rows.map((r) => `${r.domain},${r.status}`),
    expected,
  );
  // Graded now (a failed domain has no grade).
  assert.match(rows.find((r) => r.domain === 'down.example')?.grade ?? 'null', /^[ABCF]$/);

  // Nothing left to retry: nothing audited, the output as it was.
  const before = readFileSync(join(dir, 'n.ndjson'), 'utf8');
  const third = await scan(longer, 'n.db', 'n.ndjson', repaired);
  assert.match(third.stdout, /^Scanned 0 domains/);
  assert.equal(readFileSync(join(dir, 'n.ndjson'), 'utf8'), before);
});

test('scan resumed with --out .csv: the retried rows replace their lines, header once, list order', async () => {
  await scan(list, 'c.db', 'c.csv', broken);
  assert.deepEqual(csv('c.csv'), [
    'domain,status',
    'a.example,ok',
    'down.example,dns-failed',
    'b.example,ok',
    'flaky.example,dns-failed',
  ]);
  const second = await scan(list, 'c.db', 'c.csv', repaired);
  assert.equal(second.exitCode, 0, second.stderr);
  assert.deepEqual(csv('c.csv'), ['domain,status', ...ORDER.map((d) => `${d},ok`)]);
  assert.deepEqual(
    stored('c.db'),
    ORDER.map((d) => `${d},ok`),
  );
});

test('scan --no-retry-failed: failed domains stay as they are, in the DB and the output', async () => {
  await scan(list, 'keep.db', 'keep.ndjson', broken);
  const before = readFileSync(join(dir, 'keep.ndjson'), 'utf8');
  const second = await scan(list, 'keep.db', 'keep.ndjson', repaired, '--no-retry-failed');
  assert.equal(second.exitCode, 0, second.stderr);
  assert.match(second.stdout, /^Scanned 0 domains .*; 4 already in /);
  assert.doesNotMatch(second.stdout, /Retried/);
  assert.match(
    second.stdout,
    /2 domains in .*keep\.db could not be checked; running it again without --no-retry-failed/,
  );
  assert.equal(readFileSync(join(dir, 'keep.ndjson'), 'utf8'), before);
  assert.deepEqual(stored('keep.db'), [
    'a.example,ok',
    'down.example,dns-failed',
    'b.example,ok',
    'flaky.example,dns-failed',
  ]);
});

test('scan: a run that stopped after a retry and before rewriting the output has it rewritten by the next', async () => {
  await scan(list, 'stop.db', 'stop.ndjson', broken);
  const stale = readFileSync(join(dir, 'stop.ndjson'), 'utf8');
  await scan(list, 'stop.db', 'stop.ndjson', repaired);
  // As if that run had been killed after storing the retries: the old lines, the rows outdated.
  writeFileSync(join(dir, 'stop.ndjson'), stale);
  const raw = new Database(join(dir, 'stop.db'));
  raw.prepare("UPDATE scan_results SET exported = 2 WHERE domain IN ('down.example', 'flaky.example')").run();
  raw.close();
  const next = await scan(list, 'stop.db', 'stop.ndjson', repaired);
  assert.match(next.stdout, /^Scanned 0 domains/);
  assert.deepEqual(
    ndjson('stop.ndjson').map((r) => `${r.domain},${r.status}`),
    ORDER.map((d) => `${d},ok`),
  );
});

test('scan exit code: 3 when no domain of the run could be checked, 0 when some could', async () => {
  const allDown = join(dir, 'all-down.txt');
  writeFileSync(allDown, 'down.example\nflaky.example\n');
  const first = await scan(allDown, 'x.db', 'x.ndjson', broken);
  assert.equal(first.exitCode, 3, first.stdout);
  assert.match(first.stdout, /0 audited, 0 do not exist \(NXDOMAIN\), 2 could not be checked/);
  // Retried and still failing: nothing checked again.
  const again = await scan(allDown, 'x.db', 'x.ndjson', broken);
  assert.equal(again.exitCode, 3, again.stdout);
  assert.match(
    again.stdout,
    /\nRetried 2 domains that could not be checked before: 0 checked now, 2 still could not be checked\n/,
  );
  // One domain answers now: the run checked something.
  writeFileSync(join(dir, 'half.yaml'), `${healthy}down.example: [REFUSED]\nflaky.example: [{ TXT: 'v=spf1 -all' }]\n`);
  const half = await scan(allDown, 'x.db', 'x.ndjson', join(dir, 'half.yaml'));
  assert.equal(half.exitCode, 0, half.stdout);
  assert.match(
    half.stdout,
    /\nRetried 2 domains that could not be checked before: 1 checked now, 1 still could not be checked\n/,
  );
  assert.match(half.stdout, /\n1 domain in .*x\.db could not be checked; running the same command again retries it\n/);
  assert.deepEqual(
    ndjson('x.ndjson').map((r) => `${r.domain},${r.status}`),
    ['down.example,dns-failed', 'flaky.example,ok'],
  );
  // Nothing audited (all checked, or kept): 0.
  const none = await scan(allDown, 'x.db', 'x.ndjson', broken, '--no-retry-failed');
  assert.equal(none.exitCode, 0, none.stdout);
});

test('scan: an output that cannot be rewritten after retries is one error line; the next run rewrites it', async () => {
  await scan(list, 'w.db', 'w.ndjson', broken);
  // The temporary file cannot be created: a directory has its name.
  mkdirSync(join(dir, 'w.ndjson.rewrite'));
  const failed = await scan(list, 'w.db', 'w.ndjson', repaired);
  assert.equal(failed.exitCode, 1);
  assert.match(failed.stdout, /\nRetried 2 domains that could not be checked before: 2 checked now/);
  assert.match(
    failed.stderr,
    /^mailward scan: .*w\.ndjson was not rewritten with the retried domains: cannot open .*w\.ndjson\.rewrite: it is a directory \(EISDIR\).*; the results are in .*w\.db, and the next run rewrites it\n$/,
  );
  assert.deepEqual(
    stored('w.db'),
    ORDER.map((d) => `${d},ok`),
  );
  rmdirSync(join(dir, 'w.ndjson.rewrite'));
  const next = await scan(list, 'w.db', 'w.ndjson', repaired);
  assert.equal(next.exitCode, 0, next.stderr);
  assert.deepEqual(
    ndjson('w.ndjson').map((r) => `${r.domain},${r.status}`),
    ORDER.map((d) => `${d},ok`),
  );
});
