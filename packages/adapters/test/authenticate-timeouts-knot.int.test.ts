/**
 * DNS timeouts at every step of whole-message authentication, on the wire: Knot serves the records
 * through a proxy that drops chosen questions, so the network resolver sees real timeouts. A first
 * run records every question authenticate() asks; then each question is dropped in turn, and every
 * run must end in bounded time with a result and a reason for SPF, DKIM, ARC and DMARC, the
 * affected check reporting the failure as its RFC says.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Authentication } from '@mailward/core';
import { QueryLogResolver, arc, authenticate, parseZone, signDkim } from '@mailward/core';
import type { DroppingProxy, KnotServer, ProxyQuestion } from '@mailward/testkit';
import { renderZone, startDroppingProxy, startKnot } from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';

const NOW = 1_800_000_000;
const clock = { now: () => NOW * 1000 };
const TIMEOUT_MS = 150;
/** One attempt plus one retry per query, and authenticate's lookups partly run in parallel. */
const BOUND_MS = 15_000;

function ed25519(): { privateKey: KeyObject; p: string } {
  const key = generateKeyPairSync('ed25519');
  const der = key.publicKey.export({ type: 'spki', format: 'der' });
  return { privateKey: key.privateKey, p: der.subarray(der.length - 32).toString('base64') };
}
const author = ed25519();
const forwarder = ed25519();

const ZONE = {
  'example.com': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }, { A: '192.0.2.1' }],
  'mx.example.com': [{ TXT: 'v=spf1 a -all' }, { A: '192.0.2.10' }],
  'ed._domainkey.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${author.p}` }],
  'arc._domainkey.forwarder.example': [{ TXT: `v=DKIM1; k=ed25519; p=${forwarder.p}` }],
  '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject' }],
  'news.example.com': [{ A: '192.0.2.2' }],
};

/** Signed by example.com for news.example.com, then sealed by a forwarder. */
function buildMessage(): Uint8Array {
  const plain = Buffer.from(
    'From: a@news.example.com\r\nTo: b@example.net\r\nSubject: timeouts\r\n' +
      'Date: Sat, 28 Nov 2026 12:00:00 +0000\r\nMessage-ID: <t@news.example.com>\r\n\r\nHello.\r\n',
  );
  const signed = signDkim(plain, [{ domain: 'example.com', selector: 'ed', privateKey: author.privateKey }], {
    clock,
  }).message;
  const sealed = arc.sealArc(signed, {
    domain: 'forwarder.example',
    selector: 'arc',
    privateKey: forwarder.privateKey,
    authenticationResults: 'forwarder.example; dkim=pass header.d=example.com; dmarc=pass header.from=news.example.com',
    chainValidation: 'none',
    clock,
  });
  assert.ok(sealed.sealed, sealed.sealed ? '' : sealed.reason);
  return sealed.message;
}

let knot: KnotServer;
let proxy: DroppingProxy;
let dropped: (question: ProxyQuestion) => boolean = () => false;
const message = buildMessage();

before(async () => {
  const parsed = parseZone(ZONE);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  knot = await startKnot({ zones: [{ origin: '.', text: renderZone(parsed.zone, { origin: '.' }) }] });
  proxy = await startDroppingProxy({ upstream: knot, drop: (question) => dropped(question) });
});

after(async () => {
  await proxy?.stop();
  await knot?.stop();
});

async function run(): Promise<{ a: Authentication; ms: number; log: QueryLogResolver }> {
  // A fresh resolver per run: nothing cached from an earlier run hides a dropped question.
  const network = new NetworkResolver({
    servers: [{ host: proxy.host, port: proxy.port }],
    timeoutMs: TIMEOUT_MS,
    retries: 1,
  });
  const log = new QueryLogResolver(network, { now: () => performance.now() });
  const started = performance.now();
  const a = await authenticate(
    message,
    { ip: '192.0.2.10', mailFrom: 'bounce@example.com', helo: 'mx.example.com' },
    { resolver: log, clock, authservId: 'mx.test' },
  );
  const ms = performance.now() - started;
  assert.ok(!('unverifiable' in a));
  return { a, ms, log };
}

function everyCheckExplained(a: Authentication, label: string): void {
  assert.ok(a.spf.mailFrom.reason.length > 0, `${label}: SPF reason`);
  assert.ok(a.spf.helo !== undefined && a.spf.helo.reason.length > 0, `${label}: HELO reason`);
  assert.ok(
    a.dkim.signatures.every((s) => s.reason.length > 0),
    `${label}: DKIM reasons`,
  );
  assert.ok(a.arc.reason.length > 0, `${label}: ARC reason`);
  assert.ok(a.dmarc.reasons.length > 0, `${label}: DMARC reasons`);
  assert.match(a.headers.authenticationResults, /dmarc=/, `${label}: A-R field`);
}

const summary = (a: Authentication): string =>
  [a.spf.mailFrom.result, a.spf.helo?.result, a.dkim.signatures[0]?.result, a.arc.result, a.dmarc.result].join(' ');

test('with every answer: SPF, HELO, DKIM, ARC and DMARC pass', async () => {
  dropped = () => false;
  const { a } = await run();
  assert.equal(summary(a), 'pass pass pass pass pass');
});

test('each question dropped in turn: every run ends in bounded time with a result and a reason', async () => {
  dropped = () => false;
  const { log } = await run();
  const questions = [...new Set(log.entries.map((e) => `${e.name.toLowerCase()} ${e.type}`))];
  assert.ok(questions.length >= 8, `questions asked: ${questions.join(', ')}`);
  for (const question of questions) {
    const [name, type] = question.split(' ') as [string, string];
    dropped = (q) => q.name === name && q.type === type;
    const { a, ms } = await run();
    const label = `${question} dropped (${summary(a)})`;
    assert.ok(ms < BOUND_MS, `${label}: took ${Math.round(ms)} ms`);
    everyCheckExplained(a, label);
    if (name === 'example.com' && type === 'TXT') {
      // RFC 7208 §4.4: the SPF record lookup timing out is temperror; DKIM still carries DMARC.
      assert.equal(a.spf.mailFrom.result, 'temperror', label);
      assert.equal(a.dmarc.result, 'pass', label);
    } else if (name === 'mx.example.com') {
      assert.equal(a.spf.helo?.result, 'temperror', label);
    } else if (name === 'ed._domainkey.example.com') {
      // RFC 6376 §6.1.2: a key that cannot be fetched is temperror; aligned SPF still passes DMARC.
      assert.equal(a.dkim.signatures[0]?.result, 'temperror', label);
      assert.equal(a.dmarc.result, 'pass', label);
    } else if (name === 'arc._domainkey.forwarder.example') {
      // RFC 8617 §5.2.1: every ARC failure is permanent.
      assert.equal(a.arc.result, 'fail', label);
    } else if (name === '_dmarc.news.example.com' || name === '_dmarc.example.com') {
      // RFC 9989 §4.10: a DNS failure before the policy is found is temperror.
      assert.equal(a.dmarc.result, 'temperror', label);
    } else if (name === '_dmarc.com') {
      // Above the record already found (example.com, no psd): the walk keeps what it found
      // (docs/decisions.md), so a failing TLD query does not turn all its mail into temperror.
      assert.equal(a.dmarc.result, 'pass', label);
    } else {
      // Existence checks (A/AAAA/MX of the author domain) count a failure as "exists" (§3.2.13).
      assert.equal(a.dmarc.result, 'pass', label);
    }
  }
});

test('every question dropped: all checks report temperror (ARC fail) in bounded time', async () => {
  dropped = () => true;
  const { a, ms } = await run();
  assert.ok(ms < BOUND_MS, `took ${Math.round(ms)} ms`);
  everyCheckExplained(a, 'all dropped');
  assert.equal(summary(a), 'temperror temperror temperror fail temperror');
});
