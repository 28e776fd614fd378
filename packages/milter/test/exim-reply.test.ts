import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { InboundVerdict } from '../src/index.js';
import {
  MAX_EXIM_REPLY_BYTES,
  encodeEximNotChecked,
  encodeEximProtocolError,
  encodeEximTempfail,
  encodeEximVerdict,
} from '../src/index.js';

/**
 * What Exim 4.96 makes of a reply (src/src/spam.c, `spam()`, rspamd branch), re-stated to test
 * against: the sscanf of the first two lines, the Action line, and $spam_report's folding.
 */
function asExim(reply: string): { action: string; report: string; spam: boolean } | 'defer' {
  const head = /^RSPAMD\/(\S{1,7}) 0 EX_OK\r\nMetric: default; (\S{1,7}) ([-\d.]+) \/ ([-\d.]+) \/ ([-\d.]+)\r\n/.exec(
    reply,
  );
  if (head === null || head[0].length >= reply.length) return 'defer';
  const rest = reply.slice(head[0].length);
  const action = rest.startsWith('Action: ') ? /^Action: ([^\r]{0,31})/.exec(rest)![1]! : '';
  const report = rest.replace(/\r/g, '').replace(/\n/g, '\n ').trimEnd();
  return { action, report, spam: Number(head[3]) >= Number(head[4]) };
}

/** The documented ACL's add_header expansion (docs/exim.md), as Exim's sg would apply it. */
function headersAdded(report: string): string[] {
  const text = report.replace(/^Action: [^\n]*/, '').replace(/\n (?=[!-9;-~]+:)/g, '\n:at_start:');
  const lines = text
    .replace(/^\n+/, '')
    .split(/\n(?![ \t])/)
    .filter((l) => l !== '');
  // :at_start: lines end up in reverse order (Exim spec, "Adding header lines in ACLs").
  return lines.map((l) => l.replace(/^:at_start:/, '')).reverse();
}

const AR =
  'Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=a@example.org;\r\n\tdmarc=pass header.from=example.org\r\n';
const SPF =
  'Received-SPF: pass (mx.test: domain of a@example.org designates 2001:db8::1 as permitted sender)\r\n\tclient-ip=2001:db8::1;\r\n';

function verdict(action: InboundVerdict['action'], headers = [AR, SPF]): InboundVerdict {
  return { action, dmarc: 'pass', reason: 'test', headers };
}

test('accept: "no action", not spam, and the ACL adds A-R then Received-SPF at the top, folding kept', () => {
  const reply = encodeEximVerdict(verdict({ kind: 'accept' }), 'mx.test');
  assert.ok(
    reply.startsWith('RSPAMD/1.3 0 EX_OK\r\nMetric: default; False; 0.00 / 15.00 / 15.00\r\nAction: no action\r\n'),
  );
  const exim = asExim(reply);
  assert.ok(exim !== 'defer');
  assert.equal(exim.action, 'no action');
  assert.equal(exim.spam, false);
  assert.deepEqual(headersAdded(exim.report), [
    'Authentication-Results: mx.test;\n \tspf=pass smtp.mailfrom=a@example.org;\n \tdmarc=pass header.from=example.org',
    'Received-SPF: pass (mx.test: domain of a@example.org designates 2001:db8::1 as permitted sender)\n \tclient-ip=2001:db8::1;',
  ]);
});

test('reject: "reject", spam, and the report after the Action line is the 550 5.7.1 text', () => {
  const text = 'Message rejected: it fails the DMARC policy of example.org';
  const reply = encodeEximVerdict(
    verdict({ kind: 'reject', reply: { code: '550', status: '5.7.1', text } }),
    'mx.test',
  );
  const exim = asExim(reply);
  assert.ok(exim !== 'defer');
  assert.equal(exim.action, 'reject');
  assert.equal(exim.spam, true);
  assert.equal(exim.report.replace(/^Action: [^\n]*\n /, ''), `550 5.7.1 ${text}`);
});

test('tempfail: "soft reject" with 451 4.7.5; the timeout reply says the same', () => {
  const text = 'DMARC policy of example.org could not be checked (DNS failure); try again later';
  for (const reply of [
    encodeEximVerdict(verdict({ kind: 'tempfail', reply: { code: '451', status: '4.7.5', text } }), 'mx.test'),
    encodeEximTempfail(text),
  ]) {
    const exim = asExim(reply);
    assert.ok(exim !== 'defer');
    assert.equal(exim.action, 'soft reject');
    assert.equal(exim.report.replace(/^Action: [^\n]*\n /, ''), `451 4.7.5 ${text}`);
  }
});

test('quarantine: hold is "quarantine", header is "add header"; both still carry the header fields', () => {
  const hold = asExim(encodeEximVerdict(verdict({ kind: 'quarantine', style: 'hold', reason: 'r' }), 'mx.test'));
  const mark = asExim(
    encodeEximVerdict(
      verdict({ kind: 'quarantine', style: 'header', reason: 'r' }, [AR, SPF, 'X-Mailward-Quarantine: r\r\n']),
      'mx.test',
    ),
  );
  assert.ok(hold !== 'defer' && mark !== 'defer');
  assert.equal(hold.action, 'quarantine');
  assert.equal(mark.action, 'add header');
  assert.equal(headersAdded(hold.report).length, 2);
  assert.deepEqual(headersAdded(mark.report).at(-1), 'X-Mailward-Quarantine: r');
});

test('not checked: "no action" and an A-R "none" with the reason as a comment', () => {
  const exim = asExim(encodeEximNotChecked('mx.test', 'message of 9 bytes (too big)\r\nx'));
  assert.ok(exim !== 'defer');
  assert.equal(exim.action, 'no action');
  assert.deepEqual(headersAdded(exim.report), ['Authentication-Results: mx.test; none (message of 9 bytes too big x)']);
});

test('too many header fields for Exim\'s buffer: the action stays, the fields give way to a "none"', () => {
  const many = Array.from(
    { length: 400 },
    (_, i) => `Authentication-Results: mx.test;\r\n\tdkim=pass header.d=d${i}.example\r\n`,
  );
  const reply = encodeEximVerdict(verdict({ kind: 'quarantine', style: 'hold', reason: 'r' }, many), 'mx.test');
  assert.ok(Buffer.byteLength(reply) <= MAX_EXIM_REPLY_BYTES);
  const exim = asExim(reply);
  assert.ok(exim !== 'defer');
  assert.equal(exim.action, 'quarantine');
  assert.match(exim.report, /none \(results too long for the Exim reply\)$/);
});

test('a protocol error is a reply Exim does not parse, so its spam condition defers', () => {
  assert.equal(asExim(encodeEximProtocolError('bad\r\nthing')), 'defer');
  assert.doesNotMatch(encodeEximProtocolError('bad\r\nthing'), /bad\r\nthing/);
});
