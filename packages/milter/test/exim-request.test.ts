import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { EximRequestReader, mboxToMessage, type EximReadResult, type EximRequest } from '../src/index.js';

// A request captured from Exim 4.96 (Debian exim4-daemon-heavy): two recipients, no AUTH, a body
// line starting with "From " and one that was dot-stuffed on the wire.
const CAPTURED = readFileSync(new URL('../../test/fixtures/exim-4.96-check.bin', import.meta.url));

function done(result: EximReadResult): EximRequest {
  assert.equal(result.state, 'done', result.state === 'error' ? result.reason : 'incomplete');
  assert.ok(result.state === 'done');
  return result.request;
}

function request(head: string, body: string): Buffer {
  return Buffer.from(`CHECK RSPAMC/1.3\r\nContent-length: ${Buffer.byteLength(body)}\r\n${head}\r\n${body}`);
}

test('the captured Exim request decodes: envelope, client, and the message without the mbox lines, in CRLF', () => {
  const r = done(new EximRequestReader().push(CAPTURED));
  assert.equal(r.version, '1.3');
  assert.equal(r.queueId, '1xZJxC-0004Kq-1C');
  assert.equal(r.mailFrom, 'alice@example.org');
  assert.deepEqual(r.recipients, ['bob@mx.test', 'carol@mx.test']);
  assert.equal(r.helo, 'client.example');
  assert.equal(r.ip, '192.0.2.10');
  assert.equal(r.user, undefined);
  assert.equal(r.contentLength, 463);
  assert.ok(r.message.kept);
  const text = Buffer.from(r.message.bytes).toString('latin1');
  assert.ok(text.startsWith('Received: from [192.0.2.10]'), text.slice(0, 40));
  assert.doesNotMatch(text, /X-Envelope-|From MAILER-DAEMON/);
  assert.match(text, /\r\n\r\nline one\r\nFrom the start of a line\r\n\.dot-stuffed\r\n$/);
  assert.doesNotMatch(text.replace(/\r\n/g, ''), /\n/, 'every LF became CRLF');
});

test('the captured request split at every byte boundary decodes the same', () => {
  const whole = done(new EximRequestReader().push(CAPTURED));
  for (let cut = 1; cut < CAPTURED.length; cut++) {
    const reader = new EximRequestReader();
    assert.equal(reader.push(CAPTURED.subarray(0, cut)).state, 'more', `cut at ${cut}`);
    assert.deepEqual(done(reader.push(CAPTURED.subarray(cut))), whole, `cut at ${cut}`);
  }
  // And one byte at a time.
  const reader = new EximRequestReader();
  let last: EximReadResult = { state: 'more' };
  for (const byte of CAPTURED) last = reader.push(Buffer.from([byte]));
  assert.deepEqual(done(last), whole);
});

test('optional headers: null sender, Hostname and User (an authenticated client), names in any case', () => {
  const r = done(
    new EximRequestReader().push(
      request('queue-id: q1\r\nFROM: <>\r\nRecipient-Number: 0\r\nhostname: c.example\r\nUser: alice\r\n', ''),
    ),
  );
  assert.equal(r.mailFrom, '');
  assert.equal(r.hostname, 'c.example');
  assert.equal(r.user, 'alice');
  assert.equal(r.ip, undefined);
  assert.deepEqual(r.recipients, []);
});

test('a message over the size limit is drained, not kept, and says why', () => {
  const body = 'x'.repeat(5000);
  const reader = new EximRequestReader({ maxHeaderBytes: 4096, maxMessageBytes: 1000, maxContentLength: 10_000 });
  const bytes = request('IP: 192.0.2.1\r\n', body);
  assert.equal(reader.push(bytes.subarray(0, 2000)).state, 'more');
  const r = done(reader.push(bytes.subarray(2000)));
  assert.deepEqual(r.message, { kept: false, reason: 'message of 5000 bytes is over the 1000-byte limit' });
});

test('bad requests are one-line errors', () => {
  const limits = { maxHeaderBytes: 200, maxMessageBytes: 1000, maxContentLength: 2000 };
  const cases: [Buffer | string, RegExp][] = [
    ['PROCESS SPAMC/1.2\r\n\r\n', /request line "PROCESS SPAMC\/1\.2" is not "CHECK RSPAMC\/1\.x"/],
    ['CHECK RSPAMC/1.3\r\nIP: 192.0.2.1\r\n\r\n', /no Content-length/],
    ['CHECK RSPAMC/1.3\r\nContent-length: -4\r\n\r\n', /Content-length "-4" is not a number/],
    ['CHECK RSPAMC/1.3\r\nContent-length: 999999\r\n\r\n', /Content-length 999999 is over the 2000-byte limit/],
    ['CHECK RSPAMC/1.3\r\nContent-length: 0\r\nnonsense\r\n\r\n', /line 3 has no "Name:"/],
    ['CHECK RSPAMC/1.3\r\nContent-length: 0\r\nIP: 1\r\nIP: 2\r\n\r\n', /ip given twice/],
    [
      'CHECK RSPAMC/1.3\r\nContent-length: 0\r\nRecipient-Number: 2\r\nRcpt: <a@b>\r\n\r\n',
      /Recipient-Number 2 but 1 Rcpt/,
    ],
    ['CHECK RSPAMC/1.3\r\nContent-length: 0\r\nHelo: a\x00b\r\n\r\n', /helo contains control characters/],
    [`CHECK RSPAMC/1.3\r\nX: ${'y'.repeat(300)}`, /header block longer than 200 bytes/],
    ['CHECK RSPAMC/1.3\r\nContent-length: 2\r\n\r\nabc', /data after the end of the request/],
  ];
  for (const [input, expected] of cases) {
    const result = new EximRequestReader(limits).push(Buffer.from(input));
    assert.equal(result.state, 'error', String(input));
    assert.ok(result.state === 'error');
    assert.match(result.reason, expected);
    assert.doesNotMatch(result.reason, /\n/);
  }
});

test('a connection closed early is an error naming how far it got', () => {
  const cut = new EximRequestReader();
  cut.push(CAPTURED.subarray(0, CAPTURED.length - 10));
  const result = cut.end();
  assert.ok(result.state === 'error');
  assert.equal(result.reason, 'connection closed after 453 of 463 message bytes');
  assert.deepEqual(new EximRequestReader().end(), { state: 'error', reason: 'connection closed before a request' });
});

test('mboxToMessage keeps existing CRLF, and a message without the mbox envelope line whole', () => {
  assert.equal(Buffer.from(mboxToMessage(Buffer.from('A: 1\r\nB: 2\n\nx\n'))).toString(), 'A: 1\r\nB: 2\r\n\r\nx\r\n');
  assert.equal(
    Buffer.from(mboxToMessage(Buffer.from('From x Fri\nX-Envelope-To: a@b,\n c@d\nSubject: s\n\nb\n'))).toString(),
    'Subject: s\r\n\r\nb\r\n',
  );
  assert.equal(
    Buffer.from(mboxToMessage(Buffer.from('X-Envelope-From: <kept@example>\n\n'))).toString(),
    'X-Envelope-From: <kept@example>\r\n\r\n',
  );
});

test('a header block sent one byte at a time costs linear time (no re-joining per byte)', () => {
  const head = Buffer.from(
    `CHECK RSPAMC/1.3\r\n${'Rcpt: <someone@example.org>\r\n'.repeat(20_000)}Content-length: 0\r\n\r\n`,
  );
  const reader = new EximRequestReader();
  const started = performance.now();
  let last: EximReadResult = { state: 'more' };
  for (let i = 0; i < head.length; i++) last = reader.push(head.subarray(i, i + 1));
  assert.equal(done(last).recipients.length, 20_000);
  // About 600 kB: re-joining on every byte would copy ~180 GB (minutes); the linear work takes
  // about a second, so 20 s leaves room for a loaded machine.
  assert.ok(performance.now() - started < 20_000, `${performance.now() - started} ms`);
});
