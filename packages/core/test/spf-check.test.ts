import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupResult, RecordType, Resolver, SpfOptions } from '../src/index.js';
import { MemoryResolver, checkHelo, checkMailFrom, formatReceivedSpf, parseZone } from '../src/index.js';

function resolverFor(zone: Record<string, unknown[]>): Resolver {
  const parsed = parseZone(zone);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  return new MemoryResolver(parsed.zone);
}

function options(zone: Record<string, unknown[]>, extra: Partial<SpfOptions> = {}): SpfOptions {
  return { resolver: resolverFor(zone), clock: Date, receiver: 'mx.receiver.example', ...extra };
}

const ZONE = {
  'example.com': [
    { TXT: 'v=spf1 mx a:mail.example.com ip6:2001:db8::/32 include:_spf.example.net -all' },
    { MX: [10, 'mx.example.com'] },
  ],
  'mx.example.com': [{ A: '192.0.2.10' }],
  'mail.example.com': [{ A: '192.0.2.20' }],
  '_spf.example.net': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 ~all' }],
  'helo.example.org': [{ TXT: 'v=spf1 a -all' }, { A: '203.0.113.5' }],
};

test('pass, fail and the counters and trace', async () => {
  const viaMx = await checkMailFrom({ ip: '192.0.2.10', mailFrom: 'user@example.com' }, options(ZONE));
  assert.equal(viaMx.result, 'pass');
  assert.deepEqual(viaMx.mechanism, { text: 'mx', domain: 'example.com' });
  assert.equal(viaMx.lookups, 1);
  assert.deepEqual(
    viaMx.trace.map((entry) => `${entry.name} ${entry.type} ${entry.outcome}`),
    ['example.com TXT answer', 'example.com MX answer', 'mx.example.com A answer'],
  );
  const viaInclude = await checkMailFrom({ ip: '198.51.100.7', mailFrom: 'user@example.com' }, options(ZONE));
  assert.equal(viaInclude.result, 'pass');
  assert.equal(viaInclude.lookups, 3);
  const ip6 = await checkMailFrom({ ip: '2001:db8::1', mailFrom: 'user@example.com' }, options(ZONE));
  assert.equal(ip6.result, 'pass');
  const fail = await checkMailFrom({ ip: '203.0.113.1', mailFrom: 'user@example.com' }, options(ZONE));
  assert.equal(fail.result, 'fail');
  assert.equal(fail.explanationSource, 'default');
  assert.match(fail.reason, /does not designate 203\.0\.113\.1/);
  const mapped = await checkMailFrom({ ip: '::ffff:192.0.2.20', mailFrom: 'user@example.com' }, options(ZONE));
  assert.equal(mapped.result, 'pass', 'IPv4-mapped IPv6 is checked as IPv4');
});

test('HELO identity and the null reverse-path', async () => {
  const helo = await checkHelo({ ip: '203.0.113.5', helo: 'helo.example.org' }, options(ZONE));
  assert.equal(helo.result, 'pass');
  assert.equal(helo.identity, 'helo');
  const nullSender = await checkMailFrom({ ip: '203.0.113.6', mailFrom: '', helo: 'helo.example.org' }, options(ZONE));
  assert.equal(nullSender.result, 'fail');
  assert.equal(nullSender.domain, 'helo.example.org');
  assert.match(nullSender.explanation ?? '', /postmaster@helo\.example\.org/);
  const literal = await checkHelo({ ip: '203.0.113.5', helo: '[203.0.113.5]' }, options(ZONE));
  assert.equal(literal.result, 'none');
});

test('a chain of 1,000 includes stops at the DNS term limit', async () => {
  const zone: Record<string, unknown[]> = {};
  for (let i = 0; i < 1000; i += 1)
    zone[`l${i}.chain.example`] = [{ TXT: `v=spf1 include:l${i + 1}.chain.example -all` }];
  zone['l1000.chain.example'] = [{ TXT: 'v=spf1 +all' }];
  const outcome = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@l0.chain.example' }, options(zone));
  assert.equal(outcome.result, 'permerror');
  assert.match(outcome.reason, /more than 10 DNS-querying/);
  assert.equal(outcome.trace.length, 11);
  const raised = await checkMailFrom(
    { ip: '192.0.2.1', mailFrom: 'a@l0.chain.example' },
    options(zone, { limits: { dnsTerms: 2000, maxDepth: 2000 } }),
  );
  assert.equal(raised.result, 'pass', 'limits are configurable');
});

test('include and redirect loops are permerrors that name the loop', async () => {
  const zone = {
    'a.loop.example': [{ TXT: 'v=spf1 include:b.loop.example -all' }],
    'b.loop.example': [{ TXT: 'v=spf1 include:a.loop.example -all' }],
    'r1.loop.example': [{ TXT: 'v=spf1 redirect=r2.loop.example' }],
    'r2.loop.example': [{ TXT: 'v=spf1 redirect=r1.loop.example' }],
  };
  const include = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@a.loop.example' }, options(zone));
  assert.equal(include.result, 'permerror');
  assert.match(include.reason, /include loop: a\.loop\.example -> b\.loop\.example -> a\.loop\.example/);
  const redirect = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@r1.loop.example' }, options(zone));
  assert.equal(redirect.result, 'permerror');
  assert.match(redirect.reason, /redirect loop/);
});

test('void lookups beyond two are a permerror', async () => {
  const zone = { 'void.example': [{ TXT: 'v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example -all' }] };
  const outcome = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@void.example' }, options(zone));
  assert.equal(outcome.result, 'permerror');
  assert.equal(outcome.voidLookups, 3);
  assert.match(outcome.reason, /void lookup limit/);
});

test('more than 10 MX names is a permerror; more than 10 PTR names are ignored', async () => {
  const mx = Array.from({ length: 11 }, (_, i) => ({ MX: [i, `mx${i}.many.example`] }));
  const outcome = await checkMailFrom(
    { ip: '192.0.2.1', mailFrom: 'a@many.example' },
    options({ 'many.example': [{ TXT: 'v=spf1 mx -all' }, ...mx] }),
  );
  assert.equal(outcome.result, 'permerror');
  assert.match(outcome.reason, /11 MX records/);
});

test('a resolver that never answers ends in temperror within the time budget', async () => {
  const never: Resolver = {
    lookup<T extends RecordType>(): Promise<LookupResult<T>> {
      return new Promise(() => undefined);
    },
  };
  const started = Date.now();
  const outcome = await checkMailFrom(
    { ip: '192.0.2.1', mailFrom: 'a@slow.example' },
    { resolver: never, clock: Date, limits: { timeBudgetMs: 150 } },
  );
  assert.equal(outcome.result, 'temperror');
  assert.match(outcome.reason, /time budget/);
  assert.ok(Date.now() - started < 2_000);
});

test('several SPF records, a syntax error deep in the record, and exp= expansion', async () => {
  const zone = {
    'two.example': [{ TXT: 'v=spf1 -all' }, { TXT: 'v=spf1 +all' }],
    'bad.example': [{ TXT: 'v=spf1 ip4:192.0.2.1 -all ip4:192.0.2.256' }],
    'exp.example': [{ TXT: 'v=spf1 -all exp=why.exp.example' }],
    'why.exp.example': [{ TXT: '%{i} may not send for %{d} (see %{r})' }],
  };
  const two = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@two.example' }, options(zone));
  assert.equal(two.result, 'permerror');
  assert.match(two.reason, /2 SPF records/);
  const bad = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@bad.example' }, options(zone));
  assert.equal(bad.result, 'permerror', 'errors anywhere in the record are detected before evaluation');
  assert.match(bad.reason, /position 31/);
  const exp = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@exp.example' }, options(zone));
  assert.equal(exp.explanation, '192.0.2.1 may not send for exp.example (see mx.receiver.example)');
  assert.equal(exp.explanationSource, 'exp');
});

test('Received-SPF header (RFC 7208 §9.1)', async () => {
  const outcome = await checkMailFrom(
    { ip: '192.0.2.10', mailFrom: 'user@example.com', helo: 'mx.example.com' },
    options(ZONE),
  );
  const header = formatReceivedSpf(outcome, {
    clientIp: '192.0.2.10',
    envelopeFrom: 'user@example.com',
    helo: 'mx.example.com',
    receiver: 'mx.receiver.example',
  });
  assert.equal(
    header,
    'Received-SPF: pass\r\n' +
      '\t(mx.receiver.example: domain of user@example.com designates 192.0.2.10 as permitted sender)\r\n' +
      '\tclient-ip=192.0.2.10; envelope-from="user@example.com"; helo=mx.example.com;\r\n' +
      '\tmechanism=mx; identity=mailfrom; receiver=mx.receiver.example;',
  );
  assert.ok(header.split('\r\n').every((line) => line.length <= 998));
  const ip6 = await checkMailFrom({ ip: '2001:db8::1', mailFrom: 'user@example.com' }, options(ZONE));
  const quoted = formatReceivedSpf(ip6, {
    clientIp: '2001:db8::1',
    envelopeFrom: 'user@example.com',
    receiver: 'r.example',
  });
  assert.match(quoted, /client-ip="2001:db8::1";/);
  assert.match(quoted, /mechanism="ip6:2001:db8::\/32";/);
});

test('a 1 MB SPF record through the in-memory resolver is evaluated in bounded time', async () => {
  const terms = Array.from({ length: 60_000 }, (_, i) => `ip4:10.${(i >> 8) & 255}.${i & 255}.0/24`);
  const record = `v=spf1 ${terms.join(' ')} ip4:192.0.2.0/24 -all`;
  assert.ok(record.length > 1_000_000);
  const zone = { 'huge.example': [{ TXT: record }], 'hugebad.example': [{ TXT: `${record} bogus` }] };
  const started = performance.now();
  const pass = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@huge.example' }, options(zone));
  assert.equal(pass.result, 'pass');
  const fail = await checkMailFrom({ ip: '203.0.113.1', mailFrom: 'a@huge.example' }, options(zone));
  assert.equal(fail.result, 'fail');
  const bad = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@hugebad.example' }, options(zone));
  assert.equal(bad.result, 'permerror');
  assert.match(bad.reason, /unknown mechanism "bogus"/);
  assert.ok(bad.reason.length < 500, 'the reason does not repeat the whole record');
  assert.ok(performance.now() - started < 10_000);
});

test('Received-SPF stays US-ASCII, says mechanism=default when nothing matched, and keeps problem= short', async () => {
  const zone = {
    'neutral.example': [{ TXT: 'v=spf1 ip4:198.51.100.1' }],
    'hostile.example': [{ TXT: 'v=spf1 a:foo\u00e9.example ' + 'x'.repeat(2000) }],
  };
  const neutral = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@neutral.example' }, options(zone));
  const header = formatReceivedSpf(neutral, {
    clientIp: '192.0.2.1',
    envelopeFrom: 'a@neutral.example',
    receiver: 'r.example',
  });
  assert.match(header, /mechanism=default;/);
  const hostile = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a\u00e9@hostile.example' }, options(zone));
  assert.equal(hostile.result, 'permerror');
  const bad = formatReceivedSpf(hostile, {
    clientIp: '192.0.2.1',
    envelopeFrom: 'a\u00e9@hostile.example',
    receiver: 'r.example',
  });
  assert.match(bad, /^[\x20-\x7e\r\n\t]+$/);
  assert.ok(bad.length < 600);
});

test('sender-controlled macros: an unusable expansion does not match; void lookups count once per term', async () => {
  const zone = {
    'macro.example': [{ TXT: 'v=spf1 exists:%{l}.x.macro.example -all' }],
    'v6.example': [
      { TXT: 'v=spf1 a mx ip6:2001:db8::/32 -all' },
      { A: '192.0.2.1' },
      { MX: [1, 'h1.v6.example'] },
      { MX: [2, 'h2.v6.example'] },
    ],
    'h1.v6.example': [{ A: '192.0.2.2' }],
    'h2.v6.example': [{ A: '192.0.2.3' }],
  };
  const long = await checkMailFrom(
    { ip: '192.0.2.1', mailFrom: `${'\u00e9'.repeat(40)}@macro.example` },
    options(zone),
  );
  assert.equal(long.result, 'fail', 'an 80-octet label cannot exist: no match, not temperror or permerror');
  const dots = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a..b@macro.example' }, options(zone));
  assert.equal(dots.result, 'fail');
  const v6 = await checkMailFrom({ ip: '2001:db8::25', mailFrom: 'a@v6.example' }, options(zone));
  assert.equal(
    v6.result,
    'pass',
    'a and both MX hosts find no AAAA: counted per query that is 3 (permerror); per term it is 2',
  );
  assert.equal(v6.voidLookups, 2);
});

test('a malformed MAIL FROM domain gives none; %{o} is normalised', async () => {
  const zone = {
    'example.com': [{ TXT: 'v=spf1 exists:%{o}.allow.example.net -all' }],
    'example.com.allow.example.net': [{ A: '127.0.0.2' }],
  };
  const dots = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@example.com..' }, options(zone));
  assert.equal(dots.result, 'none');
  const upper = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@Example.COM.' }, options(zone));
  assert.equal(upper.result, 'pass');
});
