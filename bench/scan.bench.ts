/**
 * `mailward scan` throughput: 10,000 generated domains with realistic records (SPF with an include,
 * MX with reverse DNS, DMARC, a DKIM key on a common selector, TLS-RPT for some) served by a local
 * Knot, scanned by the CLI in a child process; domains per second and peak memory (about 40 DNS
 * queries per domain: 23 DKIM selectors, SPF tree, DMARC, MX, MTA-STS, TLS-RPT, BIMI, DNSSEC). Knot shares the 2 cores with the scan.
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
  writeFileSync(
    join(dir, 'domains.txt'),
    `${Array.from({ length: DOMAINS }, (_, i) => `d${i}.bench.test`).join('\n')}\n`,
  );
  const run = runMeasured(
    [
      MAIN,
      'scan',
      join(dir, 'domains.txt'),
      '--db',
      join(dir, 'r.db'),
      '--out',
      join(dir, 'r.ndjson'),
      '--dns',
      `${knot.host}:${knot.port}`,
      '--concurrency',
      String(CONCURRENCY),
    ],
    dir,
  );
  const seconds = run.ms / 1000;
  if (run.status !== 0) throw new Error(`scan failed: ${run.stderr}${run.stdout}`);
  const rss = run.maxRssMb;
  console.log(run.stdout.trim());
  console.log('');
  console.log(`domains              ${DOMAINS}`);
  console.log(`wall time            ${seconds.toFixed(1)} s (process start-up included)`);
  console.log(`domains/s            ${(DOMAINS / seconds).toFixed(0)}`);
  console.log(`peak RSS             ${rss.toFixed(0)} MB`);
  console.log(`Goal: at least 500 domains/s with flat memory: ${DOMAINS / seconds >= 500 ? 'met' : 'not met'}`);
} finally {
  await knot.stop();
}
