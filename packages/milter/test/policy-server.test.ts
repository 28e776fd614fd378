// The policy socket server on loopback with an in-memory zone: Postfix's many requests per
// connection, Exim's request + half-close, and the "on trouble, log and disconnect" cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryResolver, parseZone } from '@mailward/core';
import { DEFAULT_POLICY_ACTIONS, startPolicyService, type PolicyService } from '../src/index.js';

const zone = parseZone({
  'pass.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'fail.example': [{ TXT: 'v=spf1 -all' }],
});
assert.ok(zone.ok);

async function start(server: { idleTimeoutMs?: number; maxConnections?: number } = {}, listen = 'inet:127.0.0.1:0') {
  const lines: string[] = [];
  const started = await startPolicyService({
    settings: {
      listen,
      receiver: 'mx.test',
      dns: { servers: [], timeoutMs: 1000 },
      helo: false,
      actions: DEFAULT_POLICY_ACTIONS,
      skipHosts: [],
      skipAuthenticated: true,
      cache: { ttlSeconds: 60, maxEntries: 100 },
    },
    resolver: new MemoryResolver(zone.ok ? zone.zone : new Map()),
    log: (line) => lines.push(line),
    server,
  });
  assert.ok(started.ok);
  const port = Number(/:(\d+)$/.exec(started.service.address)?.[1]);
  return { service: started.service as PolicyService, port, lines };
}

const rcpt = (sender: string, recipient = 'bob@mx.test') =>
  `request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.10\nhelo_name=h.example\nsender=${sender}\nrecipient=${recipient}\ninstance=abc\n\n`;

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads until `count` replies (each ends in an empty line) have arrived. */
function replies(socket: Socket, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const parts = text.split('\n\n').filter((p) => p !== '');
      if (parts.length >= count && text.endsWith('\n\n')) {
        socket.off('data', onData);
        resolve(parts);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Everything until the server closes. */
function untilClose(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.once('close', () => resolve(text));
  });
}

test('Postfix style: several requests on one connection, each answered, the connection stays open', async () => {
  const { service, port, lines } = await start();
  try {
    const socket = await open(port);
    socket.write(rcpt('a@fail.example', 'r1@mx.test'));
    const [first] = await replies(socket, 1);
    assert.match(first ?? '', /^action=550 5\.7\.23 SPF validation failed for sender a@fail\.example: /);
    // Two pipelined in one write, the second split over two writes.
    const pipelined = replies(socket, 2);
    const two = rcpt('a@fail.example', 'r2@mx.test') + rcpt('b@pass.example', 'r3@mx.test');
    socket.write(two.slice(0, 150));
    socket.write(two.slice(150));
    const [second, third] = await pipelined;
    assert.equal(second, first);
    assert.match(third ?? '', /^action=PREPEND Received-SPF: pass /);
    assert.equal(socket.destroyed, false);
    assert.equal(service.evaluator.evaluations, 2);
    socket.destroy();
    assert.equal(lines.length, 3);
    assert.match(
      lines[1] ?? '',
      /^policy: client=192\.0\.2\.10 helo=h\.example sender=<a@fail\.example> recipient=<r2@mx\.test> instance=abc result=fail identity=mailfrom \(cached\) action=550 5\.7\.23$/,
    );
  } finally {
    await service.close();
  }
});

test('Exim style: the request, then a half-close; the answer comes and the server closes', async () => {
  const { service, port } = await start();
  try {
    const socket = await open(port);
    const all = untilClose(socket);
    // readsocket sends the expanded string as is; the snippet's last "\n\n" may be missing.
    socket.end('request=smtpd_access_policy\nclient_address=192.0.2.10\nhelo_name=h.example\nsender=x@fail.example\n');
    assert.match(await all, /^action=550 5\.7\.23 SPF validation failed for sender x@fail\.example: .*\n\n$/);
  } finally {
    await service.close();
  }
});

test('a bad line: logged with the peer, nothing sent, connection closed; the server keeps serving', async () => {
  const { service, port, lines } = await start();
  try {
    const socket = await open(port);
    const all = untilClose(socket);
    socket.write('HELO there\r\n');
    assert.equal(await all, '');
    assert.match(
      lines.at(-1) ?? '',
      /^policy: 127\.0\.0\.1:\d+: bad request: line 1 "HELO there" is not name=value; connection closed$/,
    );
    const next = await open(port);
    next.write(rcpt('b@pass.example'));
    assert.match((await replies(next, 1))[0] ?? '', /^action=PREPEND /);
    next.destroy();
  } finally {
    await service.close();
  }
});

test('an endless line is cut off at the limit, an idle client is closed, extra connections are refused', async () => {
  const { service, port, lines } = await start({ idleTimeoutMs: 200, maxConnections: 2 });
  try {
    const flood = await open(port);
    const floodClosed = untilClose(flood);
    flood.write('sender=' + 'x'.repeat(10_000));
    assert.equal(await floodClosed, '');
    assert.ok(lines.some((l) => /line 1 is longer than 4096 bytes/.test(l)));

    const idle = await open(port);
    const idleClosed = untilClose(idle);
    const held = await open(port);
    const third = await open(port);
    assert.equal(await untilClose(third), '');
    assert.ok(lines.some((l) => /over 2 connections, closed/.test(l)));
    await idleClosed;
    assert.ok(lines.some((l) => /idle too long; connection closed/.test(l)));
    held.destroy();
  } finally {
    await service.close();
  }
});

test('settings errors come back as one line, before anything listens', async () => {
  const started = await startPolicyService({
    settings: {
      listen: 'inet:127.0.0.1:0',
      receiver: 'mx.test',
      dns: { servers: [], timeoutMs: 1000 },
      helo: true,
      actions: DEFAULT_POLICY_ACTIONS,
      skipHosts: ['300.0.0.0/8'],
      skipAuthenticated: true,
      cache: { ttlSeconds: 60, maxEntries: 100 },
    },
    resolver: new MemoryResolver(new Map()),
    log: () => undefined,
  });
  assert.deepEqual(started, { ok: false, error: 'skip hosts: "300.0.0.0/8" is not an IP address or CIDR network' });
});

test('a client that sends requests but never reads its replies stops being read (no unbounded buffering)', async () => {
  const { service, port, lines } = await start();
  try {
    const socket = await open(port);
    socket.pause(); // never read the replies
    // Each answer is a cached 550 of about 200 bytes: 200k of them are 40 MB, far more than the
    // kernel's socket buffers hold, so answering must stop until the client reads.
    const total = 200_000;
    socket.write(rcpt('a@fail.example').repeat(total));
    let seen = -1;
    for (let i = 0; i < 60 && lines.length !== seen; i += 1) {
      seen = lines.length;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(lines.length, seen, 'answering stopped');
    assert.ok(seen > 0 && seen < total, `answered ${seen} of ${total} without the client reading`);
    socket.destroy();
  } finally {
    await service.close();
  }
});

test('unix:PATH: a stale socket file is replaced, the socket is connectable by others (0666), removed on close', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-policy-'));
  const path = join(dir, 'policy.sock');
  try {
    // A process that exits without closing its server leaves its socket file behind.
    const left = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    assert.equal(left.status, 0, String(left.stderr));
    assert.ok((await stat(path)).isSocket());
    const first = await start({}, `unix:${path}`);
    await first.service.close();
    // A regular file in the way is never deleted: listen fails with a one-line system error.
    await writeFile(path, 'not a socket');
    await assert.rejects(start({}, `unix:${path}`), /EADDRINUSE/);
    await rm(path);
    const { service } = await start({}, `unix:${path}`);
    assert.equal(service.address, `unix:${path}`);
    assert.equal((await stat(path)).mode & 0o777, 0o666);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const opened = connect(path, () => resolve(opened));
      opened.once('error', reject);
    });
    socket.write(rcpt('a@fail.example'));
    assert.match((await replies(socket, 1))[0] ?? '', /^action=550 5\.7\.23 /);
    socket.destroy();
    await service.close();
    await assert.rejects(stat(path), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
