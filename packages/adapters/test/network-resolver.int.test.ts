import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { parseZone } from '@mailward/core';
import { NetworkResolver } from '../src/index.js';
import type { NetworkResolverConfig } from '../src/index.js';
import type { FakeServer, KnotServer } from '@mailward/testkit';
import {
  answer,
  freePort,
  garbage,
  renderZone,
  respondTo,
  startDroppingProxy,
  startFakeServer,
  startGarbageServer,
  startKnot,
  startSilentServer,
} from '@mailward/testkit';

const TIMEOUT_MS = 100;

function resolver(servers: NetworkResolverConfig['servers'], options: Partial<NetworkResolverConfig> = {}) {
  return new NetworkResolver({ servers, timeoutMs: TIMEOUT_MS, retries: 2, ...options });
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
}

describe('NetworkResolver on the wire', () => {
  const stops: Array<() => Promise<void>> = [];
  let knot: KnotServer;
  before(async () => {
    const root = parseZone({
      'big.example': [{ TXT: 'x'.repeat(3000) }],
      'medium.example': [{ TXT: 'y'.repeat(600) }],
      'x.example': [{ CNAME: 'foo.other.test', ttl: 50 }],
    });
    const other = parseZone({ 'foo.other.test': [{ A: '192.0.2.5', ttl: 70 }] });
    assert.ok(root.ok && other.ok);
    knot = await startKnot({
      zones: [
        { origin: '.', text: renderZone(root.zone, { origin: '.' }) },
        { origin: 'other.test', text: renderZone(other.zone, { origin: 'other.test' }) },
      ],
    });
    stops.push(() => knot.stop());
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  async function fake<T extends FakeServer>(start: Promise<T>): Promise<T> {
    const server = await start;
    stops.push(() => server.stop());
    return server;
  }

  it('retries a truncated UDP answer over TCP (EDNS0 1232 bytes vs a 3000-byte TXT)', async () => {
    const dns = resolver([knot]);
    const record = answer(await dns.lookup('big.example', 'TXT')).records[0];
    assert.equal(record?.text, 'x'.repeat(3000));
    assert.equal(dns.stats.tcpFallbacks, 1);
  });

  it('fits 600 bytes in UDP with EDNS0 but not without it', async () => {
    const withEdns = resolver([knot]);
    assert.equal(answer(await withEdns.lookup('medium.example', 'TXT')).records[0]?.text.length, 600);
    assert.equal(withEdns.stats.tcpFallbacks, 0);
    const plain = resolver([knot], { ednsPayload: 0 });
    assert.equal(answer(await plain.lookup('medium.example', 'TXT')).records[0]?.text.length, 600);
    assert.equal(plain.stats.tcpFallbacks, 1);
  });

  it('follows a CNAME into another zone with a new query', async () => {
    const dns = resolver([knot]);
    const result = answer(await dns.lookup('x.example', 'A'));
    assert.deepEqual(result.records, ['192.0.2.5']);
    assert.deepEqual(result.cnames, ['foo.other.test']);
    assert.equal(result.ttl, 50);
    assert.equal(dns.stats.queries, 2);
  });

  it('times out on a server that never answers, after timeoutMs × attempts', async () => {
    const silent = await fake(startSilentServer());
    const { result, ms } = await timed(() => resolver([silent]).lookup('example.com', 'A'));
    assert.equal(result.kind, 'timeout');
    assert.match(result.kind === 'timeout' ? result.reason : '', /after 3 attempt/);
    assert.equal(silent.received.udp, 3);
    assert.ok(ms >= 3 * TIMEOUT_MS - 5 && ms < 3 * TIMEOUT_MS + 400, `${ms} ms`);
  });

  it('rotates retries through the servers', async () => {
    const first = await fake(startSilentServer());
    const second = await fake(startSilentServer());
    await resolver([first, second]).lookup('example.com', 'A');
    assert.deepEqual([first.received.udp, second.received.udp], [2, 1]);
    const result = await resolver([first, knot], { retries: 1 }).lookup('foo.other.test', 'A');
    assert.deepEqual(answer(result).records, ['192.0.2.5']);
  });

  it('ignores malformed packets and says so when nothing else came', async () => {
    const server = await fake(startGarbageServer(['malformed']));
    const dns = resolver([server], { retries: 0 });
    const result = await dns.lookup('example.com', 'A');
    assert.equal(result.kind, 'timeout');
    assert.match(result.kind === 'timeout' ? result.reason : '', /ignored 1 malformed/);
    assert.equal(dns.stats.malformed, 1);
  });

  it('ignores answers with the wrong ID, question or QR bit, and keeps waiting for the real one', async () => {
    const junkOnly = await fake(startGarbageServer(['wrong-id', 'wrong-question', 'not-a-response']));
    const dns = resolver([junkOnly], { retries: 0 });
    assert.equal((await dns.lookup('example.com', 'A')).kind, 'timeout');
    assert.equal(dns.stats.mismatched, 3);

    const address: dnsPacket.Answer = { type: 'A', name: 'example.com', ttl: 9, data: '192.0.2.7' };
    const junkThenAnswer = await fake(
      startFakeServer({
        udp: (query) =>
          query
            ? [garbage('wrong-id', query), garbage('malformed', query), respondTo(query, { answers: [address] })]
            : [],
      }),
    );
    const patient = resolver([junkThenAnswer]);
    assert.deepEqual(answer(await patient.lookup('example.com', 'A')).records, ['192.0.2.7']);
    assert.deepEqual([patient.stats.mismatched, patient.stats.malformed], [1, 1]);
  });

  it('moves to TCP on TC and treats a bad TCP answer as SERVFAIL', async () => {
    const txt: dnsPacket.Answer = { type: 'TXT', name: 'example.com', ttl: 9, data: ['over tcp'] };
    const tc = dnsPacket.TRUNCATED_RESPONSE;
    const good = await fake(
      startFakeServer({
        udp: (query) => (query ? [respondTo(query, { flags: tc })] : []),
        tcp: (query) => (query ? [respondTo(query, { answers: [txt] })] : []),
      }),
    );
    assert.equal(answer(await resolver([good]).lookup('example.com', 'TXT')).records[0]?.text, 'over tcp');
    assert.deepEqual(good.received, { udp: 1, tcp: 1 });

    for (const kind of ['malformed', 'wrong-id'] as const) {
      const bad = await fake(
        startFakeServer({
          udp: (query) => (query ? [respondTo(query, { flags: tc })] : []),
          tcp: (query) => (query ? [garbage(kind, query)] : []),
        }),
      );
      const result = await resolver([bad]).lookup('example.com', 'TXT');
      assert.equal(result.kind, 'servfail', kind);
      assert.match(result.kind === 'servfail' ? result.reason : '', /TCP answer/);
    }
  });

  it('keeps at most maxInFlight queries on the wire, with varying IDs and source ports', async () => {
    const proxy = await startDroppingProxy({ upstream: knot, delayMs: 10 });
    stops.push(() => proxy.stop());
    const dns = resolver([proxy], { maxInFlight: 4, timeoutMs: 5000 });
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => dns.lookup(`n${i}.example`, 'A')));
    assert.ok(results.every((result) => result.kind === 'nxdomain'));
    assert.equal(proxy.stats.received, 100);
    assert.equal(proxy.stats.maxInFlight, 4);
    assert.ok(new Set(proxy.stats.ids).size > 90, `distinct IDs: ${new Set(proxy.stats.ids).size}`);
    assert.ok(new Set(proxy.stats.sourcePorts).size > 50, `distinct ports: ${new Set(proxy.stats.sourcePorts).size}`);
  });

  it('sends RD, EDNS0 with 1232 bytes and DO clear', async () => {
    const seen: dnsPacket.DecodedPacket[] = [];
    const server = await fake(
      startFakeServer({ udp: (query) => (query ? (seen.push(query), [respondTo(query, { rcode: 3 })]) : []) }),
    );
    assert.equal((await resolver([server]).lookup('example.com', 'A')).kind, 'nxdomain');
    const opt = seen[0]?.additionals?.find((record) => record.type === 'OPT');
    assert.equal(seen[0]?.flag_rd, true);
    assert.ok(opt?.type === 'OPT' && opt.udpPayloadSize === 1232 && !opt.flag_do);
  });

  it('reports the AD bit as authenticated', async () => {
    const address: dnsPacket.Answer = { type: 'A', name: 'example.com', ttl: 9, data: '192.0.2.7' };
    const server = await fake(
      startFakeServer({
        udp: (query) => (query ? [respondTo(query, { answers: [address], flags: dnsPacket.AUTHENTIC_DATA })] : []),
      }),
    );
    assert.equal(answer(await resolver([server]).lookup('example.com', 'A')).authenticated, true);
  });

  it('talks to IPv6 servers', async () => {
    const address: dnsPacket.Answer = { type: 'AAAA', name: 'example.com', ttl: 9, data: '2001:db8::7' };
    const server = await fake(
      startFakeServer({ host: '::1', udp: (query) => (query ? [respondTo(query, { answers: [address] })] : []) }),
    );
    assert.deepEqual(answer(await resolver([server]).lookup('example.com', 'AAAA')).records, ['2001:db8::7']);
  });

  it('gives up quickly on a port nobody listens on', async () => {
    const port = await freePort();
    const { result, ms } = await timed(() => resolver([{ host: '127.0.0.1', port }]).lookup('example.com', 'A'));
    assert.equal(result.kind, 'timeout');
    assert.match(result.kind === 'timeout' ? result.reason : '', /ECONNREFUSED/);
    assert.ok(ms < TIMEOUT_MS, `${ms} ms`);
  });

  it('honours an abort signal: before sending, on the wire and in the queue', async () => {
    const silent = await fake(startSilentServer());
    const dns = resolver([silent], { timeoutMs: 5000, maxInFlight: 1 });
    assert.deepEqual(await dns.lookup('example.com', 'A', { signal: AbortSignal.abort() }), {
      kind: 'timeout',
      reason: 'aborted',
    });
    assert.equal(silent.received.udp, 0);
    const onWire = new AbortController();
    const queued = new AbortController();
    const first = timed(() => dns.lookup('one.example', 'A', { signal: onWire.signal }));
    const second = timed(() => dns.lookup('two.example', 'A', { signal: queued.signal }));
    setTimeout(() => queued.abort(), 30);
    setTimeout(() => onWire.abort(), 60);
    const [one, two] = await Promise.all([first, second]);
    assert.deepEqual(two.result, { kind: 'timeout', reason: 'aborted' });
    assert.deepEqual(one.result, { kind: 'timeout', reason: 'aborted' });
    assert.ok(one.ms < 1000 && two.ms < 1000);
    assert.equal(silent.received.udp, 1);
  });

  it('answers SERVFAIL for invalid names without sending anything', async () => {
    const silent = await fake(startSilentServer());
    const dns = resolver([silent]);
    for (const name of ['', 'a..example', `${'x'.repeat(64)}.example`, `${'abcdefghi.'.repeat(26)}example`]) {
      const result = await dns.lookup(name, 'TXT');
      assert.equal(result.kind, 'servfail', JSON.stringify(name));
    }
    assert.equal(silent.received.udp, 0);
  });

  it('rejects a nonsensical configuration at construction', () => {
    assert.throws(() => new NetworkResolver({ servers: [] }), /at least one server/);
    assert.throws(() => new NetworkResolver({ servers: [{ host: 'dns.example', port: 53 }] }), /not an IP/);
    assert.throws(() => new NetworkResolver({ servers: [knot], timeoutMs: 0 }), /timeoutMs/);
  });
});
