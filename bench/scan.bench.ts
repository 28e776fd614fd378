/**
 * `mailward scan` throughput: 10,000 generated domains with realistic records (SPF with an include,
 * MX with reverse DNS, DMARC, a DKIM key on a common selector, TLS-RPT for some) served by a local
 * Knot, scanned by the CLI in a child process: domains per second, DNS queries per domain and peak
 * memory, with the default transport (pipelined TCP) at a quarter of the list and the whole list
 * (memory must not grow with the list), then with UDP. Knot shares the 2 cores with the scan.
 *
 *   npm run bench:scan     (BENCH_DOMAINS=10000 by default)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { parseZone } from '@mailward/core';
import { runMeasured } from './src/peak-rss.js';
import { renderZone, startKnot } from '@mailward/testkit';

const DOMAINS = Number(process.env['BENCH_DOMAINS'] ?? 10_000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 128);
const MAIN = fileURLToPath(new URL('../../packages/cli/dist/src/main.js', import.meta.url));

const key = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
const p = key.subarray(key.length - 32).toString('base64');
const zone: Record<string, unknown[]> = {
  'mx.bench.test': [{ A: '192.0.2.25' }],
  '25.2.0.192.in-addr.arpa': [{ PTR: 'mx.bench.test' }],
  '_spf.provider.test': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
};
for (let i = 0; i < DOMAINS; i += 1) {
  const d = `d${i}.bench.test`;
  zone[d] = [{ TXT: 'v=spf1 mx include:_spf.provider.test -all' }, { MX: [10, 'mx.bench.test'] }];
  zone[`_dmarc.${d}`] = [{ TXT: `v=DMARC1; p=${['none', 'quarantine', 'reject'][i % 3]}; rua=mailto:r@${d}` }];
  if (i % 2 === 0) zone[`google._domainkey.${d}`] = [{ TXT: `v=DKIM1; k=ed25519; p=${p}` }];
  if (i % 4 === 0) zone[`_smtp._tls.${d}`] = [{ TXT: `v=TLSRPTv1; rua=mailto:tls@${d}` }];
}
const parsed = parseZone(zone);
if (!parsed.ok) throw new Error(parsed.errors.join('; '));
const knot = await startKnot({
  zones: [{ origin: '.', text: renderZone(parsed.zone, { origin: '.' }) }],
  readyTimeoutMs: 120_000,
});
try {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-bench-scan-'));
  const list = (count: number) => {
    const path = join(dir, `domains-${count}.txt`);
    writeFileSync(path, `${Array.from({ length: count }, (_, i) => `d${i}.bench.test`).join('\n')}\n`);
    return path;
  };
  const scan = (count: number, transport: 'tcp' | 'udp') => {
    const name = `${transport}-${count}`;
    const run = runMeasured(
      [
        MAIN,
        'scan',
        list(count),
        '--db',
        join(dir, `${name}.db`),
        '--out',
        join(dir, `${name}.ndjson`),
        '--dns',
        `${knot.host}:${knot.port}`,
        '--concurrency',
        String(CONCURRENCY),
        '--dns-transport',
        transport,
      ],
      dir,
    );
    if (run.status !== 0) throw new Error(`scan failed: ${run.stderr}${run.stdout}`);
    const queries = /([\d.]+) DNS queries per domain/.exec(run.stdout)?.[1] ?? '?';
    return { count, transport, seconds: run.ms / 1000, rss: run.maxRssMb, queries };
  };
  // The default transport at two list sizes (memory must not grow with the list), then UDP.
  const runs = [scan(Math.round(DOMAINS / 4), 'tcp'), scan(DOMAINS, 'tcp'), scan(DOMAINS, 'udp')];
  console.log(`scan of generated domains from a local Knot, concurrency ${CONCURRENCY} (wall time includes start-up)`);
  console.log('');
  console.log('transport  domains  seconds  domains/s  queries/domain  peak RSS MB');
  for (const r of runs) {
    console.log(
      `${r.transport.padEnd(9)}  ${String(r.count).padStart(7)}  ${r.seconds.toFixed(1).padStart(7)}  ${(r.count / r.seconds).toFixed(0).padStart(9)}  ${r.queries.padStart(14)}  ${r.rss.toFixed(0).padStart(11)}`,
    );
  }
  const main = runs[1] as (typeof runs)[number];
  const rate = main.count / main.seconds;
  const flat = main.rss <= (runs[0] as (typeof runs)[number]).rss * 1.25;
  console.log('');
  console.log(
    `Goal: at least 500 domains/s (default transport, ${main.count} domains): ${rate >= 500 ? 'met' : 'not met'} (${rate.toFixed(0)}/s); ` +
      `flat memory (peak RSS at ${main.count} domains within 25% of that at ${(runs[0] as (typeof runs)[number]).count}): ${flat ? 'met' : 'not met'}`,
  );
} finally {
  await knot.stop();
}
