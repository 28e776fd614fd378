// The counters of the policy service and Exim's check on loopback servers with in-memory DNS:
// how connections end (idle, over the limit, server close), a check that ran out of time, an
// idle Exim connection, and the labels of messages that were not checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { MemoryResolver, parseZone, type Resolver } from '@mailward/core';
import {
  DEFAULT_DNS,
  DEFAULT_INBOUND,
  DEFAULT_POLICY_ACTIONS,
  EximMetrics,
  eximMessageLabels,
  startEximServer,
  startPolicyService,
  type EximSettings,
} from '../src/index.js';

const zone = parseZone({ 'pass.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }] });
assert.ok(zone.ok);
const resolver = new MemoryResolver(zone.ok ? zone.zone : new Map());
/** A resolver that never answers: the check's time budget has to end it. */
const silent: Resolver = { lookup: () => new Promise(() => {}) };

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The server sees a close a moment after the client does: wait for the count (or time out). */
async function eventually(read: () => Promise<number>, expected: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while ((await read()) !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await read(), expected);
}

const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

async function value(registry: { metrics(): Promise<string> }, name: string, labels = '') {
  const text = await registry.metrics();
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(prefix.length));
}

test('policy: connections ended idle, over the limit and by the server are counted by reason', async () => {
  const started = await startPolicyService({
    settings: {
      listen: 'inet:127.0.0.1:0',
      receiver: 'mx.test',
      dns: DEFAULT_DNS,
      helo: false,
      actions: DEFAULT_POLICY_ACTIONS,
      skipHosts: ['192.0.2.99'],
      skipAuthenticated: true,
      cache: { ttlSeconds: 60, maxEntries: 100 },
    },
    resolver,
    log: () => undefined,
    server: { idleTimeoutMs: 150, maxConnections: 1 },
  });
  assert.ok(started.ok);
  const service = started.service;
  const registry = service.metrics.registry;
  const port = Number(/:(\d+)$/.exec(service.address)?.[1]);
  try {
    const first = await open(port);
    // A skipped client: counted as result skipped, action dunno, no cache lookup.
    first.write('request=smtpd_access_policy\nclient_address=192.0.2.99\nsender=a@pass.example\n\n');
    await new Promise<void>((resolve) => first.once('data', () => resolve()));
    assert.equal(await value(registry, 'mailward_policy_requests_total', 'result="skipped",action="dunno"'), 1);
    assert.equal(await value(registry, 'mailward_policy_cache_total', 'outcome="miss"'), 0);
    assert.equal(await value(registry, 'mailward_policy_active_connections'), 1);
    const second = await open(port);
    await closed(second);
    await closed(first);
    await eventually(() => value(registry, 'mailward_policy_connections_ended_total', 'reason="over-limit"'), 1);
    await eventually(() => value(registry, 'mailward_policy_connections_ended_total', 'reason="idle"'), 1);
    const third = await open(port);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await service.close();
    await closed(third);
    await eventually(() => value(registry, 'mailward_policy_connections_ended_total', 'reason="server-close"'), 1);
  } finally {
    await service.close();
  }
});

const eximSettings: EximSettings = {
  listen: 'inet:127.0.0.1:0',
  authservId: 'mx.test',
  dns: DEFAULT_DNS,
  inbound: { ...DEFAULT_INBOUND, enforce: true },
};

function eximRequest(): string {
  const mbox = 'From MAILER-DAEMON Fri Dec 04 03:27:22 2026\nFrom: <a@pass.example>\nSubject: x\n\nhi\n';
  return `CHECK RSPAMC/1.3\r\nContent-length: ${mbox.length}\r\nQueue-Id: q1\r\nFrom: <a@pass.example>\r\nIP: 192.0.2.10\r\nHelo: h.example\r\n\r\n${mbox}`;
}

test('exim: a check out of time is verdict timeout, action tempfail; an idle connection is counted', async () => {
  const metrics = new EximMetrics();
  const server = await startEximServer({
    settings: eximSettings,
    resolver: silent,
    log: () => undefined,
    checkTimeoutMs: 100,
    idleTimeoutMs: 100,
    metrics,
  });
  try {
    const port = server.address.kind === 'inet' ? server.address.port : 0;
    const socket = await open(port);
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    socket.write(eximRequest());
    await closed(socket);
    assert.match(reply, /Action: soft reject/);
    assert.equal(
      await value(metrics.registry, 'mailward_exim_messages_total', 'verdict="timeout",action="tempfail"'),
      1,
    );
    assert.equal(await value(metrics.registry, 'mailward_exim_request_errors_total', 'kind="check-timeout"'), 1);
    assert.equal(await value(metrics.registry, 'mailward_exim_check_seconds_count'), 1);
    await closed(await open(port));
    await eventually(() => value(metrics.registry, 'mailward_exim_request_errors_total', 'kind="idle"'), 1);
  } finally {
    await server.close(100);
  }
});

test('exim: a message without a verdict (not checked) is labelled unchecked, none', () => {
  assert.deepEqual(eximMessageLabels({ reply: '', log: '' }), { verdict: 'unchecked', action: 'none' });
});
