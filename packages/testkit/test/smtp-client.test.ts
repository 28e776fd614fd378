// The SMTP client's pure parts: dot-stuffing (RFC 5321 section 4.5.2) and xtext (RFC 3461
// section 4), plus a whole session against an in-memory SMTP server written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { dotStuff, smtpSessionOverStreams, xtext } from '../src/smtp-client.js';

test('dotStuff doubles a leading dot on every line and ends with CRLF . CRLF', () => {
  assert.equal(dotStuff('.a\r\nb\r\n.\r\n..c\r\n').toString(), '..a\r\nb\r\n..\r\n...c\r\n.\r\n');
  assert.equal(dotStuff('no final newline').toString(), 'no final newline\r\n.\r\n');
  assert.equal(dotStuff('').toString(), '.\r\n');
  // A bare LF is not a line end in SMTP: nothing is stuffed after it.
  assert.equal(dotStuff('a\n.b\r\n').toString(), 'a\n.b\r\n.\r\n');
});

test('xtext encodes +, = and bytes outside ! to ~ as +HH', () => {
  assert.equal(xtext('alice'), 'alice');
  assert.equal(xtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.equal(xtext('ü'), '+C3+BC');
});

/** A scripted server: answers each command with the reply the script gives for it. */
function scriptedServer(reply: (line: string) => string) {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const seen: string[] = [];
  let inData = false;
  let buffer = '';
  fromServer.write('220 fake ESMTP\r\n');
  toServer.setEncoding('latin1');
  toServer.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      seen.push(line);
      if (inData) {
        if (line === '.') {
          inData = false;
          fromServer.write(reply('.'));
        }
        continue;
      }
      const answer = reply(line);
      if (answer.startsWith('354')) inData = true;
      fromServer.write(answer);
      if (line === 'QUIT') fromServer.end();
    }
  });
  return { toServer, fromServer, seen };
}

test('a session stops at the first refusal and reports its stage; multi-line replies are joined', async () => {
  const server = scriptedServer((line) => {
    if (line.startsWith('EHLO')) return '250-fake\r\n250 XCLIENT ADDR\r\n';
    if (line.startsWith('XCLIENT')) return '220 fake again\r\n';
    if (line.startsWith('MAIL')) return '250 2.1.0 Ok\r\n';
    if (line.startsWith('RCPT')) return '550 5.1.1 no such user\r\n';
    return '221 bye\r\n';
  });
  const transcript = await smtpSessionOverStreams(
    server.fromServer,
    server.toServer,
    () => server.toServer.end(),
    Date.now() + 5000,
    { from: 'a@example.org', to: ['b@example.net'], data: 'x', xclient: { ADDR: '192.0.2.1', LOGIN: 'a b' } },
  );
  assert.equal(transcript.lastStage, 'rcpt');
  assert.equal(transcript.last.code, 550);
  assert.equal(transcript.last.text, '5.1.1 no such user');
  assert.equal(transcript.eod, undefined);
  assert.deepEqual(transcript.steps[1]?.reply.lines, ['fake', 'XCLIENT ADDR']);
  assert.ok(server.seen.includes('XCLIENT ADDR=192.0.2.1 LOGIN=a+20b'));
  assert.ok(!server.seen.includes('DATA'));
  assert.equal(server.seen.at(-1), 'QUIT');
});

test('a whole session returns the end-of-data reply and the queue id', async () => {
  const server = scriptedServer((line) => {
    if (line === 'DATA') return '354 go\r\n';
    if (line === '.') return '250 2.0.0 Ok: queued as 4F2A1B\r\n';
    if (line === 'QUIT') return '221 bye\r\n';
    return '250 ok\r\n';
  });
  const transcript = await smtpSessionOverStreams(
    server.fromServer,
    server.toServer,
    () => server.toServer.end(),
    Date.now() + 5000,
    { from: 'a@example.org', to: ['b@example.net'], data: 'Subject: x\r\n\r\n.dot\r\n' },
  );
  assert.equal(transcript.eod?.code, 250);
  assert.equal(transcript.queueId, '4F2A1B');
  assert.ok(server.seen.includes('..dot'));
  assert.equal(transcript.closedEarly, false);
});
