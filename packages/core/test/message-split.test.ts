import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { findHeaders, headerValue, splitMessage } from '../src/message/index.js';
import type { SplitMessage, SplitOptions } from '../src/message/index.js';
import { canonicalizeHeader } from '../src/dkim/canonicalize.js';
import { readTestdataBytes } from './support/testdata.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const latin1 = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1');

function split(text: string | Uint8Array, options?: SplitOptions): SplitMessage {
  const result = splitMessage(typeof text === 'string' ? bytes(text) : text, options);
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result;
}

function quickly<T>(what: string, run: () => T): T {
  const started = performance.now();
  const result = run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 5000, `${what} took ${elapsed.toFixed(0)} ms`);
  return result;
}

test('splits fields and body; raw keeps folding, offsets point into the bytes, body is a view', () => {
  const input = bytes('From: a@example.com\r\nSubject: hello\r\n\tworld  \r\nX-Empty:\r\n\r\nbody line\r\n');
  const message = split(input);
  assert.deepEqual(
    message.headers.map((h) => [h.name, h.lowerName, h.raw]),
    [
      ['From', 'from', 'From: a@example.com'],
      ['Subject', 'subject', 'Subject: hello\r\n\tworld  '],
      ['X-Empty', 'x-empty', 'X-Empty:'],
    ],
  );
  for (const field of message.headers) {
    assert.equal(latin1(message.bytes.subarray(field.offset, field.offset + field.raw.length)), field.raw);
  }
  assert.equal(message.lineEndings, 'crlf');
  assert.equal(message.bytes, input, 'nothing converted: the input itself');
  assert.equal(message.body.buffer, input.buffer, 'the body is a view, not a copy');
  assert.equal(latin1(message.body), 'body line\r\n');
  assert.equal(message.bodyOffset, input.length - 11);
  assert.equal(message.headerOnly, false);
  assert.deepEqual(message.malformed, []);
});

test('WSP before the colon (obsolete syntax) is not part of the name', () => {
  const message = split('B \t: Y\r\n\r\n');
  assert.equal(message.headers[0]?.name, 'B');
  assert.equal(message.headers[0]?.raw, 'B \t: Y');
});

test('every byte survives: 8-bit and C1 octets, bare CR', () => {
  const raw = 'Subject: \x80\x9f\xe9\xff caf\xc3\xa9 a\rb';
  const message = split(raw + '\r\n\r\nx\ry\r\n');
  assert.equal(message.headers[0]?.raw, raw);
  assert.equal(latin1(message.body), 'x\ry\r\n');
  assert.equal(message.lineEndings, 'crlf');
});

test('bare LF becomes CRLF in headers and body, and the conversion is reported', () => {
  const lf = split('A: 1\n folded\nB: 2\n\nline\n\n');
  assert.equal(lf.lineEndings, 'lf-converted');
  assert.deepEqual(
    lf.headers.map((h) => h.raw),
    ['A: 1\r\n folded', 'B: 2'],
  );
  assert.equal(latin1(lf.body), 'line\r\n\r\n');
  assert.equal(latin1(lf.bytes), 'A: 1\r\n folded\r\nB: 2\r\n\r\nline\r\n\r\n');

  const mixed = split('A: 1\r\nB: 2\n\r\nbody\nmore\r\n');
  assert.equal(mixed.lineEndings, 'mixed-converted');
  assert.deepEqual(
    mixed.headers.map((h) => h.raw),
    ['A: 1', 'B: 2'],
  );
  assert.equal(latin1(mixed.body), 'body\r\nmore\r\n');

  const leadingLf = split('\nbody');
  assert.equal(leadingLf.headers.length, 0);
  assert.equal(latin1(leadingLf.body), 'body');
});

test('no empty line: all header, empty body; a last line without CRLF is still a field', () => {
  const message = split('A: 1\r\nB: 2');
  assert.equal(message.headerOnly, true);
  assert.equal(message.body.length, 0);
  assert.deepEqual(
    message.headers.map((h) => h.raw),
    ['A: 1', 'B: 2'],
  );
  const terminated = split('A: 1\r\n');
  assert.equal(terminated.headerOnly, true);
  assert.deepEqual(
    terminated.headers.map((h) => h.raw),
    ['A: 1'],
  );
});

test('empty input and a message that starts with the empty line', () => {
  const empty = split('');
  assert.deepEqual([empty.headers.length, empty.body.length, empty.headerOnly], [0, 0, true]);
  const bodyOnly = split('\r\nonly body\r\n');
  assert.deepEqual([bodyOnly.headers.length, latin1(bodyOnly.body), bodyOnly.headerOnly], [0, 'only body\r\n', false]);
});

test('lines that are neither fields nor continuations are kept as malformed', () => {
  const message = split(
    ' starts folded\r\n' +
      'From someone@example.com Mon Mar  7 19:23:23 2011\r\n' +
      'A: 1\r\n' +
      'garbage without colon\r\n' +
      '\tits continuation\r\n' +
      ': no name\r\n' +
      'B: 2\r\n' +
      '\r\n',
  );
  assert.deepEqual(
    message.headers.map((h) => h.raw),
    ['A: 1', 'B: 2'],
  );
  assert.deepEqual(
    message.malformed.map((m) => m.text),
    [
      ' starts folded',
      'From someone@example.com Mon Mar  7 19:23:23 2011',
      'garbage without colon\r\n\tits continuation',
      ': no name',
    ],
  );
  for (const line of message.malformed) {
    assert.equal(latin1(message.bytes.subarray(line.offset, line.offset + line.text.length)), line.text);
  }
});

test('findHeaders returns the named fields bottom-up, case-insensitively (RFC 6376 §5.4.2)', () => {
  const message = split('Received: A\r\nFrom: x\r\nreceived: B\r\nRECEIVED: C\r\n\r\n');
  assert.deepEqual(
    findHeaders(message, 'received').map((h) => h.raw),
    ['RECEIVED: C', 'received: B', 'Received: A'],
  );
  assert.deepEqual(
    findHeaders(message.headers, 'From').map((h) => h.raw),
    ['From: x'],
  );
  assert.deepEqual(findHeaders(message, 'to'), []);
  assert.equal(headerValue(message.headers[1]!), ' x');
});

test('limits give a typed failure, never an exception', () => {
  const header = 'A: ' + 'x'.repeat(100) + '\r\n';
  const large = splitMessage(bytes(header + '\r\nbody'), { maxHeaderBytes: 50 });
  assert.equal(!large.ok && large.reason, 'header-too-large');
  const noLineBreak = splitMessage(bytes('A: ' + 'x'.repeat(100)), { maxHeaderBytes: 50 });
  assert.equal(noLineBreak.ok, false);
  assert.equal(!noLineBreak.ok && noLineBreak.reason, 'header-too-large');
  const exact = splitMessage(bytes(header + '\r\n'), { maxHeaderBytes: header.length });
  assert.equal(exact.ok, true, 'a header block of exactly the limit is accepted');

  const many = splitMessage(bytes('A: 1\r\n'.repeat(11) + '\r\n'), { maxFields: 10 });
  assert.equal(!many.ok && many.reason, 'too-many-fields');
  const garbage = splitMessage(bytes('junk\r\n'.repeat(11) + '\r\n'), { maxFields: 10 });
  assert.equal(!garbage.ok && garbage.reason, 'too-many-fields', 'malformed lines count too');
  const folded = splitMessage(bytes('A: 1\r\n' + ' more\r\n'.repeat(50) + '\r\n'), { maxFields: 10 });
  assert.equal(folded.ok, true, 'continuation lines are not fields');
});

test('a 1 MB header field parses and canonicalizes (relaxed) quickly', () => {
  const value = ' word\t '.repeat(150_000) + '\r\n\t' + 'y'.repeat(100_000);
  const input = bytes('X-Big:' + value + '\r\nB: 2\r\n\r\nbody\r\n');
  const message = quickly('split', () => split(input));
  assert.equal(message.headers.length, 2);
  assert.equal(message.headers[0]?.raw.length, 'X-Big:'.length + value.length);
  const canonical = quickly('relaxed', () => canonicalizeHeader(message.headers[0]!, 'relaxed'));
  assert.equal(canonical, 'x-big:' + 'word '.repeat(150_000) + 'y'.repeat(100_000) + '\r\n');
});

test('hostile header blocks stay linear', () => {
  // Colon-less lines: a name scan that searched for the next ":" would be quadratic here.
  const junk = quickly('junk', () => split('junk line\r\n'.repeat(90_000) + 'A: 1\r\n\r\n'));
  assert.equal(junk.malformed.length, 90_000);
  const fields = quickly('fields', () => split('A: 1\r\n'.repeat(99_999) + '\r\n'));
  assert.equal(fields.headers.length, 99_999);
  const lf = quickly('bare LF', () => split('\n'.repeat(3_000_000)));
  assert.equal(lf.body.length, 2 * 3_000_000 - 2);
});

test('dkimpy and MimeKit fixtures split as expected', () => {
  const mbox = split(readTestdataBytes('dkimpy', 'dkim', 'tests', 'data', 'message.mbox'));
  assert.equal(mbox.lineEndings, 'lf-converted');
  assert.equal(findHeaders(mbox, 'dkim-signature').length, 1);
  assert.equal(findHeaders(mbox, 'received').length, 6);
  const related = split(readTestdataBytes('mimekit', 'UnitTests', 'TestData', 'dkim', 'related.msg'));
  assert.equal(related.malformed.length, 0);
  assert.ok(related.body.length > 200_000);
});
