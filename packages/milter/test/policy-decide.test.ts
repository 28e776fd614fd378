import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryResolver, parseZone, type Resolver } from '@mailward/core';
import {
  DEFAULT_POLICY_ACTIONS,
  DEFAULT_POLICY_LISTEN,
  InstanceCache,
  PolicyEvaluator,
  compilePolicySettings,
  findNetwork,
  parseNetworks,
  type PolicyRequest,
  type PolicySettings,
} from '../src/index.js';
import { parseClientIp } from '@mailward/core';

const ZONE = {
  'pass.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'fail.example': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
  'exp.example': [{ TXT: 'v=spf1 -all exp=why.exp.example' }],
  'why.exp.example': [{ TXT: '%{i} may not send for %{d}; ask postmaster@%{d}' }],
  'soft.example': [{ TXT: 'v=spf1 ~all' }],
  'neutral.example': [{ TXT: 'v=spf1 ?all' }],
  'nospf.example': [{ TXT: 'just a text record' }],
  'broken.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/33 -all' }],
  'servfail.example': ['SERVFAIL'],
  'mx.pass.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'mx.fail.example': [{ TXT: 'v=spf1 -all' }],
};
const zone = parseZone(ZONE);
assert.ok(zone.ok, zone.ok ? '' : zone.errors.join('; '));

/** Counts lookups, so tests can see that a cached answer asked DNS nothing. */
class CountingResolver implements Resolver {
  queries = 0;
  constructor(private readonly inner: Resolver) {}
  lookup: Resolver['lookup'] = (...args) => {
    this.queries += 1;
    return this.inner.lookup(...args);
  };
}

const BASE: PolicySettings = {
  listen: DEFAULT_POLICY_LISTEN,
  receiver: 'mx.receiver.test',
  dns: { servers: [], timeoutMs: 1000 },
  helo: true,
  actions: DEFAULT_POLICY_ACTIONS,
  skipHosts: [],
  skipAuthenticated: true,
  cache: { ttlSeconds: 60, maxEntries: 100 },
};

function evaluator(settings: Partial<PolicySettings> = {}, now = { t: 1_800_000_000_000 }) {
  const compiled = compilePolicySettings({ ...BASE, ...settings });
  assert.ok(compiled.ok, compiled.ok ? '' : compiled.error);
  const resolver = new CountingResolver(new MemoryResolver(zone.ok ? zone.zone : new Map()));
  return { resolver, policy: new PolicyEvaluator(compiled.compiled, { resolver, clock: { now: () => now.t } }) };
}

function request(fields: Record<string, string>): PolicyRequest {
  return {
    attributes: new Map(
      Object.entries({
        request: 'smtpd_access_policy',
        protocol_state: 'RCPT',
        client_address: '192.0.2.10',
        helo_name: 'mx.pass.example',
        recipient: 'bob@receiver.test',
        instance: 'i1',
        sasl_username: '',
        ...fields,
      }),
    ),
  };
}

test('pass: Received-SPF is prepended, on one line', async () => {
  const { policy } = evaluator();
  const answer = await policy.answer(request({ sender: 'alice@pass.example' }));
  assert.equal(
    answer.action,
    'PREPEND Received-SPF: pass (mx.receiver.test: domain of alice@pass.example designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from="alice@pass.example"; helo=mx.pass.example; mechanism="ip4:192.0.2.0/24"; identity=mailfrom; receiver=mx.receiver.test;',
  );
  assert.equal(answer.decision?.summary, 'result=pass identity=mailfrom mailfrom-result=pass helo-result=pass');
  assert.match(
    answer.logLine,
    /^client=192\.0\.2\.10 helo=mx\.pass\.example sender=<alice@pass\.example> recipient=<bob@receiver\.test> instance=i1 result=pass identity=mailfrom mailfrom-result=pass helo-result=pass action=PREPEND Received-SPF: pass$/,
  );
});

test('fail: 550 5.7.23 with the default explanation', async () => {
  const { policy } = evaluator();
  const answer = await policy.answer(request({ sender: 'mallory@fail.example' }));
  assert.equal(
    answer.action,
    '550 5.7.23 SPF validation failed for sender mallory@fail.example: fail.example does not designate 192.0.2.10 as permitted sender of mail from mallory@fail.example',
  );
  assert.equal(answer.decision?.kind, 'reject');
});

test("fail with exp=: the domain's own explanation, macros expanded (RFC 7208 §6.2, §8.4)", async () => {
  const { policy } = evaluator();
  const answer = await policy.answer(request({ sender: 'x@exp.example' }));
  assert.equal(
    answer.action,
    '550 5.7.23 SPF validation failed for sender x@exp.example: 192.0.2.10 may not send for exp.example; ask postmaster@exp.example',
  );
});

test('softfail, neutral, none and permerror are prepended by default (policyd-spf)', async () => {
  const { policy } = evaluator();
  for (const [domain, result] of [
    ['soft.example', 'softfail'],
    ['neutral.example', 'neutral'],
    ['nospf.example', 'none'],
    ['broken.example', 'permerror'],
  ] as const) {
    const answer = await policy.answer(request({ sender: `a@${domain}`, instance: domain }));
    assert.ok(answer.action.startsWith(`PREPEND Received-SPF: ${result} `), answer.action);
  }
});

test('temperror: DEFER_IF_PERMIT 4.7.24, saying to try again', async () => {
  const { policy } = evaluator();
  const answer = await policy.answer(request({ sender: 'a@servfail.example' }));
  assert.match(
    answer.action,
    /^DEFER_IF_PERMIT 4\.7\.24 SPF could not be checked for sender a@servfail\.example \(DNS error; try again later\): /,
  );
});

test('actions follow the settings: softfail rejected, temperror rejected (5.7.24), fail deferred (4.7.23), dunno', async () => {
  const { policy } = evaluator({
    actions: { ...DEFAULT_POLICY_ACTIONS, softfail: 'reject', temperror: 'reject', fail: 'defer', pass: 'dunno' },
  });
  const soft = await policy.answer(request({ sender: 'a@soft.example' }));
  assert.match(soft.action, /^550 5\.7\.23 SPF softfail for sender a@soft\.example: /);
  const temp = await policy.answer(request({ sender: 'a@servfail.example' }));
  assert.match(temp.action, /^550 5\.7\.24 SPF could not be checked/);
  const fail = await policy.answer(request({ sender: 'a@fail.example' }));
  assert.match(fail.action, /^DEFER_IF_PERMIT 4\.7\.23 SPF validation failed/);
  assert.equal((await policy.answer(request({ sender: 'a@pass.example' }))).action, 'DUNNO');
});

test('null sender: postmaster@HELO is the MAIL FROM identity (RFC 7208 §2.4); no second HELO check', async () => {
  const { policy } = evaluator();
  const fail = await policy.answer(request({ sender: '', helo_name: 'mx.fail.example', client_address: '192.0.2.10' }));
  assert.match(
    fail.action,
    /^550 5\.7\.23 SPF validation failed for null sender, checked as postmaster@mx\.fail\.example: mx\.fail\.example does not designate 192\.0\.2\.10 as permitted sender of mail from postmaster@mx\.fail\.example$/,
  );
  assert.equal(fail.decision?.summary, 'result=fail identity=mailfrom');
  const pass = await policy.answer(request({ sender: '', helo_name: 'mx.pass.example', instance: 'i2' }));
  assert.match(
    pass.action,
    /^PREPEND Received-SPF: pass \(mx\.receiver\.test: domain of postmaster@mx\.pass\.example designates/,
  );
  assert.match(pass.action, /envelope-from=""; helo=mx\.pass\.example;/);
});

test('a HELO fail acts like a fail even when MAIL FROM passes; with helo off it is not checked', async () => {
  const on = evaluator().policy;
  const rejected = await on.answer(request({ sender: 'alice@pass.example', helo_name: 'mx.fail.example' }));
  assert.match(
    rejected.action,
    /^550 5\.7\.23 SPF validation failed for HELO name mx\.fail\.example: mx\.fail\.example does not designate/,
  );
  assert.equal(rejected.decision?.summary, 'result=fail identity=helo mailfrom-result=pass helo-result=fail');
  const off = evaluator({ helo: false });
  const passed = await off.policy.answer(request({ sender: 'alice@pass.example', helo_name: 'mx.fail.example' }));
  assert.match(passed.action, /^PREPEND Received-SPF: pass /);
  assert.equal(passed.decision?.summary, 'result=pass identity=mailfrom');
});

test('skipped: listed networks, authenticated clients, other states and request kinds get DUNNO without DNS', async () => {
  const { policy, resolver } = evaluator({ skipHosts: ['10.0.0.0/8', '2001:db8::/32'] });
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ client_address: '10.1.2.3' }, /client in skipped network 10\.0\.0\.0\/8/],
    [{ client_address: '::ffff:10.9.9.9' }, /client in skipped network 10\.0\.0\.0\/8/],
    [{ client_address: '2001:db8:1::5' }, /client in skipped network 2001:db8::\/32/],
    [{ sasl_username: 'alice' }, /client authenticated as alice/],
    [{ protocol_state: 'END-OF-MESSAGE' }, /protocol_state END-OF-MESSAGE: SPF is checked at MAIL or RCPT/],
    [{ request: 'junk' }, /request=junk is not smtpd_access_policy/],
    [{ client_address: 'unknown' }, /client_address "unknown" is not an IP address/],
  ];
  for (const [fields, reason] of cases) {
    const answer = await policy.answer(request({ sender: 'a@fail.example', ...fields }));
    assert.equal(answer.action, 'DUNNO', JSON.stringify(fields));
    assert.match(answer.logLine, reason);
  }
  assert.equal(resolver.queries, 0);
  const { policy: noSkip } = evaluator({ skipAuthenticated: false });
  assert.match((await noSkip.answer(request({ sender: 'a@fail.example', sasl_username: 'alice' }))).action, /^550 /);
});

test('no protocol_state and no request (a bare Exim request) is checked like RCPT', async () => {
  const { policy } = evaluator();
  const bare: PolicyRequest = {
    attributes: new Map([
      ['client_address', '192.0.2.10'],
      ['helo_name', 'mx.pass.example'],
      ['sender', 'x@fail.example'],
    ]),
  };
  assert.match((await policy.answer(bare)).action, /^550 5\.7\.23 /);
});

test('several RCPTs of one instance cost one evaluation; a new sender or instance evaluates again', async () => {
  const { policy, resolver } = evaluator();
  const first = await policy.answer(request({ sender: 'alice@pass.example', recipient: 'r1@receiver.test' }));
  const queries = resolver.queries;
  const [second, third] = await Promise.all([
    policy.answer(request({ sender: 'alice@pass.example', recipient: 'r2@receiver.test' })),
    policy.answer(request({ sender: 'alice@pass.example', recipient: 'r3@receiver.test' })),
  ]);
  assert.equal(policy.evaluations, 1);
  assert.equal(resolver.queries, queries);
  // Postfix prepends once per request: only the first recipient's answer carries the field.
  assert.match(first.action, /^PREPEND Received-SPF: pass /);
  assert.equal(second.action, 'DUNNO');
  assert.equal(third.cached, true);
  assert.match(
    third.logLine,
    /recipient=<r3@receiver\.test> .*\(cached; header prepended for the first recipient\) action=DUNNO$/,
  );
  await policy.answer(request({ sender: 'other@pass.example' }));
  await policy.answer(request({ sender: 'alice@pass.example', instance: 'i9' }));
  await policy.answer(request({ sender: 'alice@pass.example', client_address: '192.0.2.11' }));
  assert.equal(policy.evaluations, 4);
});

test('concurrent requests of one instance share the evaluation in flight', async () => {
  const { policy } = evaluator();
  const answers = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      policy.answer(request({ sender: 'a@fail.example', recipient: `r${i}@x.test` })),
    ),
  );
  assert.equal(policy.evaluations, 1);
  assert.equal(answers.filter((a) => a.cached).length, 4);
  // A reject is repeated for every recipient: each RCPT needs its own 550.
  assert.equal(new Set(answers.map((a) => a.action)).size, 1);
  assert.match(answers[4]?.action ?? '', /^550 5\.7\.23 /);
});

test('without an instance (Exim) a cached prepend is repeated: the hit may be another message', async () => {
  const { policy } = evaluator();
  const first = await policy.answer(request({ sender: 'alice@pass.example', instance: '' }));
  const again = await policy.answer(request({ sender: 'alice@pass.example', instance: '' }));
  assert.equal(policy.evaluations, 1);
  assert.equal(again.cached, true);
  assert.equal(again.action, first.action);
});

test('the cache expires after its TTL and holds at most maxEntries; TTL 0 turns it off', async () => {
  const now = { t: 1_000_000 };
  const cache = new InstanceCache<string>({ ttlMs: 1000, maxEntries: 2 }, () => now.t);
  const key = (instance: string) => ({ instance, clientAddress: '192.0.2.1', sender: 'a@b.example', heloName: 'h' });
  cache.set(key('a'), 'A');
  cache.set(key('b'), 'B');
  cache.set(key('c'), 'C');
  assert.equal(cache.size, 2);
  assert.equal(cache.get(key('a')), undefined, 'the oldest entry went');
  assert.equal(cache.get(key('c')), 'C');
  assert.equal(cache.get({ ...key('c'), sender: 'A@b.example' }), undefined, 'sender is part of the key, exactly');
  now.t += 1000;
  assert.equal(cache.get(key('c')), undefined, 'expired');
  const off = new InstanceCache<string>({ ttlMs: 0, maxEntries: 10 }, () => now.t);
  off.set(key('a'), 'A');
  assert.equal(off.get(key('a')), undefined);

  const clock = { t: 1_800_000_000_000 };
  const { policy } = evaluator({ cache: { ttlSeconds: 30, maxEntries: 10 } }, clock);
  await policy.answer(request({ sender: 'a@pass.example' }));
  clock.t += 31_000;
  await policy.answer(request({ sender: 'a@pass.example' }));
  assert.equal(policy.evaluations, 2);
});

test('networks: CIDRs and single addresses parse and match; bad ones are named', () => {
  const parsed = parseNetworks(['192.0.2.0/24', '203.0.113.7', '2001:db8::/32', '::1', '0.0.0.0/0']);
  assert.ok(parsed.ok);
  const ip = (text: string) => parseClientIp(text) ?? assert.fail(text);
  assert.equal(findNetwork(ip('192.0.2.200'), parsed.networks)?.text, '192.0.2.0/24');
  assert.equal(findNetwork(ip('203.0.113.7'), parsed.networks)?.text, '203.0.113.7');
  assert.equal(findNetwork(ip('2001:db8:ffff::1'), parsed.networks)?.text, '2001:db8::/32');
  assert.equal(findNetwork(ip('::1'), parsed.networks)?.text, '::1');
  assert.equal(findNetwork(ip('2001:db9::1'), parsed.networks), undefined);
  assert.equal(findNetwork(ip('8.8.8.8'), parsed.networks)?.text, '0.0.0.0/0');
  const v6 = parseNetworks(['2001:db8:8000::/33']);
  assert.ok(v6.ok);
  assert.equal(findNetwork(ip('2001:db8:8000::1'), v6.networks)?.text, '2001:db8:8000::/33');
  assert.equal(findNetwork(ip('2001:db8:7fff::1'), v6.networks), undefined);
  assert.deepEqual(parseNetworks(['192.0.2.0/33']), { ok: false, error: '"192.0.2.0/33": prefix length must be 0-32' });
  assert.deepEqual(parseNetworks(['mx.example']), {
    ok: false,
    error: '"mx.example" is not an IP address or CIDR network',
  });
});

test('settings are validated once, with a clear message', () => {
  assert.deepEqual(compilePolicySettings({ ...BASE, skipHosts: ['10/8'] }), {
    ok: false,
    error: 'skip hosts: "10/8" is not an IP address or CIDR network',
  });
  const badAction = { ...BASE, actions: { ...DEFAULT_POLICY_ACTIONS, fail: 'drop' as never } };
  assert.deepEqual(compilePolicySettings(badAction), {
    ok: false,
    error: 'action for fail is "drop": use reject, defer, prepend, dunno',
  });
  assert.equal(compilePolicySettings({ ...BASE, receiver: 'a b' }).ok, false);
});
