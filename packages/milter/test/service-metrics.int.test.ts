// Metrics of `mailward policy` and `mailward exim`, as built CLI processes against a real Knot:
// a scrape with the token shows the counters move after requests; without it, 401; --metrics
// without --metrics-token-sha256 does not start (exit 2, one line naming both flags).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { parseZone } from '@mailward/core';
import { freePort, renderZone, startKnot, type KnotServer } from '@mailward/testkit';
import { MAILWARD_MAIN, PolicyClient, startPolicyProcess } from './policy-process.js';

const TOKEN = 'service-metrics-test-token-5f1c9a';
const HASH = createHash('sha256').update(TOKEN).digest('hex');

let knot: KnotServer;
before(async () => {
  const parsed = parseZone({
    'fail.test': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
    'pass.test': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
    'example.org': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
    '_dmarc.example.org': [{ TXT: 'v=DMARC1; p=reject' }],
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  knot = await startKnot({ zones: [{ origin: '.', text: renderZone(parsed.zone, { origin: '.' }) }] });
});
after(async () => knot?.stop());

async function scrape(port: number, token: string | null = TOKEN): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: response.status, text: await response.text() };
}

/** The value of one sample (`name{labels} value`), 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(prefix.length));
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('mailward policy --metrics: requests, cache, latency, DNS and connections move; no token, 401', async () => {
  const port = await freePort();
  const policy = await startPolicyProcess([
    '--dns',
    `${knot.host}:${knot.port}`,
    '--receiver',
    'mx.test',
    '--metrics',
    `127.0.0.1:${port}`,
    '--metrics-token-sha256',
    HASH,
  ]);
  try {
    assert.match(policy.output(), new RegExp(`metrics on http://127\\.0\\.0\\.1:${port}/metrics`));
    const denied = await scrape(port, null);
    assert.equal(denied.status, 401);
    assert.doesNotMatch(denied.text, /mailward_policy/);
    assert.equal((await scrape(port, 'wrong')).status, 401);
    const before = await scrape(port);
    assert.equal(before.status, 200);
    assert.equal(sample(before.text, 'mailward_policy_requests_total', 'result="fail",action="reject"'), 0);

    const client = await PolicyClient.open(policy.port);
    const rcpt = (recipient: string, sender: string, instance: string) => ({
      request: 'smtpd_access_policy',
      protocol_state: 'RCPT',
      client_address: '192.0.2.10',
      helo_name: '',
      sender,
      recipient,
      instance,
      sasl_username: '',
    });
    assert.match(await client.ask(rcpt('a@mx.test', 'x@fail.test', 'm1')), /^550 5\.7\.23 /);
    assert.match(await client.ask(rcpt('a@mx.test', 'x@pass.test', 'm2')), /^PREPEND Received-SPF: pass/);
    // The second recipient of m2: from the per-message cache, DUNNO (the header was prepended once).
    assert.equal(await client.ask(rcpt('b@mx.test', 'x@pass.test', 'm2')), 'DUNNO');
    const open = (await scrape(port)).text;
    assert.equal(sample(open, 'mailward_policy_active_connections'), 1);
    client.close();
    await until(
      async () => sample((await scrape(port)).text, 'mailward_policy_connections_ended_total', 'reason="closed"') === 1,
      'the closed connection to be counted',
    );
    const after = (await scrape(port)).text;
    assert.equal(sample(after, 'mailward_policy_requests_total', 'result="fail",action="reject"'), 1);
    assert.equal(sample(after, 'mailward_policy_requests_total', 'result="pass",action="prepend"'), 1);
    assert.equal(sample(after, 'mailward_policy_requests_total', 'result="pass",action="dunno"'), 1);
    assert.equal(sample(after, 'mailward_policy_cache_total', 'outcome="miss"'), 2);
    assert.equal(sample(after, 'mailward_policy_cache_total', 'outcome="hit"'), 1);
    assert.equal(sample(after, 'mailward_policy_decision_seconds_count', 'cache="miss"'), 2);
    assert.ok(sample(after, 'mailward_policy_dns_lookups_total', 'type="TXT",outcome="answer"') >= 2, after);
    assert.equal(sample(after, 'mailward_policy_active_connections'), 0);

    // A request that breaks the protocol: the connection is closed, counted as a protocol error.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(policy.port, '127.0.0.1', () => socket.write(`${'x'.repeat(100)}\n\n`));
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    await until(
      async () => sample((await scrape(port)).text, 'mailward_policy_errors_total', 'kind="protocol"') === 1,
      'the protocol error to be counted',
    );
  } finally {
    assert.equal(await policy.stop(), 0, policy.output());
  }
});

/** Runs the built CLI to its end (a start-up error), returning its exit code and stderr. */
function runToEnd(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [MAILWARD_MAIN, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

test('policy and exim: --metrics without --metrics-token-sha256 is exit 2 with one line naming both flags', async () => {
  for (const command of ['policy', 'exim']) {
    const result = await runToEnd([command, '--listen', 'inet:127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^mailward ${command}: --metrics 127\\.0\\.0\\.1:0 needs --metrics-token-sha256 HEX .*openssl rand -hex 32 .*sha256sum`,
      ),
    );
  }
});

/** A request as Exim's spam condition sends it (variant=rspamd), read to EOF. */
function eximExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.write(text, 'latin1');
  });
}

function eximRequest(): string {
  const mbox =
    'From MAILER-DAEMON Fri Dec 04 03:27:22 2026\nX-Envelope-From: <ceo@example.org>\n' +
    'From: <ceo@example.org>\nTo: <bob@mx.test>\nSubject: pay now\nMessage-ID: <1@example.org>\n\nplease\n';
  return (
    `CHECK RSPAMC/1.3\r\nContent-length: ${Buffer.byteLength(mbox, 'latin1')}\r\nQueue-Id: q1\r\n` +
    `From: <ceo@example.org>\r\nRecipient-Number: 1\r\nRcpt: <bob@mx.test>\r\nIP: 192.0.2.10\r\nHelo: client.example\r\n\r\n${mbox}`
  );
}

test('mailward exim --metrics: messages by verdict and action, check latency, DNS, request errors; no token, 401', async () => {
  const [listenPort, port] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [
    MAILWARD_MAIN,
    'exim',
    '--listen',
    `inet:127.0.0.1:${listenPort}`,
    '--authserv-id',
    'mx.test',
    '--dns',
    `${knot.host}:${knot.port}`,
    '--enforce',
    '--metrics',
    `127.0.0.1:${port}`,
    '--metrics-token-sha256',
    HASH.toUpperCase(),
  ]);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until(async () => output.includes('mailward exim listening on') || child.exitCode !== null, 'exim to start');
    assert.match(
      output,
      new RegExp(`listening on 127\\.0\\.0\\.1:${listenPort}, metrics on http://127\\.0\\.0\\.1:${port}/metrics`),
    );
    assert.equal((await scrape(port, null)).status, 401);
    const before = (await scrape(port)).text;
    assert.equal(sample(before, 'mailward_exim_messages_total', 'verdict="fail",action="reject"'), 0);

    const reply = await eximExchange(listenPort, eximRequest());
    assert.match(reply, /\r\nAction: reject\r\n/);
    assert.match(await eximExchange(listenPort, 'HELLO\r\n\r\n'), /^RSPAMD\/1\.3 400 EX_PROTOCOL\r\n/);

    const after = (await scrape(port)).text;
    assert.equal(sample(after, 'mailward_exim_messages_total', 'verdict="fail",action="reject"'), 1, after);
    assert.equal(sample(after, 'mailward_exim_check_seconds_count'), 1);
    assert.ok(sample(after, 'mailward_exim_dns_lookups_total', 'type="TXT",outcome="answer"') >= 2, after);
    assert.equal(sample(after, 'mailward_exim_request_errors_total', 'kind="bad-request"'), 1);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
  }
});
