/**
 * Local policy (trusted forwarders, mailing lists, trusted ARC sealers, softer actions) and the
 * override reasons it reports (RFC 9990 PolicyOverrideType).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DmarcEvaluation, LocalPolicy, LocalPolicyEvidence } from '../src/index.js';
import { applyLocalPolicy, evaluateDmarc, parseLocalPolicy } from '../src/index.js';
import { resolverFor } from './support/dkim-keys.js';

const resolver = resolverFor({
  'example.com': [{ A: '192.0.2.1' }],
  '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject' }],
  'q.example': [{ A: '192.0.2.2' }],
  '_dmarc.q.example': [{ TXT: 'v=DMARC1; p=quarantine' }],
  'testing.example': [{ A: '192.0.2.3' }],
  '_dmarc.testing.example': [{ TXT: 'v=DMARC1; p=reject; t=y' }],
  'pct.example': [{ A: '192.0.2.4' }],
  '_dmarc.pct.example': [{ TXT: 'v=DMARC1; p=reject; pct=10' }],
  'broken.example': [{ A: '192.0.2.5' }],
  '_dmarc.broken.example': ['TIMEOUT'],
});

function policy(document: unknown): LocalPolicy {
  const parsed = parseLocalPolicy(document);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.policy;
}

async function failing(authorDomain = 'example.com'): Promise<DmarcEvaluation> {
  const evaluation = await evaluateDmarc({ authorDomain, dkim: [] }, { resolver });
  assert.equal(evaluation.result, authorDomain === 'broken.example' ? 'temperror' : 'fail');
  return evaluation;
}

const evidence = (extra: Partial<LocalPolicyEvidence> = {}): LocalPolicyEvidence => ({
  ip: '203.0.113.9',
  spf: [],
  dkim: [],
  listIds: [],
  ...extra,
});

const arcChain = (sets: [number, string, string][], result = 'pass'): LocalPolicyEvidence['arc'] => ({
  result,
  sets: sets.map(([instance, domain, aar]) => ({
    instance,
    sealer: { domain, selector: 's1' },
    authenticationResults: aar,
  })),
});

test('parseLocalPolicy: an empty document is no local policy', () => {
  const empty = policy(null);
  assert.deepEqual(empty.actions, { reject: 'reject', quarantine: 'quarantine' });
  assert.equal(empty.trustedArcSealers.length, 0);
});

test('parseLocalPolicy: a full document, normalised', () => {
  const p = policy({
    trustedArcSealers: ['Google.COM.'],
    trustedForwarders: { ips: ['192.0.2.0/24', '2001:db8::1'], domains: ['forwarder.example'] },
    mailingLists: ['dev.lists.example.org', { listId: 'x.example.net', domain: 'lists.example.net' }],
    actions: { reject: 'quarantine' },
  });
  assert.deepEqual(p.trustedArcSealers, ['google.com']);
  assert.deepEqual(
    p.trustedForwarders.networks.map((n) => [n.text, n.prefix]),
    [
      ['192.0.2.0/24', 24],
      ['2001:db8::1', 128],
    ],
  );
  assert.deepEqual(p.mailingLists, [
    { listId: 'dev.lists.example.org', domain: 'example.org' },
    { listId: 'x.example.net', domain: 'lists.example.net' },
  ]);
  assert.deepEqual(p.actions, { reject: 'quarantine', quarantine: 'quarantine' });
});

test('parseLocalPolicy: every error names the offending path', () => {
  const cases: [unknown, RegExp][] = [
    [[], /^local policy: expected a mapping/],
    [{ trustedForwarder: {} }, /^trustedForwarder: unknown key/],
    [{ trustedForwarders: { ips: ['192.0.2.0/33'] } }, /^trustedForwarders\.ips\[0\]: .*prefix outside 0\.\.32/],
    [
      { trustedForwarders: { ips: ['192.0.2.1', 'mx.example'] } },
      /^trustedForwarders\.ips\[1\]: .*not an IPv4 or IPv6/,
    ],
    [{ trustedForwarders: { ips: '192.0.2.1' } }, /^trustedForwarders\.ips: expected a list/],
    [{ trustedArcSealers: ['bad domain'] }, /^trustedArcSealers\[0\]: "bad domain" is not a domain name/],
    [{ trustedArcSealers: [42] }, /^trustedArcSealers\[0\]: expected a domain name/],
    [{ mailingLists: ['co.uk'] }, /^mailingLists\[0\]: "co\.uk" is a public suffix/],
    [{ mailingLists: [{ listId: 'a.example', dommain: 'b' }] }, /^mailingLists\[0\]\.dommain: unknown key/],
    [{ actions: { quarantine: 'reject' } }, /^actions\.quarantine: expected one of quarantine, none/],
    [{ actions: { reject: 'drop' } }, /^actions\.reject: expected one of reject, quarantine, none/],
  ];
  for (const [document, expected] of cases) {
    const parsed = parseLocalPolicy(document);
    assert.ok(!parsed.ok, JSON.stringify(document));
    assert.match(parsed.reason, expected);
  }
});

test('trusted forwarder by client address (IPv4 and IPv6 networks): action none, trusted_forwarder', async () => {
  const p = policy({ trustedForwarders: { ips: ['203.0.113.0/24', '2001:db8::/32'] } });
  for (const ip of ['203.0.113.9', '2001:db8:5::1', '::ffff:203.0.113.200']) {
    const applied = applyLocalPolicy(await failing(), evidence({ ip }), p);
    assert.deepEqual([applied.result, applied.disposition, applied.action], ['fail', 'reject', 'none'], ip);
    assert.equal(applied.overrides[0]?.type, 'trusted_forwarder');
    assert.match(applied.overrides[0]?.comment ?? '', /client .* is in /);
  }
  const outside = applyLocalPolicy(await failing(), evidence({ ip: '198.51.100.1' }), p);
  assert.equal(outside.action, 'reject');
  assert.deepEqual(outside.overrides, []);
});

test('trusted forwarder by domain needs that domain to authenticate (SPF or DKIM pass)', async () => {
  const p = policy({ trustedForwarders: { domains: ['forwarder.example'] } });
  const viaHelo = applyLocalPolicy(
    await failing(),
    evidence({ spf: [{ result: 'pass', domain: 'mx1.forwarder.example' }] }),
    p,
  );
  assert.equal(viaHelo.action, 'none');
  assert.match(viaHelo.overrides[0]?.comment ?? '', /authenticated as mx1\.forwarder\.example/);
  const viaDkim = applyLocalPolicy(
    await failing(),
    evidence({ dkim: [{ result: 'pass', domain: 'forwarder.example' }] }),
    p,
  );
  assert.equal(viaDkim.action, 'none');
  for (const claimed of [
    evidence({ spf: [{ result: 'fail', domain: 'forwarder.example' }] }),
    evidence({ dkim: [{ result: 'fail', domain: 'forwarder.example' }] }),
    evidence({ spf: [{ result: 'pass', domain: 'notforwarder.example' }] }),
  ]) {
    assert.equal(applyLocalPolicy(await failing(), claimed, p).action, 'reject');
  }
});

test('mailing list: the List-Id must match and the list domain must authenticate', async () => {
  const p = policy({ mailingLists: ['dev.lists.example.org'] });
  const listMail = evidence({
    listIds: ['dev.lists.example.org'],
    dkim: [{ result: 'pass', domain: 'lists.example.org' }],
  });
  const applied = applyLocalPolicy(await failing(), listMail, p);
  assert.equal(applied.action, 'none');
  assert.deepEqual(applied.overrides, [
    { type: 'mailing_list', comment: 'list dev.lists.example.org, authenticated as lists.example.org' },
  ]);
  // A forged List-Id without the list's authentication, or another list, changes nothing.
  const forged = evidence({ listIds: ['dev.lists.example.org'], dkim: [{ result: 'pass', domain: 'evil.example' }] });
  assert.equal(applyLocalPolicy(await failing(), forged, p).action, 'reject');
  const other = evidence({ listIds: ['other.lists.example.org'], dkim: [{ result: 'pass', domain: 'example.org' }] });
  assert.equal(applyLocalPolicy(await failing(), other, p).action, 'reject');
});

test('trusted ARC sealer: a passing chain whose trusted AAR recorded dmarc=pass for the author domain', async () => {
  const p = policy({ trustedArcSealers: ['forwarder.example'] });
  const aar = 'mx.forwarder.example; dkim=pass header.d=example.com; dmarc=pass header.from=example.com';
  const applied = applyLocalPolicy(await failing(), evidence({ arc: arcChain([[1, 'forwarder.example', aar]]) }), p);
  assert.equal(applied.action, 'none');
  // RFC 8617 §7.2.1's comment form.
  assert.deepEqual(applied.overrides, [
    { type: 'local_policy', comment: 'arc=pass as[1].d=forwarder.example as[1].s=s1' },
  ]);
  assert.match(applied.reasons.at(-1) ?? '', /^local policy: local_policy: arc=pass/);
});

test('trusted ARC sealer: no override for a failed chain, another author, no dmarc=pass, or an untrusted newer hop', async () => {
  const p = policy({ trustedArcSealers: ['forwarder.example'] });
  const good = 'mx.forwarder.example; dmarc=pass header.from=example.com';
  const cases: [string, LocalPolicyEvidence['arc']][] = [
    ['chain failed', arcChain([[1, 'forwarder.example', good]], 'fail')],
    ['other author', arcChain([[1, 'forwarder.example', 'mx; dmarc=pass header.from=other.example']])],
    ['dmarc failed there too', arcChain([[1, 'forwarder.example', 'mx; dmarc=fail header.from=example.com']])],
    ['untrusted sealer', arcChain([[1, 'stranger.example', good]])],
    [
      'untrusted newer hop',
      arcChain([
        [1, 'forwarder.example', good],
        [2, 'stranger.example', 'mx; dmarc=fail header.from=example.com'],
      ]),
    ],
    ['unparseable AAR', arcChain([[1, 'forwarder.example', 'dmarc=pass header.from=example.com; ((']])],
  ];
  for (const [label, arc] of cases) {
    const applied = applyLocalPolicy(await failing(), evidence({ ...(arc !== undefined && { arc }) }), p);
    assert.equal(applied.action, 'reject', label);
    assert.deepEqual(applied.overrides, [], label);
  }
  // Two trusted hops: the older one's dmarc=pass counts.
  const twoTrusted = arcChain([
    [1, 'forwarder.example', good],
    [2, 'relay.forwarder.example', 'mx; dmarc=fail header.from=example.com'],
  ]);
  assert.equal(applyLocalPolicy(await failing(), evidence({ arc: twoTrusted }), p).action, 'none');
});

test('actions: reject applied as quarantine is reported as local_policy; quarantine as none', async () => {
  const soft = policy({ actions: { reject: 'quarantine', quarantine: 'none' } });
  const rejected = applyLocalPolicy(await failing(), evidence(), soft);
  assert.deepEqual([rejected.disposition, rejected.action], ['reject', 'quarantine']);
  assert.deepEqual(rejected.overrides, [
    { type: 'local_policy', comment: 'site policy applies quarantine instead of reject' },
  ]);
  const quarantined = applyLocalPolicy(await failing('q.example'), evidence(), soft);
  assert.deepEqual([quarantined.disposition, quarantined.action], ['quarantine', 'none']);
  // An override takes precedence over the action table.
  const both = policy({ actions: { reject: 'quarantine' }, trustedForwarders: { ips: ['203.0.113.9'] } });
  const forwarded = applyLocalPolicy(await failing(), evidence(), both);
  assert.deepEqual([forwarded.action, forwarded.overrides.map((o) => o.type)], ['none', ['trusted_forwarder']]);
});

test('pass, none and temperror are never changed by local policy', async () => {
  const p = policy({ trustedForwarders: { ips: ['0.0.0.0/0'] }, actions: { reject: 'none' } });
  const pass = await evaluateDmarc(
    { authorDomain: 'example.com', dkim: [{ result: 'pass', domain: 'example.com' }] },
    { resolver },
  );
  assert.equal(applyLocalPolicy(pass, evidence(), p), pass);
  const temp = await failing('broken.example');
  assert.equal(applyLocalPolicy(temp, evidence(), p), temp);
  const none = await evaluateDmarc({ authorDomain: 'nowhere.example', dkim: [] }, { resolver });
  assert.equal(applyLocalPolicy(none, evidence(), p), none);
});

test('evaluateDmarc reports t=y as policy_test_mode and RFC 7489 sampling as sampled_out', async () => {
  const testing = await failing('testing.example');
  assert.deepEqual([testing.disposition, testing.action], ['quarantine', 'quarantine']);
  assert.deepEqual(testing.overrides, [{ type: 'policy_test_mode', comment: 't=y: reject applied as quarantine' }]);
  const sampled = await evaluateDmarc(
    { authorDomain: 'pct.example', dkim: [] },
    { resolver, mode: 'rfc7489', random: () => 0.5 },
  );
  assert.deepEqual(sampled.overrides, [{ type: 'sampled_out', comment: 'pct=10: reject applied as quarantine' }]);
});
