/**
 * The Exim server's verdict journal with in-memory journals: one row per checked message written
 * before the reply, none for unchecked ones, and a failing or hanging store logged and counted
 * while Exim still gets its verdict. The real stores behind the real CLI are in
 * packages/cli/test/exim-verdicts.int.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { connect } from 'node:net';
import { MemoryResolver, parseZone } from '@mailward/core';
import type { VerdictRecord } from '@mailward/reports';
import type { EximServer, EximSettings } from '../src/index.js';
import { DEFAULT_DNS, DEFAULT_INBOUND, startEximServer } from '../src/index.js';

const NOW = 1_800_000_000_000;
const zone = parseZone({
  'example.org': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  '_dmarc.example.org': [{ TXT: 'v=DMARC1; p=reject' }],
});
assert.ok(zone.ok, zone.ok ? '' : zone.errors.join('; '));
const resolver = new MemoryResolver(zone.zone);
const settings: EximSettings = {
  listen: 'inet:127.0.0.1:0',
  authservId: 'mx.test',
  dns: DEFAULT_DNS,
  inbound: { ...DEFAULT_INBOUND, enforce: true },
};

function wire(ip: string, extra = ''): Buffer {
  const mbox = Buffer.from(
    'From MAILER-DAEMON Fri Dec 04 03:27:22 2026\nX-Envelope-From: <alice@example.org>\nFrom: <alice@example.org>\nSubject: t\n\nHello.\n',
    'latin1',
  );
  return Buffer.concat([
    Buffer.from(
      `CHECK RSPAMC/1.3\r\nContent-length: ${mbox.length}\r\nQueue-Id: q-${ip}\r\nFrom: <alice@example.org>\r\nRecipient-Number: 1\r\nRcpt: <bob@mx.test>\r\nIP: ${ip}\r\nHelo: client.example\r\n${extra}\r\n`,
    ),
    mbox,
  ]);
}

function exchange(server: EximServer, bytes: Uint8Array): Promise<string> {
  const port = server.address.kind === 'inet' ? server.address.port : 0;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

async function withServer(
  journal: { appendVerdicts(records: readonly VerdictRecord[]): Promise<void> },
  body: (server: EximServer, logged: string[]) => Promise<void>,
): Promise<void> {
  const logged: string[] = [];
  const server = await startEximServer({
    settings,
    resolver,
    clock: { now: () => NOW },
    log: (line) => logged.push(line),
    journal,
    journalTimeoutMs: 300,
  });
  try {
    await body(server, logged);
  } finally {
    await server.close(100);
  }
}

test('one verdict per checked message, appended before the reply is sent; unchecked messages leave none', async () => {
  const rows: VerdictRecord[] = [];
  let releaseAppend: () => void = () => {};
  const journal = {
    appendVerdicts: (records: readonly VerdictRecord[]) =>
      new Promise<void>((resolve) => {
        rows.push(...records);
        releaseAppend = resolve;
      }),
  };
  await withServer(journal, async (server) => {
    let replied = false;
    const reply = exchange(server, wire('203.0.113.9')).then((text) => {
      replied = true;
      return text;
    });
    while (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(replied, false, 'no reply while the append is not committed');
    releaseAppend();
    assert.match(await reply, /\r\nAction: reject\r\n550 5\.7\.1 /);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.receiver, 'exim');
    assert.equal(rows[0]?.queueId, 'q-203.0.113.9');
    assert.equal(rows[0]?.time, NOW);
    assert.equal(rows[0]?.action, 'reject');
    assert.equal(rows[0]?.policyEvaluated.disposition, 'reject');
    // Authenticated (outgoing) mail is not checked, so it is not in the journal.
    const outgoing = exchange(server, wire('192.0.2.10', 'User: alice\r\n'));
    assert.match(await outgoing, /Authentication-Results: mx\.test; none \(authenticated client/);
    assert.equal(rows.length, 1);
  });
});

test('a failing store and a hanging store: logged and counted, and Exim still gets the verdict', async () => {
  const failing = { appendVerdicts: () => Promise.reject(new Error('disk I/O error')) };
  await withServer(failing, async (server, logged) => {
    assert.match(await exchange(server, wire('203.0.113.9')), /\r\nAction: reject\r\n/);
    assert.match(await exchange(server, wire('192.0.2.10')), /\r\nAction: no action\r\n/);
    assert.equal(server.unrecordedVerdicts(), 2);
    assert.ok(logged.includes('exim queue-id=q-192.0.2.10 verdict not recorded (2 since start): disk I/O error'));
  });
  const hanging = { appendVerdicts: () => new Promise<void>(() => {}) };
  await withServer(hanging, async (server, logged) => {
    const started = Date.now();
    assert.match(await exchange(server, wire('203.0.113.9')), /\r\nAction: reject\r\n/);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(server.unrecordedVerdicts(), 1);
    assert.ok(
      logged.some((l) => /verdict not recorded \(1 since start\): the store did not confirm within 0\.3 s$/.test(l)),
    );
  });
});
