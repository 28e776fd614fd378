// Self-test of the Exim harness (exim.ts) with Debian's real Exim 4.96 binary, unpacked by
// scripts/fetch-exim.sh: an ACL asks a tiny in-test TCP server with ${readsocket} and turns its
// answer into a refusal; -bs spools an accepted message.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createEximHarness, type EximHarness } from '../src/exim.js';
import { LOOPBACK, closeServer } from '../src/ports.js';

/** Answers each request line: a refusal text for senders at spoofed.example, nothing otherwise. */
const requests: string[] = [];
let server: Server;
let port: number;
let exim: EximHarness;

before(async () => {
  server = createServer((socket) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (!text.includes('\n')) return;
      const line = text.slice(0, text.indexOf('\n'));
      requests.push(line);
      socket.end(line.endsWith('@spoofed.example') ? 'DMARC policy of spoofed.example says reject\n' : '');
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  port = address.port;
  exim = await createEximHarness({
    acls: {
      // readsocket's 4th argument replaces each newline of the answer: '' strips it.
      data: [
        `warn set acl_m_verdict = \${readsocket{inet:${LOOPBACK}:${port}}{$sender_address\\n}{5s}{}{socket failed}}`,
        'deny condition = ${if !eq{$acl_m_verdict}{}}',
        'message = $acl_m_verdict',
        'accept',
      ].join('\n'),
    },
  });
});

after(async () => {
  await exim?.cleanup();
  if (server) await closeServer(server);
});

const message = 'From: a@spoofed.example\r\nTo: b@example.net\r\nSubject: test\r\n\r\nbody\r\n';

test('an ACL ${readsocket} answer becomes the end-of-data refusal (-bh, as from the given IP)', async () => {
  requests.length = 0;
  const result = await exim.session({
    clientAddress: '198.51.100.7',
    from: 'a@spoofed.example',
    to: ['b@example.net'],
    data: message,
  });
  assert.equal(result.eod?.code, 550, `${JSON.stringify(result.steps)}\n${result.stderr}`);
  assert.equal(result.eod?.text, 'DMARC policy of spoofed.example says reject');
  assert.deepEqual(requests, ['a@spoofed.example']);
  // -bh traces the ACLs on stderr, with the client address it was given.
  assert.match(result.stderr, /198\.51\.100\.7/);
  assert.match(result.stderr, /end of ACL "acl_data": DENY/);
});

test('an empty answer lets the message through (250) and -bh spools nothing', async () => {
  requests.length = 0;
  const result = await exim.session({ from: 'a@example.org', to: ['b@example.net'], data: message });
  assert.equal(result.eod?.code, 250, result.stderr);
  assert.deepEqual(requests, ['a@example.org']);
  assert.equal(result.exitCode, 0);
  const spooled = await readdir(join(exim.dir, 'spool', 'input'), { recursive: true }).catch(() => []);
  assert.deepEqual(spooled, []);
});

test('-bs with -oMa runs a real session: the accepted message is spooled, not delivered', async () => {
  const result = await exim.session({
    mode: 'bs',
    clientAddress: '198.51.100.8',
    from: 'a@example.org',
    to: ['b@example.net'],
    data: message,
  });
  assert.equal(result.eod?.code, 250, `${JSON.stringify(result.steps)}\n${result.stderr}`);
  const id = /id=(\S+)/.exec(result.eod?.text ?? '')?.[1];
  assert.ok(id, result.eod?.text);
  const spooled = await readdir(join(exim.dir, 'spool', 'input'), { recursive: true });
  assert.ok(
    spooled.some((name) => String(name).endsWith(`${id}-H`)),
    `spool: ${spooled.join(', ')}`,
  );
  assert.match(exim.log(), new RegExp(`${id} <= a@example\\.org H=.*\\[198\\.51\\.100\\.8\\]`));
});

test('a refused session is still reported when the sender is refused before DATA', async () => {
  const refusing = await createEximHarness({ acls: { mail: 'deny message = no mail from $sender_address' } });
  try {
    const result = await refusing.session({ from: 'x@example.org', to: ['b@example.net'], data: message });
    assert.equal(result.lastStage, 'mail');
    assert.equal(result.last.code, 550);
    assert.equal(result.last.text, 'no mail from x@example.org');
  } finally {
    await refusing.cleanup();
  }
});

/**
 * A fake SpamAssassin spamd for Exim's `spam =` condition (heavy daemon, Content_Scanning): Exim
 * sends "REPORT SPAMC/1.2", a Content-length header, a blank line and the message; it reads
 * "SPAMD/1.1 0 EX_OK", a blank line and "score/threshold" (exim src/spam.c).
 */
test('spamd_address is usable: a spam = condition asks an in-test spamd and its score refuses the message', async () => {
  const received: string[] = [];
  const spamd = createServer((socket) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const head = text.indexOf('\r\n\r\n');
      const length = Number(/Content-length: (\d+)/i.exec(text)?.[1] ?? NaN);
      if (head < 0 || Number.isNaN(length) || text.length - head - 4 < length) return;
      received.push(text);
      const report = '15.5/5.0\r\nmailward test spamd\r\n';
      socket.end(`SPAMD/1.1 0 EX_OK\r\nContent-length: ${report.length}\r\n\r\n${report}`);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => spamd.listen(0, LOOPBACK, () => resolve()));
  const address = spamd.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const scanning = await createEximHarness({
    mainConfig: [`spamd_address = ${LOOPBACK} ${address.port}`],
    acls: { data: ['deny message = spam score $spam_score', 'spam = nobody', 'accept'].join('\n') },
  });
  try {
    const result = await scanning.session({ from: 'a@example.org', to: ['b@example.net'], data: message });
    assert.equal(result.eod?.code, 550, `${JSON.stringify(result.steps)}\n${result.stderr}`);
    assert.equal(result.eod?.text, 'spam score 15.5');
    assert.equal(received.length, 1);
    assert.match(received[0] ?? '', /^REPORT SPAMC\/1\.2\r\n/);
    // What Exim sends is its spool "mbox": a From_ line, X-Envelope-From/To, its Received, then
    // the message with LF line ends (not CRLF).
    const sent = (received[0] ?? '').slice((received[0] ?? '').indexOf('\r\n\r\n') + 4);
    assert.match(
      sent,
      /^From MAILER-DAEMON .*\nX-Envelope-From: <a@example\.org>\nX-Envelope-To: b@example\.net\nReceived: /,
    );
    assert.match(sent, /\nSubject: test\n\nbody\n$/);
    assert.doesNotMatch(sent, /\r/);
  } finally {
    await scanning.cleanup();
    await closeServer(spamd);
  }
});
