import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { MemoryResolver, authenticate, parseZone, type Authentication } from '@mailward/core';
import { decideInbound, DEFAULT_INBOUND_POLICY, QUARANTINE_HEADER, type InboundPolicy } from '../src/index.js';

const ZONE = {
  'reject.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  '_dmarc.reject.example': [{ TXT: 'v=DMARC1; p=reject' }],
  'hold.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  '_dmarc.hold.example': [{ TXT: 'v=DMARC1; p=quarantine' }],
  'watch.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  '_dmarc.watch.example': [{ TXT: 'v=DMARC1; p=none' }],
  // The DMARC record cannot be fetched: DMARC temperror.
  '_dmarc.broken.example': ['SERVFAIL'],
  'broken.example': [{ TXT: 'v=spf1 -all' }],
  // SPF times out, DMARC says reject: the failure may be DNS's fault.
  'slow.example': ['TIMEOUT'],
  '_dmarc.slow.example': [{ TXT: 'v=DMARC1; p=reject' }],
};
const zone = parseZone(ZONE);
assert.ok(zone.ok, zone.ok ? '' : zone.errors.join('; '));
const resolver = new MemoryResolver(zone.zone);

async function auth(domain: string, ip: string): Promise<Authentication> {
  const message = Buffer.from(`From: <a@${domain}>\r\nSubject: t\r\n\r\nbody\r\n`);
  const result = await authenticate(
    message,
    { ip, mailFrom: `a@${domain}`, helo: 'client.example' },
    { resolver, clock: { now: () => 1_800_000_000_000 }, authservId: 'mx.test' },
  );
  assert.ok(!('unverifiable' in result));
  return result;
}

const enforce: InboundPolicy = { ...DEFAULT_INBOUND_POLICY, enforce: true };

test('a DMARC pass is accepted with Authentication-Results and Received-SPF, in that order', async () => {
  const verdict = decideInbound(await auth('reject.example', '192.0.2.7'), enforce);
  assert.deepEqual(verdict.action, { kind: 'accept' });
  assert.equal(verdict.dmarc, 'pass');
  assert.match(verdict.headers[0] ?? '', /^Authentication-Results: mx\.test;/);
  assert.match(verdict.headers[1] ?? '', /^Received-SPF: pass/);
  assert.equal(verdict.headers.length, 2);
});

test('a p=reject failure is rejected with 550 5.7.1 naming the domain; a dry run only labels', async () => {
  const a = await auth('reject.example', '203.0.113.9');
  const verdict = decideInbound(a, enforce);
  assert.equal(verdict.action.kind, 'reject');
  assert.ok(verdict.action.kind === 'reject');
  assert.equal(verdict.action.reply.code, '550');
  assert.equal(verdict.action.reply.status, '5.7.1');
  assert.match(verdict.action.reply.text, /reject\.example/);
  const dry = decideInbound(a, DEFAULT_INBOUND_POLICY);
  assert.deepEqual(dry.action, { kind: 'accept' });
  assert.equal(dry.wouldHave, 'reject');
  assert.match(dry.reason, /^dry run: /);
  // The A-R comment says what was done: dis=reject when rejected, dis=none in the dry run.
  assert.match(a.headers.authenticationResults, /dmarc=fail\s+\(p=reject\s+dis=reject\)/);
  assert.match(dry.headers[0] ?? '', /dmarc=fail\s+\(p=reject\s+dis=none\)/);
  assert.deepEqual(dry.headers.slice(1), verdict.headers.slice(1));
});

test('p=quarantine: held by default, a header only when configured for the domain', async () => {
  const a = await auth('hold.example', '203.0.113.9');
  const held = decideInbound(a, enforce);
  assert.equal(held.action.kind, 'quarantine');
  assert.ok(held.action.kind === 'quarantine' && held.action.style === 'hold');
  assert.equal(held.headers.length, 2);
  const marked = decideInbound(a, { ...enforce, domains: new Map([['hold.example', { quarantine: 'header' }]]) });
  assert.ok(marked.action.kind === 'quarantine' && marked.action.style === 'header');
  assert.match(marked.headers[2] ?? '', new RegExp(`^${QUARANTINE_HEADER}: fails the DMARC policy of hold\\.example`));
});

test('a per-domain enforce:false turns one domain into a dry run', async () => {
  const a = await auth('reject.example', '203.0.113.9');
  const verdict = decideInbound(a, { ...enforce, domains: new Map([['reject.example', { enforce: false }]]) });
  assert.deepEqual([verdict.action.kind, verdict.wouldHave], ['accept', 'reject']);
});

test('p=none failures are accepted', async () => {
  const verdict = decideInbound(await auth('watch.example', '203.0.113.9'), enforce);
  assert.deepEqual([verdict.action.kind, verdict.dmarc, verdict.wouldHave], ['accept', 'fail', undefined]);
});

test('DNS failures are "could not check": 451 4.7.5, or accept when configured so', async () => {
  const broken = await auth('broken.example', '203.0.113.9');
  assert.equal(broken.dmarc.result, 'temperror');
  const verdict = decideInbound(broken, enforce);
  assert.ok(verdict.action.kind === 'tempfail');
  assert.deepEqual([verdict.action.reply.code, verdict.action.reply.status], ['451', '4.7.5']);
  assert.deepEqual(decideInbound(broken, { ...enforce, onDnsFailure: 'accept' }).action, { kind: 'accept' });

  // DMARC fails, but SPF for the author domain timed out: not the sender's fault.
  const slow = await auth('slow.example', '203.0.113.9');
  assert.equal(slow.dmarc.result, 'fail');
  assert.equal(slow.spf.mailFrom.result, 'temperror');
  assert.equal(decideInbound(slow, enforce).action.kind, 'tempfail');
  const acceptedSlow = decideInbound(slow, { ...enforce, onDnsFailure: 'accept' });
  assert.equal(acceptedSlow.action.kind, 'accept');
  assert.match(acceptedSlow.headers[0] ?? '', /dmarc=fail\s+\(p=reject\s+dis=none\)/);
});
