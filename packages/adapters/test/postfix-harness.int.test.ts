// Self-test of testkit's Postfix harness (postfix.ts, smtp-client.ts, smtp-sink.ts) with the real
// Postfix 3.7 and mailward's milter server as the milter. It lives in adapters because the
// milter server is here (testkit cannot depend on adapters). One Postfix instance for the file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { milter } from '@mailward/core';
import { SMTP_SOURCE_PATH, freePort, startPostfix, type PostfixInstance } from '@mailward/testkit';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { startMilterServer, type MilterServer } from '../src/index.js';

const { Action, Protocol } = milter;

interface Seen {
  connect: milter.ConnectInfo | undefined;
  helo: string | undefined;
  clientAddr: string | undefined;
  authAuthen: string | undefined;
  daemonName: string | undefined;
}
const seen: Seen[] = [];

/** Adds X-Harness-Milter at end of message and records what Postfix told it. */
function recordingHandler(): milter.MilterHandler {
  return {
    async eom(ctx) {
      seen.push({
        connect: ctx.connect,
        helo: ctx.helo,
        clientAddr: ctx.macro('{client_addr}'),
        authAuthen: ctx.macro('{auth_authen}'),
        daemonName: ctx.macro('{daemon_name}'),
      });
      return {
        edits: [{ type: 'addHeader', name: 'X-Harness-Milter', value: ' seen' }],
        decision: { type: 'accept' },
      };
    },
  };
}

const wants: milter.MilterWants = {
  requiredActions: Action.ADDHDRS,
  optionalActions: 0,
  protocol: Protocol.HDR_LEADSPC,
  // {client_addr} is not in Postfix's default milter_connect_macros: ask for it.
  symbolLists: [
    { stage: 'connect', macros: ['{client_addr}', '{daemon_name}'] },
    { stage: 'envfrom', macros: ['i', '{auth_authen}'] },
  ],
};

let postfix: PostfixInstance;
let server: MilterServer;
let milterPort: number;

/**
 * A Postfix policy service (SMTPD_POLICY_README: name=value lines, an empty line ends a request;
 * the answer is action=... and an empty line) that refuses blocked@example.net and records requests.
 */
const policyRequests: Array<Record<string, string>> = [];
let policy: Server;
async function startPolicyServer(): Promise<number> {
  policy = createServer((socket) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const request = Object.fromEntries(
          text
            .slice(0, end)
            .split('\n')
            .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
        );
        text = text.slice(end + 2);
        policyRequests.push(request);
        const refuse = request.recipient === 'blocked@example.net';
        socket.write(refuse ? 'action=REJECT 5.7.1 the test policy says no\n\n' : 'action=DUNNO\n\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => policy.listen(0, '127.0.0.1', () => resolve()));
  const address = policy.address();
  if (address === null || typeof address === 'string') throw new Error('policy server has no port');
  return address.port;
}

before(async () => {
  const policyPort = await startPolicyServer();
  milterPort = await freePort();
  server = await startMilterServer({ listen: `inet:127.0.0.1:${milterPort}`, createHandler: recordingHandler, wants });
  postfix = await startPostfix({
    smtpdMilters: `inet:127.0.0.1:${milterPort}`,
    milterDefaultAction: 'tempfail',
    milterMacroDaemonName: 'harness-mta',
    policyService: `inet:127.0.0.1:${policyPort}`,
  });
});

after(async () => {
  await postfix?.stop();
  await server?.close();
  await new Promise<void>((resolve) => (policy ? policy.close(() => resolve()) : resolve()));
});

/** Folded header, whitespace before a colon, tabs, a line starting with a dot, no final CRLF issue. */
const message = [
  'From: Alice <alice@example.org>',
  'To: bob@example.net',
  'Subject: folded',
  '\tcontinued with a tab',
  '   and spaces',
  'X-Odd-Name  :  spaced\tvalue ',
  'Message-ID: <harness-1@example.org>',
  '',
  'body line',
  '.starts with a dot',
  '\ttab-led line',
  '',
].join('\r\n');

/** Removes the first header field (Postfix's Received, folded over three lines). */
function withoutFirstField(raw: Buffer): { first: string; rest: Buffer } {
  const text = raw.toString('latin1');
  const match = /^[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/.exec(text);
  assert.ok(match, 'delivered message has no first header field');
  return { first: match[0], rest: Buffer.from(text.slice(match[0].length), 'latin1') };
}

test('a message goes through Postfix to the sink byte-exact apart from Received, the milter header and space before a colon', async () => {
  const transcript = await postfix.send({ from: 'alice@example.org', to: ['bob@example.net'], data: message });
  assert.equal(transcript.eod?.code, 250, transcript.last.text);
  assert.match(transcript.queueId ?? '', /^[0-9A-F]+$/);
  const delivered = await postfix.sink.next();
  assert.deepEqual(delivered.rcptTo, ['bob@example.net']);
  assert.equal(delivered.mailFrom, 'alice@example.org');
  const { first, rest } = withoutFirstField(delivered.raw);
  assert.match(first, /^Received: from client\.test .*\r\n\tby mx\.test\.example \(Postfix\) with ESMTP id /s);
  // The milter's header goes at the end of the header (SMFIR_ADDHEADER), before the blank line.
  // Postfix (3.7.11, with or without a milter) drops the whitespace between a field name and its
  // colon; everything else (folding, tabs, trailing spaces, dot lines) is kept byte for byte.
  const expected = message
    .replace('X-Odd-Name  :', 'X-Odd-Name:')
    .replace('\r\n\r\n', '\r\nX-Harness-Milter: seen\r\n\r\n');
  assert.equal(rest.toString('latin1'), expected);
});

test('XCLIENT ADDR, NAME, HELO and LOGIN reach the milter as connect info, HELO and macros', async () => {
  seen.length = 0;
  const transcript = await postfix.send({
    from: 'carol@example.org',
    to: ['bob@example.net'],
    data: message,
    xclient: { ADDR: '192.0.2.7', NAME: 'client.example', HELO: 'helo.example', LOGIN: 'carol' },
  });
  assert.equal(transcript.eod?.code, 250, transcript.last.text);
  const delivered = await postfix.sink.next();
  assert.match(delivered.raw.toString('latin1'), /^Received: from helo\.example \(client\.example \[192\.0\.2\.7\]\)/);
  assert.match(delivered.raw.toString('latin1'), /with ESMTPA id/);
  assert.equal(seen.length, 1);
  const record = seen[0]!;
  assert.equal(record.connect?.address, '192.0.2.7');
  assert.equal(record.connect?.hostname, 'client.example');
  assert.equal(record.helo, 'helo.example');
  assert.equal(record.clientAddr, '192.0.2.7');
  assert.equal(record.authAuthen, 'carol');
  assert.equal(record.daemonName, 'harness-mta');
});

test('check_policy_service reaches the policy service with the XCLIENT identity; its REJECT refuses the RCPT', async () => {
  policyRequests.length = 0;
  const transcript = await postfix.send({
    from: 'alice@example.org',
    to: ['blocked@example.net', 'bob@example.net'],
    data: message,
    xclient: { ADDR: '192.0.2.8', NAME: 'policy.example', HELO: 'policy.example', LOGIN: 'dave' },
  });
  const rcpts = transcript.steps.filter((s) => s.stage === 'rcpt').map((s) => `${s.reply.code} ${s.reply.text}`);
  assert.deepEqual(rcpts, [
    '554 5.7.1 <blocked@example.net>: Recipient address rejected: the test policy says no',
    '250 2.1.5 Ok',
  ]);
  assert.equal(transcript.eod?.code, 250);
  await postfix.sink.next();
  const first = policyRequests[0];
  assert.equal(first?.request, 'smtpd_access_policy');
  assert.equal(first?.protocol_state, 'RCPT');
  assert.equal(first?.client_address, '192.0.2.8');
  assert.equal(first?.helo_name, 'policy.example');
  assert.equal(first?.sasl_username, 'dave');
  assert.equal(first?.sender, 'alice@example.org');
});

test('a milter that is down makes Postfix act per milter_default_action = tempfail (451)', async () => {
  await server.close();
  try {
    const transcript = await postfix.send({ from: 'alice@example.org', to: ['bob@example.net'], data: message });
    assert.equal(transcript.last.code, 451, JSON.stringify(transcript.steps));
    // smtpd connects to the milter with the SMTP session and, finding it down, greets normally but
    // answers MAIL FROM with "451 4.7.1 Service unavailable - try again later".
    assert.equal(transcript.lastStage, 'mail');
    assert.match(transcript.last.text, /^4\.7\.1 /);
    assert.equal(transcript.eod, undefined, 'nothing may be queued');
  } finally {
    server = await startMilterServer({
      listen: `inet:127.0.0.1:${milterPort}`,
      createHandler: recordingHandler,
      wants,
    });
  }
  // Back up: the next connection reaches the milter again.
  const again = await postfix.send({ from: 'alice@example.org', to: ['bob@example.net'], data: message });
  assert.equal(again.eod?.code, 250, again.last.text);
  assert.match((await postfix.sink.next()).raw.toString('latin1'), /X-Harness-Milter: seen/);
});

test('a refused recipient stops the session before DATA; the transcript names the stage', async () => {
  await postfix.reconfigure({ smtpd_recipient_restrictions: 'check_recipient_access static:REJECT' });
  try {
    const transcript = await postfix.send({ from: 'alice@example.org', to: ['bob@example.net'], data: message });
    assert.equal(transcript.lastStage, 'rcpt');
    assert.equal(transcript.last.code, 554);
    assert.equal(transcript.eod, undefined);
  } finally {
    await postfix.reconfigure({ smtpd_recipient_restrictions: 'permit' });
  }
});

test('smtp-source (Postfix package) is where the harness says, for the benchmark', () => {
  assert.ok(existsSync(SMTP_SOURCE_PATH), `${SMTP_SOURCE_PATH} missing`);
});
