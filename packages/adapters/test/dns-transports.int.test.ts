/**
 * The two bulk transports of the network resolver: UDP sockets shared by several queries (source
 * ports still rotate), and pipelined TCP (answers out of order, matched by ID; a connection the
 * server closes; a wrong answer; a silent server; more queries than one connection takes). Knot
 * and loopback servers that misbehave on purpose.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { parseZone } from '@mailward/core';
import type { KnotServer } from '@mailward/testkit';
import {
  answer,
  decodeOrUndefined,
  frame,
  readTcpMessages,
  renderZone,
  respondTo,
  startDroppingProxy,
  startKnot,
} from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';

/** Server-side connections of the test servers, destroyed at the end whatever a test left open. */
const sockets = new Set<Socket>();

/** A loopback TCP DNS server whose behaviour the test scripts per connection. */
async function tcpServer(
  onConnection: (socket: Socket, index: number, queries: (handler: (query: DecodedPacket) => void) => void) => void,
): Promise<{ port: number; connections: () => number; server: Server }> {
  let count = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const index = count++;
    onConnection(socket, index, (handler) =>
      readTcpMessages(socket, (message) => {
        const query = decodeOrUndefined(message);
        if (query !== undefined) handler(query);
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, connections: () => count, server };
}

/** An A answer whose address is derived from the question name ("n7.example" gives 192.0.2.7). */
function addressAnswer(query: DecodedPacket): Buffer {
  const name = query.questions?.[0]?.name ?? '';
  const n = Number(/^n(\d+)\./.exec(name)?.[1] ?? 0);
  return respondTo(query, { answers: [{ type: 'A', name, ttl: 60, data: `192.0.2.${n % 250}` }] });
}

describe('bulk DNS transports', () => {
  let knot: KnotServer;
  const servers: Server[] = [];
  before(async () => {
    const zone = parseZone(
      Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`n${i}.example`, [{ A: `192.0.2.${i}` }]])),
    );
    assert.ok(zone.ok);
    knot = await startKnot({ zones: [{ origin: '.', text: renderZone(zone.zone, { origin: '.' }) }] });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers) server.close();
    await knot.stop();
  });
  const track = <T extends { server: Server }>(value: T): T => (servers.push(value.server), value);

  it('UDP with queriesPerSocket 20: 100 queries leave from exactly 5 source ports, every answer right', async () => {
    const proxy = await startDroppingProxy({ upstream: knot, delayMs: 5 });
    try {
      const dns = new NetworkResolver({ servers: [proxy], maxInFlight: 8, timeoutMs: 3000, queriesPerSocket: 20 });
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => dns.lookup(`n${i}.example`, 'A')));
      results.forEach((result, i) => assert.deepEqual(answer(result).records, [`192.0.2.${i}`]));
      assert.equal(new Set(proxy.stats.sourcePorts).size, 5);
      assert.equal(proxy.stats.maxInFlight, 8);
    } finally {
      await proxy.stop();
    }
  });

  it('pipelined TCP against Knot: many queries over one connection, every answer right', async () => {
    const proxy = await startDroppingProxy({ upstream: knot });
    try {
      const dns = new NetworkResolver({ servers: [proxy], maxInFlight: 64, timeoutMs: 3000, transport: 'tcp' });
      const results = await Promise.all(Array.from({ length: 120 }, (_, i) => dns.lookup(`n${i}.example`, 'A')));
      results.forEach((result, i) => assert.deepEqual(answer(result).records, [`192.0.2.${i}`]));
      assert.deepEqual([proxy.stats.tcpQueries, proxy.stats.received], [120, 120]);
      assert.equal(dns.stats.queries, 120);
      dns.close();
    } finally {
      await proxy.stop();
    }
  });

  it('pipelined TCP: answers in reverse order are matched by ID, on one connection', async () => {
    const { port, connections } = track(
      await tcpServer((socket, _index, queries) => {
        const held: DecodedPacket[] = [];
        queries((query) => {
          held.push(query);
          if (held.length === 3) for (const q of held.reverse()) socket.write(frame(addressAnswer(q)));
        });
      }),
    );
    const dns = new NetworkResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 2000, transport: 'tcp' });
    const results = await Promise.all([1, 2, 3].map((n) => dns.lookup(`n${n}.example`, 'A')));
    assert.deepEqual(
      results.map((r) => answer(r).records[0]),
      ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
    );
    assert.equal(connections(), 1);
    dns.close();
  });

  it('pipelined TCP: a connection the server closes fails its queries, which retry on a new one', async () => {
    const { port, connections } = track(
      await tcpServer((socket, index, queries) =>
        queries((query) => (index === 0 ? socket.destroy() : socket.write(frame(addressAnswer(query))))),
      ),
    );
    const dns = new NetworkResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 2000, transport: 'tcp' });
    const results = await Promise.all([4, 5].map((n) => dns.lookup(`n${n}.example`, 'A')));
    assert.deepEqual(
      results.map((r) => answer(r).records[0]),
      ['192.0.2.4', '192.0.2.5'],
    );
    assert.equal(connections(), 2);
    dns.close();
  });

  it('pipelined TCP: a wrong answer is SERVFAIL; a silent server times out in bounded time', async () => {
    const wrong = track(
      await tcpServer((socket, _index, queries) =>
        queries((query) =>
          socket.write(
            frame(
              dnsPacket.encode({
                type: 'response',
                id: query.id ?? 0,
                flags: dnsPacket.RECURSION_DESIRED,
                questions: [{ name: 'other.example', type: 'A', class: 'IN' }],
              }),
            ),
          ),
        ),
      ),
    );
    const dns = new NetworkResolver({
      servers: [{ host: '127.0.0.1', port: wrong.port }],
      timeoutMs: 500,
      transport: 'tcp',
    });
    const result = await dns.lookup('n1.example', 'A');
    assert.equal(result.kind, 'servfail');
    assert.match(result.kind === 'servfail' ? result.reason : '', /TCP answer: question name "other\.example"/);
    dns.close();

    const silent = track(await tcpServer(() => undefined));
    const patient = new NetworkResolver({
      servers: [{ host: '127.0.0.1', port: silent.port }],
      timeoutMs: 200,
      retries: 1,
      transport: 'tcp',
    });
    const started = performance.now();
    const timedOut = await patient.lookup('n1.example', 'A');
    assert.equal(timedOut.kind, 'timeout');
    assert.ok(performance.now() - started < 1500);
    patient.close();
  });

  it('pipelined TCP: more queries in flight than one connection takes open more connections', async () => {
    const { port, connections } = track(
      await tcpServer((socket, _index, queries) => {
        // Answers 50 ms late, so all 600 queries are in flight at once.
        const held: DecodedPacket[] = [];
        queries((query) => {
          held.push(query);
          setTimeout(() => {
            for (const q of held.splice(0)) socket.write(frame(addressAnswer(q)));
          }, 50);
        });
      }),
    );
    const dns = new NetworkResolver({
      servers: [{ host: '127.0.0.1', port }],
      timeoutMs: 3000,
      maxInFlight: 600,
      transport: 'tcp',
    });
    const results = await Promise.all(Array.from({ length: 600 }, (_, i) => dns.lookup(`n${i}.example`, 'A')));
    results.forEach((result, i) => assert.equal(answer(result).records[0], `192.0.2.${i % 250}`));
    assert.ok(connections() >= 3, `connections: ${connections()}`);
    dns.close();
  });

  it('pipelined TCP: a connection that has carried 20,000 queries is closed once idle, the next one takes over', async () => {
    let open = 0;
    const { port, connections } = track(
      await tcpServer((socket, _index, queries) => {
        open += 1;
        socket.on('close', () => (open -= 1));
        queries((query) => socket.write(frame(addressAnswer(query))));
      }),
    );
    const dns = new NetworkResolver({
      servers: [{ host: '127.0.0.1', port }],
      timeoutMs: 5000,
      maxInFlight: 200,
      transport: 'tcp',
    });
    let next = 0;
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        let answered = 0;
        while (next < 20_100) {
          const n = next++;
          if (answer(await dns.lookup(`n${n % 250}.example`, 'A')).records[0] === `192.0.2.${n % 250}`) answered += 1;
        }
        return answered;
      }),
    );
    assert.equal(
      results.reduce((a, b) => a + b, 0),
      20_100,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual([connections(), open], [2, 1]);
    dns.close();
  });
});
