/** The journal row of a message, built from real authenticate() results over an in-memory zone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import {
  MemoryResolver,
  authenticate,
  parseLocalPolicy,
  parseZone,
  signDkim,
  type Authentication,
} from '@mailward/core';
import { decideInbound, DEFAULT_INBOUND_POLICY, verdictRecord, type InboundPolicy } from '../src/index.js';

const NOW = 1_800_000_000_000;
const clock = { now: () => NOW };
const key = generateKeyPairSync('ed25519');
const der = key.publicKey.export({ type: 'spki', format: 'der' });
const zone = parseZone({
  'example.org': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'ed._domainkey.example.org': [{ TXT: `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}` }],
  '_dmarc.example.org': [{ TXT: 'v=DMARC1; p=reject; sp=quarantine; adkim=s; fo=1' }],
  'bounce.example.org': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'testing.example': [{ TXT: 'v=spf1 -all' }],
  '_dmarc.testing.example': [{ TXT: 'v=DMARC1; p=reject; t=y' }],
  'nopolicy.example': [{ TXT: 'v=spf1 -all' }],
});
assert.ok(zone.ok, zone.ok ? '' : zone.errors.join('; '));
const resolver = new MemoryResolver(zone.zone);

const plain = (from: string) =>
  Buffer.from(
    `From: ${from}\r\nTo: <bob@mx.test>\r\nSubject: t\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n\r\nHi.\r\n`,
  );

async function auth(message: Uint8Array, ip: string, mailFrom: string, localPolicy?: unknown): Promise<Authentication> {
  const policy = localPolicy === undefined ? undefined : parseLocalPolicy(localPolicy);
  if (policy !== undefined) assert.ok(policy.ok, policy.ok ? '' : policy.reason);
  const result = await authenticate(
    message,
    { ip, mailFrom, helo: 'client.example' },
    {
      resolver,
      clock,
      authservId: 'mx.test',
      ...(policy?.ok === true ? { localPolicy: policy.policy } : {}),
    },
  );
  assert.ok(!('unverifiable' in result));
  return result;
}

const enforce: InboundPolicy = { ...DEFAULT_INBOUND_POLICY, enforce: true };
const envelope = (mailFrom: string, ip = '192.0.2.10') => ({
  ip,
  helo: 'client.example',
  mailFrom,
  recipients: ['bob@MX.test', 'carol@mx.test', 'dave@other.test'],
  queueId: 'Q1',
});
const options = { receiver: 'milter' as const, clock };

test('a signed, SPF-passing message: every RFC 9990 field; DKIM aligned (strict), SPF aligned (relaxed: a subdomain)', async () => {
  const signed = signDkim(
    plain('Alice <alice@example.org>'),
    [{ domain: 'example.org', selector: 'ed', privateKey: key.privateKey }],
    { clock },
  ).message;
  const a = await auth(signed, '192.0.2.10', 'bounces@bounce.example.org');
  const record = verdictRecord(a, decideInbound(a, enforce), envelope('bounces@bounce.example.org'), options);
  assert.deepEqual(record, {
    time: NOW,
    receiver: 'milter',
    queueId: 'Q1',
    sourceIp: '192.0.2.10',
    helo: 'client.example',
    envelopeFrom: 'bounce.example.org',
    headerFrom: 'example.org',
    envelopeTo: ['mx.test', 'other.test'],
    policyPublished: {
      domain: 'example.org',
      adkim: 's',
      aspf: 'r',
      p: 'reject',
      sp: 'quarantine',
      fo: '1',
      testing: 'n',
      discoveryMethod: 'treewalk',
    },
    policyDomain: 'example.org',
    policyEvaluated: { disposition: 'pass', dkim: 'pass', spf: 'pass', reasons: [] },
    authResults: {
      dkim: [{ domain: 'example.org', selector: 'ed', result: 'pass' }],
      spf: [{ domain: 'bounce.example.org', scope: 'mfrom', result: 'pass' }],
    },
    dmarc: 'pass',
    action: 'accept',
    testing: false,
  });
});

test('a p=reject failure: enforced it is reject; in a dry run none with a local_policy reason and wouldHave', async () => {
  const a = await auth(plain('<alice@example.org>'), '203.0.113.9', 'alice@example.org');
  const enforced = verdictRecord(a, decideInbound(a, enforce), envelope('alice@example.org', '203.0.113.9'), options);
  assert.equal(enforced.dmarc, 'fail');
  assert.equal(enforced.action, 'reject');
  assert.equal(enforced.wouldHave, undefined);
  assert.deepEqual(enforced.policyEvaluated, { disposition: 'reject', dkim: 'fail', spf: 'fail', reasons: [] });
  assert.deepEqual(enforced.authResults, {
    dkim: [],
    spf: [{ domain: 'example.org', scope: 'mfrom', result: 'fail' }],
  });
  const dry = verdictRecord(
    a,
    decideInbound(a, DEFAULT_INBOUND_POLICY),
    envelope('alice@example.org', '203.0.113.9'),
    options,
  );
  assert.equal(dry.action, 'accept');
  assert.equal(dry.wouldHave, 'reject');
  assert.deepEqual(dry.policyEvaluated.disposition, 'none');
  assert.deepEqual(dry.policyEvaluated.reasons, [
    { type: 'local_policy', comment: 'not enforced (dry run): would have rejected' },
  ]);
});

test('t=y and local policy overrides become reasons; the testing flag is set', async () => {
  const a = await auth(plain('<x@testing.example>'), '203.0.113.9', 'x@testing.example');
  const record = verdictRecord(a, decideInbound(a, enforce), envelope('x@testing.example', '203.0.113.9'), options);
  assert.equal(record.testing, true);
  assert.equal(record.policyPublished?.testing, 'y');
  assert.equal(record.policyEvaluated.disposition, 'quarantine');
  assert.deepEqual(
    record.policyEvaluated.reasons.map((r) => r.type),
    ['policy_test_mode'],
  );

  const forwarded = await auth(plain('<alice@example.org>'), '203.0.113.9', 'alice@example.org', {
    trustedForwarders: { ips: ['203.0.113.0/24'] },
  });
  const kept = verdictRecord(forwarded, decideInbound(forwarded, enforce), envelope('alice@example.org'), options);
  assert.equal(kept.action, 'accept');
  assert.equal(kept.policyEvaluated.disposition, 'none');
  assert.equal(kept.policyEvaluated.reasons[0]?.type, 'trusted_forwarder');
});

test('no DMARC record: no policy_published, the author domain as policy domain; the null reverse-path', async () => {
  const a = await auth(plain('<x@NoPolicy.example>'), '203.0.113.9', '');
  const record = verdictRecord(a, decideInbound(a, enforce), envelope('', '203.0.113.9'), options);
  assert.equal(record.policyPublished, undefined);
  assert.equal(record.policyDomain, 'nopolicy.example');
  assert.equal(record.headerFrom, 'nopolicy.example');
  assert.equal(record.envelopeFrom, '');
  assert.equal(record.dmarc, 'none');
  assert.equal(record.policyEvaluated.disposition, 'none');
});

test('several From domains: exempt, header_from lists them, policy domain empty of a record', async () => {
  const a = await auth(plain('<a@example.org>, <b@nopolicy.example>'), '192.0.2.10', 'a@example.org');
  const record = verdictRecord(a, decideInbound(a, enforce), envelope('a@example.org'), {
    receiver: 'exim',
    clock,
  });
  assert.equal(record.receiver, 'exim');
  assert.equal(record.headerFrom, 'example.org, nopolicy.example');
  assert.equal(record.policyDomain, 'example.org, nopolicy.example');
  assert.equal(record.policyPublished, undefined);
  assert.equal(record.dmarc, 'none');
});
