/**
 * The check and the server with an in-memory resolver: what Exim would get back for a message,
 * over a real loopback socket for the server cases. Real Exim is in exim-check.int.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { generateKeyPairSync } from 'node:crypto';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resolver } from '@mailward/core';
import { MemoryResolver, parseZone, signDkim } from '@mailward/core';
import type { EximRequest, EximServer, EximSettings } from '../src/index.js';
import {
  DEFAULT_DNS,
  DEFAULT_INBOUND,
  checkEximRequest,
  inboundPolicyFromSettings,
  startEximServer,
} from '../src/index.js';

const NOW = 1_800_000_000_000;
const clock = { now: () => NOW };
const key = generateKeyPairSync('ed25519');
const der = key.publicKey.export({ type: 'spki', format: 'der' });
const zone = parseZone({
  'example.org': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'ed._domainkey.example.org': [{ TXT: `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}` }],
  '_dmarc.example.org': [{ TXT: 'v=DMARC1; p=reject' }],
  '_dmarc.broken.example': ['SERVFAIL'],
  'broken.example': [{ TXT: 'v=spf1 -all' }],
});
assert.ok(zone.ok, zone.ok ? '' : zone.errors.join('; '));
const resolver = new MemoryResolver(zone.zone);

const plain = (from: string) =>
  Buffer.from(
    `From: <${from}>\r\nTo: <bob@mx.test>\r\nSubject: t\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n\r\nHello.\r\n`,
  );
const signed = signDkim(
  plain('alice@example.org'),
  [{ domain: 'example.org', selector: 'ed', privateKey: key.privateKey }],
  {
    clock,
  },
).message;

function req(message: Uint8Array, extra: Partial<EximRequest> = {}): EximRequest {
  return {
    version: '1.3',
    queueId: '1abcde-000001-AB',
    mailFrom: 'alice@example.org',
    recipients: ['bob@mx.test'],
    helo: 'client.example',
    ip: '192.0.2.10',
    contentLength: message.length,
    message: { kept: true, bytes: message },
    ...extra,
  };
}

const enforcing = inboundPolicyFromSettings({ ...DEFAULT_INBOUND, enforce: true });
const options = { authservId: 'mx.test', resolver, clock, inbound: enforcing };

test('signed mail from an SPF-authorized client: no action, A-R with dkim, spf and dmarc pass', async () => {
  const outcome = await checkEximRequest(req(signed), options);
  assert.match(
    outcome.reply,
    /^RSPAMD\/1\.3 0 EX_OK\r\nMetric: default; False; 0\.00 \/ 15\.00 \/ 15\.00\r\nAction: no action\r\n/,
  );
  assert.match(outcome.reply, /Authentication-Results: mx\.test;\r\n\tdkim=pass [^\r]*header\.d=example\.org/);
  assert.match(outcome.reply, /\tspf=pass smtp\.mailfrom=alice@example\.org/);
  assert.match(outcome.reply, /\tdmarc=pass/);
  assert.match(outcome.reply, /Received-SPF: pass/);
  // Received-SPF goes out first: Exim adds :at_start: lines in reverse order.
  assert.ok(outcome.reply.indexOf('Received-SPF:') < outcome.reply.indexOf('Authentication-Results:'));
  assert.match(
    outcome.log,
    /^exim queue-id=1abcde-000001-AB ip=192\.0\.2\.10 from=<alice@example\.org> action="no action" spf=pass dkim=pass\(example\.org\) dmarc=pass domain=example\.org /,
  );
});

test('a spoof of p=reject: reject with 550 5.7.1; without enforce only labelled', async () => {
  const spoof = req(plain('alice@example.org'), { ip: '203.0.113.9' });
  const outcome = await checkEximRequest(spoof, options);
  assert.match(
    outcome.reply,
    /\r\nAction: reject\r\n550 5\.7\.1 Message rejected: it fails the DMARC policy of example\.org/,
  );
  const dry = await checkEximRequest(spoof, { ...options, inbound: inboundPolicyFromSettings(DEFAULT_INBOUND) });
  assert.match(dry.reply, /\r\nAction: no action\r\n/);
  assert.match(dry.reply, /dmarc=fail/);
  assert.match(dry.log, /dry run: reject 550 5\.7\.1/);
});

test('a DNS failure: soft reject 451 4.7.5, or no action with --on-dns-failure accept', async () => {
  const broken = req(plain('a@broken.example'), { mailFrom: 'a@broken.example', ip: '203.0.113.9' });
  const outcome = await checkEximRequest(broken, options);
  assert.match(
    outcome.reply,
    /\r\nAction: soft reject\r\n451 4\.7\.5 DMARC policy of broken\.example could not be checked/,
  );
  const accept = await checkEximRequest(broken, {
    ...options,
    inbound: inboundPolicyFromSettings({ ...DEFAULT_INBOUND, enforce: true, onDnsFailure: 'accept' }),
  });
  assert.match(accept.reply, /\r\nAction: no action\r\n/);
  assert.match(accept.reply, /dmarc=temperror/);
});

test('not checked: authenticated clients, local submissions, oversize and unparsable messages', async () => {
  const cases: [EximRequest, RegExp][] = [
    [req(signed, { user: 'alice' }), /none \(authenticated client, outgoing mail\)/],
    [{ ...req(signed), ip: undefined } as unknown as EximRequest, /none \(no client IP address \(?locally submitted/],
    [
      req(signed, { message: { kept: false, reason: 'message of 9 bytes is over the 1-byte limit' } }),
      /none \(message of 9 bytes is over the 1-byte limit\)/,
    ],
    [req(Buffer.from('a: b\r\n'.repeat(100_001))), /none \(not a message: more than 100000 header fields\)/],
  ];
  for (const [request, expected] of cases) {
    const outcome = await checkEximRequest(request, options);
    assert.match(outcome.reply, /\r\nAction: no action\r\nAuthentication-Results: mx\.test; none \(/);
    assert.match(outcome.reply.replace(/\r\n$/, ''), expected);
    assert.match(outcome.log, /action=none not checked: /);
  }
});

/** One request over a real socket, as Exim sends it (no half-close); the reply is read to EOF. */
function exchange(port: number, bytes: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

function wire(message: Uint8Array, head = 'IP: 192.0.2.10\r\nHelo: client.example\r\n'): Buffer {
  // Exim sends the mbox form: an envelope line and LF line ends.
  const mbox = Buffer.from(
    `From MAILER-DAEMON Fri Dec 04 03:27:22 2026\nX-Envelope-From: <alice@example.org>\n${Buffer.from(message).toString('latin1').replace(/\r\n/g, '\n')}`,
    'latin1',
  );
  return Buffer.concat([
    Buffer.from(
      `CHECK RSPAMC/1.3\r\nContent-length: ${mbox.length}\r\nQueue-Id: q1\r\nFrom: <alice@example.org>\r\nRecipient-Number: 1\r\nRcpt: <bob@mx.test>\r\n${head}\r\n`,
    ),
    mbox,
  ]);
}

const settings: EximSettings = {
  listen: 'inet:127.0.0.1:0',
  authservId: 'mx.test',
  dns: DEFAULT_DNS,
  inbound: { ...DEFAULT_INBOUND, enforce: true },
};
const logged: string[] = [];
let server: EximServer;
/** A resolver that never answers: the check's time budget has to end it. */
const silent: Resolver = { lookup: () => new Promise(() => {}) };
let slowServer: EximServer;

before(async () => {
  server = await startEximServer({
    settings,
    resolver,
    clock,
    log: (line) => logged.push(line),
    limits: { maxHeaderBytes: 4096, maxMessageBytes: 2048, maxContentLength: 1 << 20 },
  });
  slowServer = await startEximServer({
    settings,
    resolver: silent,
    clock,
    log: (line) => logged.push(line),
    checkTimeoutMs: 200,
  });
});
after(async () => {
  await server?.close(100);
  await slowServer?.close(100);
});

const portOf = (s: EximServer) => (s.address.kind === 'inet' ? s.address.port : 0);

test('over a socket: the signed message through the mbox form still passes DKIM; one log line per message', async () => {
  const reply = await exchange(portOf(server), wire(signed));
  assert.match(reply, /\r\nAction: no action\r\n/);
  assert.match(reply, /dkim=pass/);
  assert.match(reply, /dmarc=pass/);
  assert.ok(
    logged.some((line) =>
      line.startsWith('exim queue-id=q1 ip=192.0.2.10 from=<alice@example.org> action="no action"'),
    ),
  );
});

test('over a socket: a message over the limit is drained and answered "none"; a bad request gets an unparsable reply', async () => {
  const big = Buffer.concat([plain('alice@example.org'), Buffer.alloc(100_000, 0x78)]);
  assert.match(
    await exchange(portOf(server), wire(big)),
    /\r\nAction: no action\r\nAuthentication-Results: mx\.test; none \(message of \d+ bytes is over the 2048-byte limit\)/,
  );
  const bad = await exchange(portOf(server), Buffer.from('CHECK RSPAMC/1.3\r\nContent-length: x\r\n\r\n'));
  assert.equal(bad, 'RSPAMD/1.3 400 EX_PROTOCOL\r\nError: Content-length "x" is not a number\r\n\r\n');
  assert.ok(logged.some((line) => /bad request: Content-length "x" is not a number$/.test(line)));
});

test('over a socket: a client that trickles its request past the request deadline is cut off', async () => {
  const trickle = await startEximServer({
    settings,
    resolver,
    clock,
    log: (line) => logged.push(line),
    idleTimeoutMs: 1000,
    requestTimeoutMs: 300,
  });
  try {
    const closed = await new Promise<number>((resolve, reject) => {
      const started = Date.now();
      const socket = connect(portOf(trickle), '127.0.0.1');
      const timer = setInterval(() => socket.write('X'), 50);
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      });
      socket.on('error', () => {});
      setTimeout(() => reject(new Error('not closed')), 3000);
    });
    assert.ok(closed < 1500, `${closed} ms`);
    assert.ok(logged.some((line) => /request not complete after 0\.3 s, closed$/.test(line)));
  } finally {
    await trickle.close(100);
  }
});

test('over a Unix socket (spamd_address = /path variant=rspamd): the same answer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-exim-unix-'));
  const path = join(dir, 'exim.sock');
  const local = await startEximServer({
    settings: { ...settings, listen: `unix:${path}` },
    resolver,
    clock,
    log: () => {},
  });
  try {
    assert.deepEqual(local.address, { kind: 'unix', path });
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(path);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
      socket.write(wire(signed));
    });
    assert.match(reply, /\r\nAction: no action\r\n/);
    assert.match(reply, /dmarc=pass/);
  } finally {
    await local.close(100);
    await rm(dir, { recursive: true, force: true });
  }
});

test('over a socket: DNS that never answers ends in the time budget with a soft reject 451 4.7.5', async () => {
  const started = Date.now();
  const reply = await exchange(portOf(slowServer), wire(plain('alice@example.org')));
  assert.match(
    reply,
    /\r\nAction: soft reject\r\n451 4\.7\.5 DMARC policy could not be checked \(DNS too slow\); try again later\r\n$/,
  );
  assert.ok(Date.now() - started < 2000);
});

test('reload: the checks that follow use the new settings (SIGHUP), the address stays', async () => {
  const reloading = await startEximServer({ settings, resolver, clock, log: () => {} });
  try {
    const port = portOf(reloading);
    const spoof = wire(plain('alice@example.org'), 'IP: 203.0.113.9\r\nHelo: client.example\r\n');
    assert.match(await exchange(port, spoof), /\r\nAction: reject\r\n550 5\.7\.1 /);
    reloading.reload({ ...settings, authservId: 'mx2.test', inbound: { ...DEFAULT_INBOUND, enforce: false } });
    const dry = await exchange(port, spoof);
    assert.match(dry, /\r\nAction: no action\r\n/);
    assert.match(dry, /Authentication-Results: mx2\.test;/);
    assert.equal(portOf(reloading), port);
  } finally {
    await reloading.close(100);
  }
});
