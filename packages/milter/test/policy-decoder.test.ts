import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyRequestDecoder, encodePolicyReply, policyQuery, type PolicyRequest } from '../src/index.js';

// What Postfix 3.7 smtpd sends for one RCPT TO (attribute set of SMTPD_POLICY_README, values of a
// real session), byte for byte: LF line ends, an empty line at the end.
const POSTFIX_RCPT = [
  'request=smtpd_access_policy',
  'protocol_state=RCPT',
  'protocol_name=ESMTP',
  'client_address=192.0.2.10',
  'client_name=unknown',
  'client_port=40312',
  'reverse_client_name=unknown',
  'server_address=127.0.0.1',
  'server_port=25',
  'helo_name=mx.sender.example',
  'sender=alice@sender.example',
  'recipient=bob@receiver.example',
  'recipient_count=0',
  'queue_id=',
  'instance=1f2c.6571b3a4.8e1a2.0',
  'size=0',
  'etrn_domain=',
  'stress=',
  'sasl_method=',
  'sasl_username=',
  'sasl_sender=',
  'ccert_subject=',
  'ccert_issuer=',
  'ccert_fingerprint=',
  'ccert_pubkey_fingerprint=',
  'encryption_protocol=',
  'encryption_cipher=',
  'encryption_keysize=0',
  'policy_context=',
  'compatibility_level=3.6',
  'mail_version=3.7.11',
  '',
  '',
].join('\n');
const bytes = (text: string) => new TextEncoder().encode(text);

function attributes(requests: readonly PolicyRequest[]): Array<Record<string, string>> {
  return requests.map((r) => Object.fromEntries(r.attributes));
}

test('a Postfix RCPT request decodes to its attributes and query', () => {
  const decoded = new PolicyRequestDecoder().push(bytes(POSTFIX_RCPT));
  assert.ok(decoded.ok);
  assert.equal(decoded.requests.length, 1);
  const request = decoded.requests[0] as PolicyRequest;
  assert.equal(request.attributes.size, 31);
  assert.deepEqual(policyQuery(request), {
    request: 'smtpd_access_policy',
    protocolState: 'RCPT',
    clientAddress: '192.0.2.10',
    heloName: 'mx.sender.example',
    sender: 'alice@sender.example',
    recipient: 'bob@receiver.example',
    saslUsername: '',
    instance: '1f2c.6571b3a4.8e1a2.0',
  });
});

test('split at every offset, two requests on one connection decode the same', () => {
  const stream = bytes(POSTFIX_RCPT + POSTFIX_RCPT.replace('bob@', 'carol@'));
  const whole = new PolicyRequestDecoder().push(stream);
  assert.ok(whole.ok);
  assert.equal(whole.requests.length, 2);
  for (let cut = 0; cut <= stream.length; cut += 1) {
    const decoder = new PolicyRequestDecoder();
    const first = decoder.push(stream.subarray(0, cut));
    const second = decoder.push(stream.subarray(cut));
    assert.ok(first.ok && second.ok, `cut at ${cut}`);
    assert.deepEqual(attributes([...first.requests, ...second.requests]), attributes(whole.requests), `cut at ${cut}`);
  }
});

test('one byte at a time, a UTF-8 value split inside its sequence stays intact', () => {
  const stream = bytes('request=smtpd_access_policy\nsender=jürgen@exämple.de\n\n');
  const decoder = new PolicyRequestDecoder();
  const got: PolicyRequest[] = [];
  for (const byte of stream) {
    const result = decoder.push(Uint8Array.of(byte));
    assert.ok(result.ok);
    got.push(...result.requests);
  }
  assert.equal(got[0]?.attributes.get('sender'), 'jürgen@exämple.de');
});

test('CR before LF is not part of the value; empty lines between requests are ignored', () => {
  const decoded = new PolicyRequestDecoder().push(bytes('\n\nsender=a@b.example\r\n\r\n\nsender=c@d.example\n\n'));
  assert.ok(decoded.ok);
  assert.deepEqual(attributes(decoded.requests), [{ sender: 'a@b.example' }, { sender: 'c@d.example' }]);
});

test('a value may contain "=" and be empty', () => {
  const decoded = new PolicyRequestDecoder().push(bytes('ccert_subject=CN=a=b\nqueue_id=\n\n'));
  assert.ok(decoded.ok);
  assert.deepEqual(attributes(decoded.requests), [{ ccert_subject: 'CN=a=b', queue_id: '' }]);
});

test('finish(): Exim half-closes after a request without its empty line, or without the last LF', () => {
  for (const text of ['sender=a@b.example\nhelo_name=h.example\n', 'sender=a@b.example\nhelo_name=h.example']) {
    const decoder = new PolicyRequestDecoder();
    const pushed = decoder.push(bytes(text));
    assert.ok(pushed.ok);
    assert.equal(pushed.requests.length, 0);
    assert.equal(decoder.pending, true);
    const finished = decoder.finish();
    assert.ok(finished.ok);
    assert.deepEqual(attributes(finished.requests), [{ sender: 'a@b.example', helo_name: 'h.example' }]);
  }
  const empty = new PolicyRequestDecoder();
  assert.deepEqual(empty.finish(), { ok: true, requests: [] });
});

test('a line without "=" fails the decoder with the line number and the line; later bytes are refused', () => {
  const decoder = new PolicyRequestDecoder();
  const result = decoder.push(bytes('sender=a@b.example\n\nGET / HTTP/1.1\r\nHost: x\r\n'));
  assert.equal(result.ok, false);
  assert.equal(result.requests.length, 1, 'the request before the bad line is still answered');
  assert.equal(!result.ok && result.error, 'line 3 "GET / HTTP/1.1" is not name=value');
  const after = decoder.push(bytes('sender=c@d.example\n\n'));
  assert.equal(after.ok, false);
  assert.equal(after.requests.length, 0);
  assert.equal(decoder.finish().ok, false);
});

test('an empty name or a name with spaces is refused', () => {
  for (const line of ['=value', 'send er=x', 'sender']) {
    const result = new PolicyRequestDecoder().push(bytes(`${line}\n\n`));
    assert.equal(result.ok, false, line);
    assert.match(!result.ok ? result.error : '', /is not name=value/);
  }
});

test('a line longer than the limit fails without a newline ever arriving, and buffers no more', () => {
  const decoder = new PolicyRequestDecoder({ maxLineBytes: 100 });
  assert.ok(decoder.push(bytes(`sender=${'a'.repeat(50)}`)).ok);
  const result = decoder.push(bytes('a'.repeat(60)));
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.error, 'line 1 is longer than 100 bytes');
  assert.equal(decoder.pending, false);
});

test('too many attributes and too large a request are refused', () => {
  const many = Array.from({ length: 5 }, (_, i) => `a${i}=x`).join('\n');
  const tooMany = new PolicyRequestDecoder({ maxAttributes: 4 }).push(bytes(`${many}\n\n`));
  assert.equal(!tooMany.ok && tooMany.error, 'request has more than 4 attributes (at line 5)');
  const large = new PolicyRequestDecoder({ maxRequestBytes: 30 }).push(
    bytes('a=0123456789\nb=0123456789\nc=0123456789\n'),
  );
  assert.equal(!large.ok && large.error, 'request is larger than 30 bytes (at line 3)');
  // The size limit is per request: many small requests on one connection are fine.
  const decoder = new PolicyRequestDecoder({ maxRequestBytes: 30 });
  for (let i = 0; i < 100; i += 1) assert.ok(decoder.push(bytes('a=0123456789\n\n')).ok);
});

test('the reply is action=TEXT, LF, empty line; control characters cannot end it early', () => {
  assert.deepEqual(encodePolicyReply('DUNNO'), bytes('action=DUNNO\n\n'));
  assert.equal(new TextDecoder().decode(encodePolicyReply('550 5.7.23 a\r\n\nb\tc')), 'action=550 5.7.23 a   b c\n\n');
});
