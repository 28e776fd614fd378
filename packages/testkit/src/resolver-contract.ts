/**
 * The behaviour every `Resolver` must share, run against core's MemoryResolver and against
 * NetworkResolver talking to Knot, from one declarative fixture. Where a real server may
 * legitimately differ from the in-memory model (negative TTLs present or not, record order,
 * how a long TXT string is split on the wire) the cases assert only what both must agree on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LookupResult, RecordType, Resolver } from '@mailward/core';

/** A zone in core's parseZone() input format. */
export type ZoneFixture = Readonly<Record<string, readonly unknown[]>>;

export interface ResolverUnderTest {
  readonly resolver: Resolver;
  close(): Promise<void>;
}

/** Builds a resolver serving `zone`. Called once per suite: the fixture holds every case. */
export type ResolverFactory = (zone: ZoneFixture) => Promise<ResolverUnderTest>;

export const BIG_TXT = Array.from({ length: 4000 }, (_, index) => String.fromCharCode(0x61 + (index % 26))).join('');
export const LATIN1_TXT = 'v=spf1 caf\u00e9 \u0080\u00ff\u00a0 -all';

export const CONTRACT_ZONE: ZoneFixture = {
  'a.example': [{ A: '192.0.2.1', ttl: 300 }, { A: '192.0.2.2', ttl: 300 }, { TXT: 'v=spf1 -all' }],
  'aaaa.example': [{ AAAA: '2001:db8::1' }],
  'mx.example': [{ MX: [20, 'mx2.example'] }, { MX: [10, 'Mail.Example.'] }],
  '1.2.0.192.in-addr.arpa': [{ PTR: 'host.example' }],
  'c1.example': [{ CNAME: 'c2.example', ttl: 120 }],
  'c2.example': [{ CNAME: 'a.example', ttl: 60 }],
  'cn-nodata.example': [{ CNAME: 'txt-only.example' }],
  'txt-only.example': [{ TXT: 'only text here' }],
  'cn-nx.example': [{ CNAME: 'hop.example' }],
  'hop.example': [{ CNAME: 'gone.example' }],
  'loop1.example': [{ CNAME: 'loop2.example' }],
  'loop2.example': [{ CNAME: 'loop1.example' }],
  'big.example': [{ TXT: BIG_TXT }],
  'multi.example': [{ TXT: ['v=spf1 ', 'include:_spf.example ', '-all'] }],
  'two.example': [{ TXT: 'second' }, { TXT: 'first' }],
  'latin1.example': [{ TXT: LATIN1_TXT }],
  'quotes.example': [{ TXT: 'say "hi" \\ back; (not a comment)' }],
  'fail.example': ['SERVFAIL'],
  'cn-fail.example': [{ CNAME: 'fail.example' }],
  'slow.example': ['TIMEOUT'],
  'partial.example': [{ TXT: 'v=spf1 -all' }, 'TIMEOUT'],
  'refused.example': ['REFUSED'],
};

export function resolverContract(title: string, factory: ResolverFactory): void {
  describe(`Resolver contract: ${title}`, () => {
    let subject: ResolverUnderTest | undefined;
    before(async () => {
      subject = await factory(CONTRACT_ZONE);
    });
    after(async () => {
      await subject?.close();
    });
    const lookup = <T extends RecordType>(name: string, type: T): Promise<LookupResult<T>> => {
      if (!subject) throw new Error('factory failed');
      return subject.resolver.lookup(name, type);
    };

    it('answers with records, TTL and no CNAMEs', async () => {
      const result = answer(await lookup('a.example', 'A'));
      assert.deepEqual([...result.records].sort(), ['192.0.2.1', '192.0.2.2']);
      assert.equal(result.ttl, 300);
      assert.deepEqual(result.cnames, []);
      assert.equal(result.authenticated, false);
    });

    it('compares names case-insensitively, with or without the final dot', async () => {
      assert.equal(answer(await lookup('A.Example.', 'A')).records.length, 2);
    });

    it('tells NXDOMAIN from NODATA', async () => {
      const nx = await lookup('missing.example', 'A');
      assert.equal(nx.kind, 'nxdomain');
      const nodata = await lookup('a.example', 'MX');
      assert.equal(nodata.kind, 'nodata');
      for (const negative of [nx, nodata]) {
        if (negative.kind === 'nxdomain' || negative.kind === 'nodata') {
          assert.ok(negative.ttl === undefined || (Number.isInteger(negative.ttl) && negative.ttl >= 0));
        }
      }
    });

    it('follows a two-hop CNAME chain to an answer, with the smallest TTL', async () => {
      const result = answer(await lookup('c1.example', 'A'));
      assert.deepEqual([...result.records].sort(), ['192.0.2.1', '192.0.2.2']);
      assert.deepEqual(result.cnames, ['c2.example', 'a.example']);
      assert.equal(result.ttl, 60);
    });

    it('answers a CNAME query with the CNAME itself', async () => {
      assert.deepEqual(answer(await lookup('c1.example', 'CNAME')).records, ['c2.example']);
    });

    it('follows a CNAME chain to NODATA', async () => {
      assert.equal((await lookup('cn-nodata.example', 'A')).kind, 'nodata');
    });

    it('follows a two-hop CNAME chain to NXDOMAIN', async () => {
      assert.equal((await lookup('cn-nx.example', 'TXT')).kind, 'nxdomain');
    });

    it('fails on a CNAME loop', async () => {
      assert.equal((await lookup('loop1.example', 'A')).kind, 'servfail');
    });

    it('returns a 4000-byte TXT record whole', async () => {
      const record = answer(await lookup('big.example', 'TXT')).records[0];
      assert.equal(record?.text, BIG_TXT);
      assert.equal(record?.strings.join(''), BIG_TXT);
    });

    it('joins a multi-string TXT record with no separator and keeps the strings', async () => {
      const record = answer(await lookup('multi.example', 'TXT')).records[0];
      assert.equal(record?.text, 'v=spf1 include:_spf.example -all');
      assert.deepEqual(record?.strings, ['v=spf1 ', 'include:_spf.example ', '-all']);
    });

    it('returns every TXT record of a name', async () => {
      const texts = answer(await lookup('two.example', 'TXT')).records.map((record) => record.text);
      assert.deepEqual(texts.sort(), ['first', 'second']);
    });

    it('keeps non-ASCII TXT bytes as Latin-1 code points', async () => {
      const text = answer(await lookup('latin1.example', 'TXT')).records[0]?.text;
      assert.equal(text, LATIN1_TXT);
      assert.ok(text?.includes('\u00e9') && text.includes('\u0080') && text.includes('\u00ff'));
    });

    it('keeps quotes, backslashes and semicolons in TXT text', async () => {
      const text = answer(await lookup('quotes.example', 'TXT')).records[0]?.text;
      assert.equal(text, 'say "hi" \\ back; (not a comment)');
    });

    it('answers MX with preference and lower-case exchange', async () => {
      const records = [...answer(await lookup('mx.example', 'MX')).records];
      records.sort((a, b) => a.preference - b.preference);
      assert.deepEqual(records, [
        { preference: 10, exchange: 'mail.example' },
        { preference: 20, exchange: 'mx2.example' },
      ]);
    });

    it('answers AAAA', async () => {
      assert.deepEqual(answer(await lookup('aaaa.example', 'AAAA')).records, ['2001:db8::1']);
    });

    it('answers PTR', async () => {
      assert.deepEqual(answer(await lookup('1.2.0.192.in-addr.arpa', 'PTR')).records, ['host.example']);
    });

    it('reports SERVFAIL', async () => {
      assert.equal((await lookup('fail.example', 'TXT')).kind, 'servfail');
    });

    it('reports SERVFAIL at the end of a CNAME chain', async () => {
      assert.equal((await lookup('cn-fail.example', 'A')).kind, 'servfail');
    });

    it('reports a timeout', async () => {
      assert.equal((await lookup('slow.example', 'TXT')).kind, 'timeout');
    });

    it('applies a failure marker only to types not listed before it', async () => {
      assert.equal(answer(await lookup('partial.example', 'TXT')).records[0]?.text, 'v=spf1 -all');
      assert.equal((await lookup('partial.example', 'A')).kind, 'timeout');
    });

    it('reports REFUSED', async () => {
      assert.equal((await lookup('refused.example', 'A')).kind, 'refused');
    });

    it('fails invalid names with SERVFAIL instead of throwing', async () => {
      for (const name of ['a..example', `${'x'.repeat(64)}.example`, `${'abcdefghi.'.repeat(26)}example`, '']) {
        const result = await lookup(name, 'A');
        assert.equal(result.kind, 'servfail', JSON.stringify(name));
      }
    });
  });
}

/** Narrows to an answer, failing the test with the actual outcome otherwise. */
export function answer<T extends RecordType>(result: LookupResult<T>): Extract<LookupResult<T>, { kind: 'answer' }> {
  assert.equal(result.kind, 'answer', `expected an answer, got ${JSON.stringify(result)}`);
  return result as Extract<LookupResult<T>, { kind: 'answer' }>;
}
