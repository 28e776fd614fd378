// `mailward milter` as a real process: Prometheus counters that move in a real HTTP scrape, SIGHUP
// swapping a signing key while a session stays open (that session finishes with the old key),
// a failed reload keeping the old settings, and SIGTERM draining an open session before exit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { writeFile } from 'node:fs/promises';
import { verifyDkim, type milter } from '@mailward/core';
import { MilterClient } from '@mailward/adapters';
import { freePort } from '@mailward/testkit';
import {
  applyEdits,
  ed25519Key,
  inboundMessage,
  keyRecord,
  resolverFor,
  rsaKey,
  send,
  tempDir,
} from './milter-support.js';
import { listeningAddress, startMilterProcess, StepwiseMessage, type MilterProcess } from './milter-process.js';

const keyA = rsaKey();
const keyB = ed25519Key();
const FIXTURE = `
bank.example:
  - TXT: "v=spf1 ip4:192.0.2.20 -all"
_dmarc.bank.example:
  - TXT: "v=DMARC1; p=reject"
`;

let dir: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  dir = await tempDir();
});
after(async () => dir.remove());

const outboundHeaders = ['From: <me@own.example>', 'To: <you@elsewhere.example>', 'Subject: keys'];
const outboundBody = 'signed with whichever key is current\r\n';

/** Verifies the DKIM-Signature of the edits against a zone publishing `key` for own.example s1. */
async function verifiesWith(edits: readonly milter.MilterReply[], key: ReturnType<typeof rsaKey>): Promise<string> {
  const message = applyEdits(outboundHeaders, outboundBody, edits);
  const zone = resolverFor({ 's1._domainkey.own.example': [keyRecord(key)] });
  const result = await verifyDkim(Buffer.from(message, 'latin1'), { resolver: zone, clock: { now: () => Date.now() } });
  assert.equal(result.signatures.length, 1);
  return result.signatures[0]!.result;
}

async function start(extra: string[] = []): Promise<{ proc: MilterProcess; address: string; keyFile: string }> {
  const keyFile = await dir.file(`key-${Math.random().toString(36).slice(2)}.pem`, keyA.pem);
  const fixture = await dir.file('zone.yaml', FIXTURE);
  const proc = await startMilterProcess([
    '--listen',
    'inet:127.0.0.1:0',
    '--authserv-id',
    'mx.test',
    '--dns-fixture',
    fixture,
    '--sign',
    `own.example:s1:${keyFile}`,
    '--enforce',
    ...extra,
  ]);
  const address = listeningAddress(await proc.waitFor(/milter: listening on /));
  return { proc, address, keyFile };
}

async function stop(proc: MilterProcess): Promise<void> {
  proc.kill('SIGTERM');
  const end = await proc.exited;
  assert.equal(end.code, 0, proc.lines.join('\n'));
}

function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('metrics: a real scrape shows messages, DNS outcomes, sessions and latencies move', async () => {
  const port = await freePort();
  const { proc, address } = await start(['--metrics', `127.0.0.1:${port}`]);
  try {
    const scrape = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      return response.text();
    };
    const before = await scrape();
    const rejectLabels = 'direction="inbound",verdict="fail",action="reject"';
    assert.equal(sample(before, 'mailward_milter_messages_total', rejectLabels), 0);
    const spoof = inboundMessage(
      { ip: '203.0.113.9', sender: 'ceo@bank.example' },
      ['From: <ceo@bank.example>', 'Subject: pay'],
      'now\r\n',
    );
    const outcome = await send(address, spoof);
    assert.equal(outcome.final.type, 'replyCode');
    await send(address, inboundMessage({ ip: '127.0.0.1', sender: 'me@own.example' }, outboundHeaders, outboundBody));
    const afterwards = await scrape();
    assert.equal(sample(afterwards, 'mailward_milter_messages_total', rejectLabels), 1);
    assert.equal(
      sample(afterwards, 'mailward_milter_messages_total', 'direction="outbound",verdict="signed",action="accept"'),
      1,
    );
    assert.ok(sample(afterwards, 'mailward_milter_dns_lookups_total', 'type="TXT",outcome="answer"') >= 2, afterwards);
    assert.equal(sample(afterwards, 'mailward_milter_sessions_ended_total', 'reason="quit"'), 2);
    assert.equal(sample(afterwards, 'mailward_milter_stage_seconds_count', 'stage="message",direction="inbound"'), 1);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  } finally {
    await stop(proc);
  }
});

test('SIGHUP swaps the key for new sessions; an open session finishes with the old one; a bad reload keeps the old settings', async () => {
  const { proc, address, keyFile } = await start();
  try {
    const open = await StepwiseMessage.open(address);
    await open.begin('127.0.0.1', 'me@own.example', outboundHeaders);
    await open.body(outboundBody.slice(0, 10));

    await writeFile(keyFile, keyB.pem);
    proc.kill('SIGHUP');
    await proc.waitFor(/milter: settings reloaded/);

    // A session opened after the reload signs with the new key.
    const fresh = await send(
      address,
      inboundMessage({ ip: '127.0.0.1', sender: 'me@own.example' }, outboundHeaders, outboundBody),
    );
    assert.equal(await verifiesWith(fresh.edits, keyB), 'pass');

    // The open session was not dropped, and signs with the key it started with.
    await open.body(outboundBody.slice(10));
    const replies = await open.end();
    assert.equal(replies.at(-1)?.type, 'continue');
    assert.equal(await verifiesWith(replies.slice(0, -1), keyA), 'pass');
    await open.quit();

    // A key file that no longer parses: the reload fails, the running settings stay.
    await writeFile(keyFile, 'not a key\n');
    proc.kill('SIGHUP');
    const failed = await proc.waitFor(/milter: reload failed, keeping the previous settings/);
    assert.match(failed, /own\.example:s1/);
    assert.ok(failed.includes(keyFile), failed);
    const still = await send(
      address,
      inboundMessage({ ip: '127.0.0.1', sender: 'me@own.example' }, outboundHeaders, outboundBody),
    );
    assert.equal(await verifiesWith(still.edits, keyB), 'pass');
  } finally {
    await stop(proc);
  }
});

test('SIGTERM drains: no new connections, the open session finishes, then exit 0', async () => {
  const { proc, address } = await start(['--drain-timeout', '20000']);
  const open = await StepwiseMessage.open(address);
  await open.begin('127.0.0.1', 'me@own.example', outboundHeaders);
  proc.kill('SIGTERM');
  await proc.waitFor(/milter: draining 1 session/);
  await assert.rejects(MilterClient.connect(address, { timeoutMs: 2000 }), /ECONNREFUSED/);
  await open.body(outboundBody);
  const replies = await open.end();
  assert.equal(replies.at(-1)?.type, 'continue');
  assert.equal(await verifiesWith(replies.slice(0, -1), keyA), 'pass');
  await open.quit();
  const end = await proc.exited;
  assert.equal(end.code, 0, proc.lines.join('\n'));
  assert.ok(
    proc.lines.some((l) => l === 'milter: stopped'),
    proc.lines.join('\n'),
  );
});

test('SIGTERM with a session that does not finish: cut off at the drain deadline, still exit 0', async () => {
  const { proc, address } = await start(['--drain-timeout', '300']);
  const open = await StepwiseMessage.open(address);
  await open.begin('127.0.0.1', 'me@own.example', outboundHeaders);
  proc.kill('SIGTERM');
  const end = await proc.exited;
  assert.equal(end.code, 0, proc.lines.join('\n'));
  assert.ok(
    proc.lines.some((l) => /stopped \(1 session\(s\) cut off at the deadline\)/.test(l)),
    proc.lines.join('\n'),
  );
  open.client.destroy();
});

test('start-up errors through the CLI: one line naming the flag, exit 1 or 2, no stack trace', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [
      ['--sign', `own.example:s1:${dir.path}/missing.pem`],
      1,
      /^mailward milter: --sign: signing key own\.example:s1: .*missing\.pem/,
    ],
    [['--internal-hosts', '10.0.0.0/33'], 2, /^mailward milter: --internal-hosts: .*"10\.0\.0\.0\/33"/],
    [['--sign', 'own.example'], 2, /^mailward milter: --sign "own\.example" is not DOMAIN:SELECTOR:KEYFILE/],
    [['--listen', 'tcp:1'], 2, /^mailward milter: --listen .*unknown transport/],
    [['--local-policy', `${dir.path}/none.yaml`], 1, /^mailward milter: --local-policy .*none\.yaml/],
  ];
  for (const [args, code, pattern] of cases) {
    // A later --listen overrides the first (commander keeps the last value).
    const proc = await startMilterProcess(['--listen', 'inet:127.0.0.1:0', ...args]);
    const end = await proc.exited;
    assert.equal(end.code, code, `${args.join(' ')}: ${proc.lines.join('\n')}`);
    const text = proc.lines.filter((l) => l !== '');
    assert.equal(text.length, 1, text.join('\n'));
    assert.match(text[0]!, pattern);
  }
  // The port in use: exit 1, naming --listen.
  const first = await start();
  try {
    const second = await startMilterProcess(['--listen', first.address]);
    assert.equal((await second.exited).code, 1);
    assert.match(second.lines[0]!, /^mailward milter: --listen: .*already in use/);
  } finally {
    await stop(first.proc);
  }
});
