import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { buildQuery, classifyResponse, queryNameProblem } from '../src/index.js';
import type { Expected } from '../src/index.js';
import { packetBytes } from '@mailward/testkit';

const expected: Expected = { id: 4242, name: 'example.com', type: 'A' };

describe('queries', () => {
  it('sets RD and AD, one question and an EDNS0 OPT record with the payload size and DO clear', () => {
    const query = dnsPacket.decode(buildQuery(expected, { ednsPayload: 1232, recursionDesired: true }));
    assert.equal(query.id, 4242);
    assert.equal(query.flag_qr, false);
    assert.equal(query.flag_rd, true);
    // RFC 6840 §5.7: asks a validating resolver to report validation in the response's AD bit.
    assert.equal(query.flag_ad, true);
    assert.deepEqual(query.questions, [{ name: 'example.com', type: 'A', class: 'IN' }]);
    const opt = query.additionals?.[0];
    assert.ok(opt?.type === 'OPT');
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.flag_do, false);
  });

  it('sets CD only when asked to (RFC 4035 §3.2.2)', () => {
    const plain = dnsPacket.decode(buildQuery(expected, { ednsPayload: 1232, recursionDesired: true }));
    assert.equal(plain.flag_cd, false);
    const unchecked = dnsPacket.decode(
      buildQuery(expected, { ednsPayload: 1232, recursionDesired: true, checkingDisabled: true }),
    );
    assert.equal(unchecked.flag_cd, true);
    assert.equal(unchecked.flag_ad, true);
  });

  it('can leave out EDNS0 and RD', () => {
    const query = dnsPacket.decode(buildQuery(expected, { ednsPayload: 0, recursionDesired: false }));
    assert.equal(query.flag_rd, false);
    assert.equal(query.flag_ad, true);
    assert.deepEqual(query.additionals, []);
  });

  it('rejects names that cannot go on the wire', () => {
    assert.equal(queryNameProblem('example.com'), undefined);
    assert.equal(queryNameProblem('Example.COM.'), undefined);
    assert.equal(queryNameProblem(`${'a'.repeat(63)}.example`), undefined);
    assert.match(queryNameProblem('a..example') ?? '', /empty label/);
    assert.match(queryNameProblem('') ?? '', /empty/);
    assert.match(queryNameProblem('.') ?? '', /empty/);
    assert.match(queryNameProblem(`${'a'.repeat(64)}.example`) ?? '', /at most 63/);
    assert.match(queryNameProblem(`${'abcdefghi.'.repeat(26)}example`) ?? '', /at most 253/);
    // 40 characters, 80 bytes in UTF-8.
    assert.match(queryNameProblem(`${'\u00e9'.repeat(40)}.example`) ?? '', /octets long/);
  });
});

describe('matching responses to queries', () => {
  it('accepts the answer, comparing the question case-insensitively', () => {
    const bytes = packetBytes({ question: { name: 'EXAMPLE.Com', type: 'A', class: 'IN' } });
    assert.equal(classifyResponse(bytes, expected).kind, 'answer');
  });

  it('tells mismatched packets apart: ID, QR, question name, type', () => {
    const cases = [
      packetBytes({ id: 4243 }),
      packetBytes({ response: false }),
      packetBytes({ question: { name: 'example.org', type: 'A' } }),
      packetBytes({ question: { name: 'example.com', type: 'AAAA' } }),
      packetBytes({ question: { name: 'example.com', type: 'A', class: 'CH' } }),
    ];
    for (const bytes of cases) assert.equal(classifyResponse(bytes, expected).kind, 'mismatched');
  });

  it('counts undecodable bytes as malformed', () => {
    assert.equal(classifyResponse(Buffer.from([1, 2, 3]), expected).kind, 'malformed');
    const good = packetBytes();
    const promisesAnAnswer = Buffer.concat([good.subarray(0, 6), Buffer.from([0, 1]), good.subarray(8)]);
    assert.equal(classifyResponse(promisesAnAnswer, expected).kind, 'malformed');
  });

  it('recognises truncation, even when the truncated message does not decode', () => {
    const truncated = packetBytes({ flags: dnsPacket.TRUNCATED_RESPONSE });
    assert.equal(classifyResponse(truncated, expected).kind, 'truncated');
    const cut = Buffer.concat([truncated.subarray(0, 6), Buffer.from([0, 3]), truncated.subarray(8)]);
    assert.equal(classifyResponse(cut, expected).kind, 'truncated');
    // ...but not someone else's truncated message.
    const foreign = packetBytes({ id: 1, flags: dnsPacket.TRUNCATED_RESPONSE });
    assert.equal(classifyResponse(foreign, expected).kind, 'mismatched');
  });
});
