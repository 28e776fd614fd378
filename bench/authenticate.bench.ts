/**
 * `npm run bench:authenticate`: whole-message authentication (SPF for MAIL FROM and HELO, DKIM,
 * ARC, DMARC) per second, mailward's authenticate() against mailauth 4.13.3's authenticate() in the
 * same run, on a corpus of signed and unsigned messages, both answering DNS from the same in-memory
 * zone with zero latency. Before timing, both sides must agree on the SPF, DKIM and DMARC results
 * of every message; the run exits 1 if they do not.
 *
 * Environment: BENCH_ROUNDS (default 8), BENCH_ROUND_MS (500).
 */
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import type { DNSResolver } from 'mailauth';
import { authenticate as mailauthAuthenticate } from 'mailauth';
import { MemoryResolver, authenticate, parseZone, signDkim } from '@mailward/core';
import { nodeStyleResolver } from './src/mailauth-resolver.js';
import { median as medianOf } from './src/stats.js';
import { printTable } from './src/table.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 8) || 8;
const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 500) || 500;
const NOW = Date.now();
const clock = { now: () => NOW };

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const rsaP = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const edDer = ed.publicKey.export({ type: 'spki', format: 'der' });
const edP = edDer.subarray(edDer.length - 32).toString('base64');

const parsed = parseZone({
  'example.com': [
    { TXT: 'v=spf1 ip4:192.0.2.0/24 include:_spf.esp.example -all' },
    { A: '192.0.2.1' },
    { MX: [10, 'mx.example.com'] },
  ],
  '_spf.esp.example': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
  'mx.example.com': [{ A: '192.0.2.25' }, { TXT: 'v=spf1 a -all' }],
  'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; k=rsa; p=${rsaP}` }],
  'ed._domainkey.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${edP}` }],
  '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@example.com' }],
  'news.example.com': [{ A: '192.0.2.2' }],
});
if (!parsed.ok) throw new Error(parsed.errors.join('; '));
const resolver = new MemoryResolver(parsed.zone);
const mailauthResolver = nodeStyleResolver(resolver) as unknown as DNSResolver;

const body = 'Hello,\r\n\r\nThe quarterly report is attached below.  Regards.\r\n'.repeat(60);
const plain = (from: string): Buffer =>
  Buffer.from(
    `From: Sender <${from}>\r\nTo: someone@example.net\r\nSubject: Report\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\nMessage-ID: <${from}.1@example.com>\r\n\r\n${body}`,
  );
const corpus: { name: string; message: Buffer; ip: string; mailFrom: string; helo: string }[] = [
  {
    name: 'signed rsa+ed25519, SPF pass',
    message: Buffer.from(
      signDkim(
        plain('a@example.com'),
        [
          { domain: 'example.com', selector: 'rsa', privateKey: rsa.privateKey },
          { domain: 'example.com', selector: 'ed', privateKey: ed.privateKey },
        ],
        { clock },
      ).message,
    ),
    ip: '192.0.2.25',
    mailFrom: 'a@example.com',
    helo: 'mx.example.com',
  },
  {
    name: 'signed rsa, via ESP (SPF include)',
    message: Buffer.from(
      signDkim(plain('b@example.com'), [{ domain: 'example.com', selector: 'rsa', privateKey: rsa.privateKey }], {
        clock,
      }).message,
    ),
    ip: '198.51.100.7',
    mailFrom: 'bounce@example.com',
    helo: 'out.esp.example',
  },
  {
    name: 'spoof, unsigned',
    message: plain('ceo@news.example.com'),
    ip: '203.0.113.5',
    mailFrom: 'ceo@news.example.com',
    helo: 'evil.example',
  },
];

interface Outcome {
  spf: string;
  dkim: string;
  dmarc: string;
}

async function ours(item: (typeof corpus)[number]): Promise<Outcome> {
  const r = await authenticate(
    item.message,
    { ip: item.ip, mailFrom: item.mailFrom, helo: item.helo },
    { resolver, clock, authservId: 'mx.test' },
  );
  if ('unverifiable' in r) throw new Error(r.unverifiable);
  return {
    spf: r.spf.mailFrom.result,
    dkim: r.dkim.signatures.map((s) => s.result).join(',') || 'none',
    dmarc: r.dmarc.result,
  };
}

async function theirs(item: (typeof corpus)[number]): Promise<Outcome> {
  const r = (await mailauthAuthenticate(item.message, {
    ip: item.ip,
    helo: item.helo,
    sender: item.mailFrom,
    mta: 'mx.test',
    resolver: mailauthResolver,
    disableArc: false,
  })) as unknown as {
    spf: { status: { result: string } };
    dkim: { results: { status: { result: string } }[] };
    dmarc: { status: { result: string } };
  };
  return {
    spf: r.spf.status.result,
    dkim: r.dkim.results.map((s) => s.status.result).join(',') || 'none',
    dmarc: r.dmarc.status.result,
  };
}

async function rate(run: () => Promise<unknown>, ms: number): Promise<number> {
  const started = performance.now();
  let count = 0;
  while (performance.now() - started < ms) {
    await run();
    count++;
  }
  return (count * 1000) / (performance.now() - started);
}

const rows: string[][] = [['message', 'mailward', 'mailauth', 'agree']];
let disagreements = 0;
for (const item of corpus) {
  const [a, b] = [await ours(item), await theirs(item)];
  const agree = JSON.stringify(a) === JSON.stringify(b);
  if (!agree) disagreements++;
  rows.push([item.name, JSON.stringify(a), JSON.stringify(b), agree ? 'yes' : 'NO']);
}
printTable(rows);
if (disagreements > 0) {
  console.error(`${disagreements} disagreement(s): not measuring`);
  process.exit(1);
}

const pass = async (side: typeof ours): Promise<void> => {
  for (const item of corpus) await side(item);
};
await rate(() => pass(ours), 300);
await rate(() => pass(theirs), 300);
const ratios: number[] = [];
let wardTotal = 0;
let authTotal = 0;
for (let round = 0; round < ROUNDS; round++) {
  const first = round % 2 === 0;
  const w = first ? await rate(() => pass(ours), ROUND_MS) : 0;
  const m = await rate(() => pass(theirs), ROUND_MS);
  const w2 = first ? w : await rate(() => pass(ours), ROUND_MS);
  wardTotal += w2 * corpus.length;
  authTotal += m * corpus.length;
  ratios.push(w2 / m);
}
const median = medianOf(ratios);
console.log('');
console.log(
  `authenticate, messages/s: mailward ${(wardTotal / ROUNDS).toFixed(0)}, mailauth ${(authTotal / ROUNDS).toFixed(0)}`,
);
console.log(
  `ratio mailward/mailauth: median of ${ROUNDS} rounds ${median.toFixed(2)}× (goal ≥ 2×: ${median >= 2 ? 'met' : 'MISSED'})`,
);
