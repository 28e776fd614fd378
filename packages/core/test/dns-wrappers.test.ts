import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock, LookupResult, RecordType, Resolver } from '../src/index.js';
import { BudgetResolver, CachingResolver, MemoryResolver, QueryLogResolver, parseZone } from '../src/index.js';

class FakeClock implements Clock {
  constructor(public time = 1_000_000) {}
  now(): number {
    return this.time;
  }
}

class CountingResolver implements Resolver {
  calls = 0;
  constructor(private readonly inner: Resolver) {}
  lookup<T extends RecordType>(name: string, type: T): Promise<LookupResult<T>> {
    this.calls += 1;
    return this.inner.lookup(name, type);
  }
}

function memory(zone: Record<string, unknown[]>): MemoryResolver {
  const parsed = parseZone(zone);
  assert.ok(parsed.ok);
  return new MemoryResolver(parsed.zone);
}

test('cache: answers live for their TTL, negative answers for the negative TTL, failures are not cached', async () => {
  const clock = new FakeClock();
  const counting = new CountingResolver(
    memory({ 'a.example': [{ A: '192.0.2.1', ttl: 60 }], 'bad.example': ['SERVFAIL'] }),
  );
  const cache = new CachingResolver(counting, clock, { negativeTtl: 10 });
  await cache.lookup('a.example', 'A');
  await cache.lookup('A.EXAMPLE.', 'A');
  assert.equal(counting.calls, 1);
  clock.time += 61_000;
  await cache.lookup('a.example', 'A');
  assert.equal(counting.calls, 2);
  await cache.lookup('none.example', 'A');
  await cache.lookup('none.example', 'A');
  assert.equal(counting.calls, 3);
  clock.time += 11_000;
  await cache.lookup('none.example', 'A');
  assert.equal(counting.calls, 4);
  await cache.lookup('bad.example', 'A');
  await cache.lookup('bad.example', 'A');
  assert.equal(counting.calls, 6);
});

test('cache: a lookup with checking disabled (CD bit) is neither served from the cache nor stored', async () => {
  const seen: (boolean | undefined)[] = [];
  const inner: Resolver = {
    lookup: <T extends RecordType>(name: string, type: T, options?: { checkingDisabled?: boolean }) => {
      seen.push(options?.checkingDisabled);
      return memory({ 'a.example': [{ A: '192.0.2.1', ttl: 60 }] }).lookup(name, type);
    },
  };
  const cache = new CachingResolver(inner, new FakeClock());
  await cache.lookup('a.example', 'A');
  await cache.lookup('a.example', 'A', { checkingDisabled: true });
  await cache.lookup('a.example', 'A', { checkingDisabled: true });
  await cache.lookup('a.example', 'A');
  assert.deepEqual(seen, [undefined, true, true]);
  assert.equal(cache.size, 1);
});

test('cache: concurrent identical lookups share one upstream query and the size is bounded', async () => {
  const counting = new CountingResolver(memory({ 'a.example': [{ A: '192.0.2.1' }] }));
  const cache = new CachingResolver(counting, new FakeClock(), { maxEntries: 3 });
  await Promise.all([cache.lookup('a.example', 'A'), cache.lookup('a.example', 'A'), cache.lookup('a.example', 'A')]);
  assert.equal(counting.calls, 1);
  for (let i = 0; i < 10; i += 1) await cache.lookup(`n${i}.example`, 'A');
  assert.ok(cache.size <= 3);
});

test('budget: the lookup count and the deadline end in timeout outcomes naming the budget', async () => {
  const clock = new FakeClock();
  const budget = new BudgetResolver(memory({ 'a.example': [{ A: '192.0.2.1' }] }), clock, {
    maxLookups: 2,
    timeBudgetMs: 1000,
  });
  assert.equal((await budget.lookup('a.example', 'A')).kind, 'answer');
  assert.equal((await budget.lookup('a.example', 'A')).kind, 'answer');
  const third = await budget.lookup('a.example', 'A');
  assert.ok(third.kind === 'timeout' && /lookup budget of 2/.test(third.reason));
  const late = new BudgetResolver(memory({}), clock, { timeBudgetMs: 1000 });
  clock.time += 1001;
  const expired = await late.lookup('a.example', 'A');
  assert.ok(expired.kind === 'timeout' && /time budget/.test(expired.reason));
});

test('budget: a lookup that hangs is abandoned at the deadline', async () => {
  const hanging: Resolver = { lookup: () => new Promise(() => undefined) };
  const budget = new BudgetResolver(hanging, Date, { timeBudgetMs: 50 });
  const started = Date.now();
  const outcome = await budget.lookup('a.example', 'TXT');
  assert.equal(outcome.kind, 'timeout');
  assert.ok(Date.now() - started < 1000);
});

test('query log: each lookup with outcome, detail, records and duration', async () => {
  const clock = new FakeClock();
  const log = new QueryLogResolver(memory({ 'a.example': [{ TXT: 'hello' }, { MX: [5, 'mx.a.example'] }] }), clock);
  await log.lookup('a.example', 'TXT');
  await log.lookup('a.example', 'MX');
  await log.lookup('a.example', 'A');
  await log.lookup('b.example', 'A');
  assert.deepEqual(
    log.entries.map((e) => [e.name, e.type, e.outcome, e.records]),
    [
      ['a.example', 'TXT', 'answer', ['hello']],
      ['a.example', 'MX', 'answer', ['5 mx.a.example']],
      ['a.example', 'A', 'nodata', []],
      ['b.example', 'A', 'nxdomain', []],
    ],
  );
  assert.ok(log.entries.every((e) => e.durationMs === 0));
});

test('memory resolver: CNAME chains are followed and loops are SERVFAIL', async () => {
  const resolver = memory({
    'a.example': [{ CNAME: 'b.example' }],
    'b.example': [{ CNAME: 'c.example' }],
    'c.example': [{ A: '192.0.2.3', ttl: 30 }],
    'loop1.example': [{ CNAME: 'loop2.example' }],
    'loop2.example': [{ CNAME: 'loop1.example' }],
  });
  const answer = await resolver.lookup('a.example', 'A');
  assert.ok(answer.kind === 'answer');
  assert.deepEqual(answer.cnames, ['b.example', 'c.example']);
  assert.equal(answer.ttl, 30);
  assert.equal((await resolver.lookup('a.example', 'CNAME')).kind, 'answer');
  assert.equal((await resolver.lookup('loop1.example', 'A')).kind, 'servfail');
  assert.equal((await resolver.lookup('a..example', 'A')).kind, 'servfail');
});

test('cache: one caller aborting does not time out the others sharing the query', async () => {
  let release: (() => void) | undefined;
  const slow: Resolver = {
    lookup<T extends RecordType>(
      _name: string,
      _type: T,
      options?: { signal?: AbortSignal },
    ): Promise<LookupResult<T>> {
      return new Promise((resolve) => {
        options?.signal?.addEventListener('abort', () => resolve({ kind: 'timeout', reason: 'aborted upstream' }));
        release = () =>
          resolve({ kind: 'answer', records: [], ttl: 60, cnames: [], authenticated: false } as LookupResult<T>);
      });
    },
  };
  const cache = new CachingResolver(slow, new FakeClock());
  const controller = new AbortController();
  const first = cache.lookup('a.example', 'A', { signal: controller.signal });
  const second = cache.lookup('a.example', 'A');
  controller.abort();
  assert.equal((await first).kind, 'timeout');
  release?.();
  assert.equal((await second).kind, 'answer');
});
