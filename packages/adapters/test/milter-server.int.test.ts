// The milter socket server with real sockets: a good session through mailward's Postfix-like
// client, and hostile clients (garbage, a 100 MB length, a client that stops mid-packet, 10,000
// headers, a dropped connection), each next to a good session that must still complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { milter } from '@mailward/core';
import { MilterClient, startMilterServer, type MilterSessionEnd, type MilterServer } from '../src/index.js';

const { Action, Protocol, ALL_NO_REPLY } = milter;

const wants: milter.MilterWants = {
  requiredActions: Action.ADDHDRS,
  optionalActions: Action.CHGHDRS | Action.QUARANTINE,
  protocol: ALL_NO_REPLY | Protocol.SKIP | Protocol.HDR_LEADSPC | Protocol.NOUNKNOWN,
  symbolLists: [{ stage: 'envfrom', macros: ['i', '{auth_authen}'] }],
};

/** Adds a header naming what it saw, so a test can check the handler ran with the right data. */
const headersSeen: string[] = [];
function labelHandler(): milter.MilterHandler {
  const seen = headersSeen;
  let bodyBytes = 0;
  return {
    async header(name, _value, valueBytes) {
      seen.push(`${name}=${JSON.stringify(new TextDecoder().decode(valueBytes))}`);
      return { type: 'continue' };
    },
    async body(chunk) {
      bodyBytes += chunk.length;
      return { type: 'continue' };
    },
    async eom(ctx) {
      const value = ` seen; client=${ctx.connect?.address}; auth=${ctx.macro('{auth_authen}')}; headers=${seen.length}; body=${bodyBytes}`;
      bodyBytes = 0;
      return {
        edits: [{ type: 'insertHeader', index: 0, name: 'X-Mailward-Test', value }],
        decision: { type: 'accept' },
      };
    },
  };
}

async function withServer(
  options: Partial<Parameters<typeof startMilterServer>[0]>,
  run: (server: MilterServer, ends: MilterSessionEnd[]) => Promise<void>,
) {
  const ends: MilterSessionEnd[] = [];
  const server = await startMilterServer({
    listen: 'inet:127.0.0.1:0',
    createHandler: labelHandler,
    wants,
    onSessionEnd: (end) => ends.push(end),
    ...options,
  });
  try {
    await run(server, ends);
  } finally {
    await server.close();
  }
}

const goodMessage = {
  connect: { hostname: 'client.test', family: 'inet4' as const, port: 40000, address: '192.0.2.7' },
  helo: 'client.test',
  sender: '<a@example.org>',
  recipients: ['<b@example.net>'],
  headers: ['From: a@example.org', 'Subject:  two spaces\r\n\tfolded'],
  body: 'Hello\r\n',
  macros: { mail: [['{auth_authen}', 'alice'] as [string, string]] },
};

async function goodSession(address: string): Promise<milter.MilterReply[]> {
  const client = await MilterClient.connect(address);
  const events = await client.message(goodMessage);
  await client.quit();
  return events.flatMap((e) => e.replies);
}

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function rawSocket(address: string): Promise<Socket> {
  const [, host, port] = /^inet:(.+):(\d+)$/.exec(address)!;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host!);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.on('close', () => resolve());
    socket.on('error', () => undefined);
  });
}

test('a whole message with every no-reply flag costs one reply; header bytes arrive exact (HDR_LEADSPC)', async () => {
  await withServer({}, async (server) => {
    const client = await MilterClient.connect(server.address);
    assert.equal(client.agreement.version, 6);
    assert.equal(client.agreement.protocol & ALL_NO_REPLY, ALL_NO_REPLY);
    assert.ok(client.agreement.protocol & Protocol.HDR_LEADSPC);
    assert.deepEqual(client.agreement.symbolLists, wants.symbolLists);
    headersSeen.length = 0;
    const events = await client.message(goodMessage);
    // Postfix's form: no space lost after the colon (HDR_LEADSPC), folding as LF + tab.
    assert.deepEqual(headersSeen, ['From=" a@example.org"', 'Subject="  two spaces\\n\\tfolded"']);
    headersSeen.length = 0;
    const replied = events.filter((e) => e.replies.length > 0);
    assert.deepEqual(
      replied.map((e) => e.event),
      ['eom'],
    );
    assert.deepEqual(replied[0]!.replies, [
      {
        type: 'insertHeader',
        index: 0,
        name: 'X-Mailward-Test',
        value: ' seen; client=192.0.2.7; auth=alice; headers=2; body=7',
      },
      { type: 'accept' },
    ]);
    // A second message on the same connection.
    const second = await client.message({ ...goodMessage, connect: undefined, helo: undefined });
    assert.equal(second.at(-1)!.replies.at(-1)!.type, 'accept');
    await client.quit();
  });
});

test('over a unix socket too; a stale socket file is replaced', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-milter-'));
  try {
    const path = join(dir, 'milter.sock');
    await withServer({ listen: `unix:${path}` }, async () => undefined);
    await withServer({ listen: `unix:${path}` }, async (server) => {
      assert.equal(server.address, `unix:${path}`);
      const replies = await goodSession(server.address);
      assert.equal(replies.at(-1)!.type, 'accept');
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('garbage (an HTTP request) ends that session with one line; a parallel good session completes', async () => {
  await withServer({}, async (server, ends) => {
    const socket = await rawSocket(server.address);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const [replies] = await Promise.all([goodSession(server.address), closed(socket)]);
    assert.equal(replies.at(-1)!.type, 'accept');
    await waitFor(() => ends.length === 2);
    const bad = ends.find((e) => e.reason === 'protocol')!;
    assert.match(bad.error!, /announces 1195725856 bytes, over the limit of 1048576.*"GET ": not a milter client\?/);
  });
});

test('a 100 MB length header is refused after 4 bytes, without buffering; memory stays flat', async () => {
  await withServer({}, async (server, ends) => {
    const before = process.memoryUsage().rss;
    const socket = await rawSocket(server.address);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(100 * 1024 * 1024);
    socket.write(header);
    socket.write(Buffer.alloc(64 * 1024, 0x42)); // the start of the "packet", which must not be kept
    await closed(socket);
    await waitFor(() => ends.length === 1);
    assert.match(ends[0]!.error!, /announces 104857600 bytes, over the limit/);
    assert.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024, 'no 100 MB buffer');
    const replies = await goodSession(server.address);
    assert.equal(replies.at(-1)!.type, 'accept');
  });
});

test('a client that stops mid-packet hits the packet timeout; one that never negotiates, the OPTNEG timeout', async () => {
  await withServer({ timeouts: { packetMs: 300, negotiateMs: 400, commandMs: 5000 } }, async (server, ends) => {
    const client = await MilterClient.connect(server.address);
    client.writeRaw(Uint8Array.of(0, 0, 0, 20, 0x48, 0x61)); // HELO, 19 data bytes announced, 1 sent
    const silent = await rawSocket(server.address);
    const replies = await goodSession(server.address);
    assert.equal(replies.at(-1)!.type, 'accept', 'the good session is not held up');
    await waitFor(() => ends.filter((e) => e.reason === 'timeout').length === 2);
    const errors = ends.filter((e) => e.reason === 'timeout').map((e) => e.error);
    assert.ok(
      errors.some((e) => /no data for 300 ms while waiting for the rest of a packet/.test(e!)),
      String(errors),
    );
    assert.ok(
      errors.some((e) => /no data for 400 ms while waiting for OPTNEG/.test(e!)),
      String(errors),
    );
    client.destroy();
    silent.destroy();
  });
});

test('10,000 headers: the message is refused with 552 5.3.4, memory stays bounded, a parallel good session completes', async () => {
  await withServer({}, async (server, ends) => {
    const before = process.memoryUsage().rss;
    const client = await MilterClient.connect(server.address);
    const headers = Array.from({ length: 10_000 }, (_, i) => `X-Flood-${i}: ${'v'.repeat(50)}`);
    const [flood, good] = await Promise.all([client.message({ ...goodMessage, headers }), goodSession(server.address)]);
    assert.deepEqual(flood.at(-1)!.replies, [
      { type: 'replyCode', reply: '552 5.3.4 Message has more than 1000 header fields' },
    ]);
    assert.equal(flood.at(-1)!.event, 'eom', 'refused at the first reply the MTA awaits (EOH has NR_EOH)');
    assert.equal(good.at(-1)!.type, 'accept');
    // The same connection takes the next message.
    const next = await client.message({ ...goodMessage, connect: undefined, helo: undefined });
    assert.equal(next.at(-1)!.replies.at(-1)!.type, 'accept');
    await client.quit();
    assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024);
    await waitFor(() => ends.length === 2);
    assert.ok(
      ends.every((e) => e.reason === 'quit'),
      JSON.stringify(ends),
    );
  });
});

test('a 100 MB body streams through in bounded memory; SKIP stops it when the handler needs no more', async () => {
  let chunks = 0;
  const skipper = (): milter.MilterHandler => ({
    async body() {
      chunks++;
      return { type: 'skip' };
    },
  });
  await withServer(
    { createHandler: skipper, wants: { ...wants, protocol: Protocol.SKIP | Protocol.HDR_LEADSPC } },
    async (server) => {
      const client = await MilterClient.connect(server.address);
      const events = await client.message({ ...goodMessage, body: new Uint8Array(100 * 1024 * 1024).fill(0x61) });
      const bodyEvents = events.filter((e) => e.event === 'body');
      assert.equal(bodyEvents.length, 1, 'the client stopped sending body after SKIP');
      assert.deepEqual(bodyEvents[0]!.replies, [{ type: 'skip' }]);
      assert.equal(chunks, 1);
      await client.quit();
    },
  );
  await withServer({}, async (server) => {
    const before = process.memoryUsage().rss;
    const client = await MilterClient.connect(server.address);
    const body = new Uint8Array(100 * 1024 * 1024).fill(0x62);
    const events = await client.message({ ...goodMessage, body });
    const final = events.at(-1)!.replies;
    assert.match((final[0] as { value: string }).value, /body=104857600$/);
    await client.quit();
    // The client holds the 100 MB body itself; the server side must not add copies of it.
    assert.ok(
      process.memoryUsage().rss - before < 250 * 1024 * 1024,
      `rss grew ${(process.memoryUsage().rss - before) >> 20} MB`,
    );
  });
});

test('a connection dropped mid-message ends that session only; the handler hears close', async () => {
  let closes = 0;
  const handler = (): milter.MilterHandler => ({
    async close() {
      closes++;
    },
  });
  await withServer({ createHandler: handler }, async (server, ends) => {
    const client = await MilterClient.connect(server.address);
    await client.event({ type: 'connect', hostname: 'h', family: 'inet4', port: 1, address: '192.0.2.1' });
    await client.event({ type: 'mail', sender: '<a@b>', args: [] });
    client.destroy();
    await waitFor(() => ends.length === 1);
    assert.equal(ends[0]!.reason, 'closed');
    await waitFor(() => closes === 1);
    const replies = await goodSession(server.address);
    assert.equal(replies.at(-1)!.type, 'continue', 'no eom handler: continue');
    await waitFor(() => server.activeSessions === 0);
  });
});

test('a slow handler keeps the MTA waiting with SMFIR_PROGRESS; no PROGRESS where no reply is awaited', async () => {
  const slow = (): milter.MilterHandler => ({
    async header() {
      await new Promise((resolve) => setTimeout(resolve, 450));
      return { type: 'continue' };
    },
    async eom() {
      await new Promise((resolve) => setTimeout(resolve, 350));
      return { decision: { type: 'accept' } };
    },
  });
  await withServer({ createHandler: slow, progressMs: 100 }, async (server) => {
    const client = await MilterClient.connect(server.address);
    const events = await client.message({ ...goodMessage, headers: ['Subject: x'] });
    assert.equal(events.at(-1)!.replies.at(-1)!.type, 'accept');
    // 350 ms at EOM gives about 3 progress packets; the 450 ms header (NR_HDR) would add 4 more.
    assert.ok(
      client.progressReceived >= 2 && client.progressReceived <= 4,
      `${client.progressReceived} PROGRESS packets`,
    );
    await client.quit();
  });
});
