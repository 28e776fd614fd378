/**
 * Report throughput: records per second for parsing aggregate reports and for ingesting them into
 * SQLite and PostgreSQL, on a generated corpus of 10,000 reports; then one report of 1,000,000
 * records (a gzip file streamed by `mailward reports ingest`) with its wall time and peak memory.
 * Each ingest runs in a child process so its peak RSS is its own.
 *
 *   npm run bench:reports                 (BENCH_REPORTS=10000 BENCH_BIG_RECORDS=1000000 by default)
 *   MAILWARD_BENCH_POSTGRES=postgres://... to choose the PostgreSQL server (default: the local one)
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';
import { createGzip, gzipSync } from 'node:zlib';
import { once } from 'node:events';
import { parseAggregateReport } from '@mailward/reports';
import { printTable } from './src/table.js';
import { runMeasured } from './src/peak-rss.js';

const REPORTS = Number(process.env['BENCH_REPORTS'] ?? 10_000);
const BIG_RECORDS = Number(process.env['BENCH_BIG_RECORDS'] ?? 1_000_000);
const POSTGRES = process.env['MAILWARD_BENCH_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const MAIN = fileURLToPath(new URL('../../packages/cli/dist/src/main.js', import.meta.url));

function record(i: number, salt: number): string {
  const passing = (i + salt) % 5 !== 0;
  return `<record><row><source_ip>10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}</source_ip><count>${1 + (i % 7)}</count><policy_evaluated><disposition>none</disposition><dkim>${passing ? 'pass' : 'fail'}</dkim><spf>fail</spf></policy_evaluated></row><identifiers><envelope_from>bounce.example.com</envelope_from><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>${passing ? 'example.com' : 'other.example'}</domain><selector>s1</selector><result>pass</result></dkim><spf><domain>bounce.example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record>\n`;
}

function header(id: string, begin: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<feedback><version>1.0</version><report_metadata><org_name>bench.example</org_name><email>r@bench.example</email><report_id>${id}</report_id><date_range><begin>${begin}</begin><end>${begin + 86_399}</end></date_range></report_metadata><policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct></policy_published>\n`;
}

/** 10,000 reports of 1 to 40 records (about 20 on average), as real reporters send them. */
function corpus(): Buffer[] {
  return Array.from({ length: REPORTS }, (_, n) => {
    const count = 1 + ((n * 7919) % 40);
    const records = Array.from({ length: count }, (_, i) => record(i + n, n)).join('');
    return Buffer.from(`${header(`bench-${n}`, 1_700_000_000 + (n % 365) * 86_400)}${records}</feedback>\n`);
  });
}

async function writeBigReport(path: string): Promise<number> {
  const gzip = createGzip({ level: 6 });
  const out = createWriteStream(path);
  gzip.pipe(out);
  gzip.write(header('bench-big', 1_750_000_000));
  let chunk = '';
  for (let i = 0; i < BIG_RECORDS; i += 1) {
    chunk += record(i, 7);
    if (chunk.length > 1 << 20) {
      if (!gzip.write(chunk)) await once(gzip, 'drain');
      chunk = '';
    }
  }
  gzip.end(`${chunk}</feedback>\n`);
  await once(out, 'finish');
  return statSync(path).size;
}

/** Runs `mailward reports ingest` in a child and returns its wall time and peak RSS. */
function timedIngest(input: string, store: string, dir: string): { ms: number; maxRssMb: number; output: string } {
  const run = runMeasured([MAIN, 'reports', 'ingest', input, '--store', store], dir);
  if (run.status !== 0) throw new Error(`ingest failed: ${run.stderr}${run.stdout}`);
  return { ms: run.ms, maxRssMb: run.maxRssMb, output: run.stdout.trim() };
}

function postgresReachable(): boolean {
  const probe = spawnSync('pg_isready', ['-q', '-d', POSTGRES]);
  return probe.status === 0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-bench-reports-'));
  console.log(`Generating ${REPORTS} reports ...`);
  const reports = corpus();
  const records = reports.reduce((n, bytes) => n + (bytes.toString('latin1').match(/<record>/g)?.length ?? 0), 0);

  // Parsing, in this process: best of 3 passes.
  let best = Infinity;
  for (let pass = 0; pass < 3; pass += 1) {
    const started = performance.now();
    for (const bytes of reports) if (!parseAggregateReport(bytes).ok) throw new Error('parse failed');
    best = Math.min(best, performance.now() - started);
  }

  // Ingest from a directory of .xml.gz files, each ingest in a child process.
  const corpusDir = join(dir, 'corpus');
  mkdirSync(corpusDir);
  reports.forEach((bytes, n) =>
    writeFileSync(join(corpusDir, `r${String(n).padStart(5, '0')}.xml.gz`), gzipSync(bytes)),
  );
  // Fixed cost of a run (Node start-up, loading mailward, creating the store): an empty directory.
  const emptyDir = join(dir, 'empty');
  mkdirSync(emptyDir);
  const baseline = Math.min(
    ...[1, 2, 3].map((n) => timedIngest(emptyDir, `sqlite:${join(dir, `empty-${n}.db`)}`, dir).ms),
  );
  const sqlite = timedIngest(corpusDir, `sqlite:${join(dir, 'corpus.db')}`, dir);
  const schema = `bench_${process.pid}`;
  const pg = postgresReachable() ? timedIngest(corpusDir, `${POSTGRES}?schema=${schema}`, dir) : undefined;

  console.log(`Writing one report of ${BIG_RECORDS} records ...`);
  const bigPath = join(dir, 'big.xml.gz');
  const bigSize = await writeBigReport(bigPath);
  const big = timedIngest(bigPath, `sqlite:${join(dir, 'big.db')}`, dir);
  const bigPg = pg === undefined ? undefined : timedIngest(bigPath, `${POSTGRES}?schema=${schema}_big`, dir);

  const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}`;
  console.log('');
  printTable(
    [
      ['step', 'records', 'seconds', 'records/s', 'peak RSS MB'],
      ['parse (in process)', String(records), (best / 1000).toFixed(2), rate(records, best), '-'],
      [
        'ingest corpus into SQLite',
        String(records),
        (sqlite.ms / 1000).toFixed(2),
        rate(records, sqlite.ms),
        sqlite.maxRssMb.toFixed(0),
      ],
      [
        `  same, without the ${(baseline / 1000).toFixed(2)} s start-up`,
        String(records),
        ((sqlite.ms - baseline) / 1000).toFixed(2),
        rate(records, sqlite.ms - baseline),
        '-',
      ],
      ...(pg === undefined
        ? [['ingest corpus into PostgreSQL', 'skipped: no server', '', '', '']]
        : [
            [
              'ingest corpus into PostgreSQL',
              String(records),
              (pg.ms / 1000).toFixed(2),
              rate(records, pg.ms),
              pg.maxRssMb.toFixed(0),
            ],
          ]),
      [
        `1 report (${(bigSize / 1048576).toFixed(0)} MB gzip) into SQLite`,
        String(BIG_RECORDS),
        (big.ms / 1000).toFixed(2),
        rate(BIG_RECORDS, big.ms),
        big.maxRssMb.toFixed(0),
      ],
      ...(bigPg === undefined
        ? []
        : [
            [
              `1 report into PostgreSQL`,
              String(BIG_RECORDS),
              (bigPg.ms / 1000).toFixed(2),
              rate(BIG_RECORDS, bigPg.ms),
              bigPg.maxRssMb.toFixed(0),
            ],
          ]),
    ],
    [1, 2, 3, 4],
  );
  console.log('');
  console.log(
    `Goals: at least 50,000 records/s into SQLite (${rate(records, sqlite.ms)} with start-up, ${rate(records, sqlite.ms - baseline)} without: ${records / ((sqlite.ms - baseline) / 1000) >= 50_000 ? 'met' : 'not met'});`,
  );
  console.log(
    `the ${BIG_RECORDS}-record report in under 60 s with peak memory under 300 MB (${(big.ms / 1000).toFixed(1)} s, ${big.maxRssMb.toFixed(0)} MB: ${big.ms < 60_000 && big.maxRssMb < 300 ? 'met' : 'not met'}).`,
  );
  if (pg !== undefined) {
    spawnSync('psql', [
      POSTGRES,
      '-qc',
      `DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_big CASCADE`,
    ]);
  }
}

await main();
