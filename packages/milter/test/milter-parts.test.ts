// The milter's small pure parts: header events back to bytes, which Authentication-Results are
// ours, deletion order, signing-rule patterns, internal-host matching, prepend order; and a
// session with several messages and an ABORT, through the socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { MilterClient, headerEvent } from '@mailward/adapters';
import {
  deleteEdits,
  fromPatternMatches,
  fromPatternProblem,
  headerFieldFromEvent,
  isOwnAuthenticationResults,
  parseInternalHosts,
  prependEdits,
  signingRuleFor,
} from '../src/index.js';
import { inboundMessage, resolverFor, send, settings, startService } from './milter-support.js';

test('a HEADER event becomes the field as received: leading space kept, LF folding back to CRLF, bytes kept', () => {
  // Postfix sends "Subject:  two spaces\n\tfolded" with HDR_LEADSPC (milter8.c milter8_header_event).
  const event = headerEvent('Subject:  two spaces\r\n\tfolded', true);
  assert.ok(event.type === 'header');
  const field = headerFieldFromEvent(event.name, event.valueBytes, 10);
  assert.equal(field.raw, 'Subject:  two spaces\r\n\tfolded');
  assert.equal(field.lowerName, 'subject');
  assert.equal(field.offset, 10);
  // 8-bit bytes survive as Latin-1 characters, one per octet.
  const utf8 = headerFieldFromEvent('X-Name', Buffer.from(' Jürgen', 'utf8'), 0);
  assert.equal(Buffer.from(utf8.raw, 'latin1').toString('utf8'), 'X-Name: Jürgen');
});

test('our Authentication-Results: same authserv-id (any case), or unparseable but starting with it', () => {
  assert.equal(isOwnAuthenticationResults(' mx.test; dkim=pass', 'mx.test'), true);
  assert.equal(isOwnAuthenticationResults(' MX.Test; spf=pass smtp.mailfrom=a@b.example', 'mx.test'), true);
  assert.equal(isOwnAuthenticationResults(' mx.test 1; none', 'mx.test'), true);
  assert.equal(isOwnAuthenticationResults(' mx.test (broken', 'mx.test'), true);
  assert.equal(isOwnAuthenticationResults('\n\tmx.test;\n\tdkim=pass', 'mx.test'), true);
  assert.equal(isOwnAuthenticationResults(' other.example; dkim=pass', 'mx.test'), false);
  assert.equal(isOwnAuthenticationResults(' mx.test.evil.example; dkim=pass', 'mx.test'), false);
  assert.equal(isOwnAuthenticationResults(' mx.testing (broken', 'mx.test'), false);
});

test('deletions go bottom up, so each index is right whether or not the MTA renumbers', () => {
  assert.deepEqual(
    deleteEdits('Authentication-Results', [1, 4, 2]).map((e) => e.index),
    [4, 2, 1],
  );
  assert.deepEqual(deleteEdits('Authentication-Results', []), []);
});

test('prepended fields end up in the given order at the top (each INSHEADER 0 goes above the last)', () => {
  const edits = prependEdits(['A: 1\r\n', 'B: 2\r\n\tfolded\r\n']);
  assert.deepEqual(
    edits.map((e) => [e.index, e.name, e.value]),
    [
      [0, 'B', ' 2\n\tfolded'],
      [0, 'A', ' 1'],
    ],
  );
});

test('signing-rule patterns: a domain, its subdomains only, or any; the first rule wins', () => {
  assert.equal(fromPatternMatches('example.com', 'EXAMPLE.com'), true);
  assert.equal(fromPatternMatches('example.com', 'sub.example.com'), false);
  assert.equal(fromPatternMatches('*.example.com', 'sub.example.com'), true);
  assert.equal(fromPatternMatches('*.example.com', 'example.com'), false);
  assert.equal(fromPatternMatches('*.example.com', 'badexample.com'), false);
  assert.equal(fromPatternMatches('*', 'anything.example'), true);
  const rules = [
    { from: 'a.example', keys: [] },
    { from: '*', keys: [] },
  ];
  assert.equal(signingRuleFor(rules, 'a.example')?.from, 'a.example');
  assert.equal(signingRuleFor(rules, 'b.example')?.from, '*');
  assert.equal(fromPatternProblem('*.example.com'), undefined);
  assert.match(fromPatternProblem('exa mple.com') ?? '', /not a domain/);
  assert.match(fromPatternProblem('**') ?? '', /not a domain/);
});

test('internal hosts: IPv4 and IPv6 CIDRs, single addresses, IPv4-mapped IPv6 clients; bad entries named', () => {
  const hosts = parseInternalHosts(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
  assert.ok(hosts.ok);
  assert.equal(hosts.isInternal('10.200.1.1'), true);
  assert.equal(hosts.isInternal('11.0.0.1'), false);
  assert.equal(hosts.isInternal('2001:db8:1::5'), true);
  assert.equal(hosts.isInternal('2001:db9::5'), false);
  assert.equal(hosts.isInternal('192.0.2.7'), true);
  assert.equal(hosts.isInternal('192.0.2.8'), false);
  assert.equal(hosts.isInternal('::ffff:10.1.1.1'), true);
  assert.equal(hosts.isInternal('not an address'), false);
  for (const bad of ['10.0.0/8', '10.0.0.0/33', '2001:db8::/129', 'example.com', '10.0.0.0/8/1', '10.0.0.0/-1']) {
    const parsed = parseInternalHosts([bad]);
    assert.ok(!parsed.ok, bad);
    assert.ok(parsed.reason.includes(`"${bad}"`), parsed.reason);
  }
});

test('one session, several messages and an ABORT: each message judged on its own', async () => {
  const zone = resolverFor({
    'good.example': [{ TXT: 'v=spf1 ip4:192.0.2.1 -all' }],
    '_dmarc.good.example': [{ TXT: 'v=DMARC1; p=reject' }],
  });
  const running = await startService(settings(), zone);
  try {
    const client = await MilterClient.connect(running.service.address);
    const connect = { hostname: 'c.example', family: 'inet4' as const, port: 1, address: '192.0.2.1' };
    const first = await client.message({
      ...inboundMessage({ ip: '192.0.2.1', sender: 'a@good.example' }, ['From: <a@good.example>'], 'one\r\n'),
      connect,
    });
    assert.match(JSON.stringify(first.at(-1)?.replies), /spf=pass/);
    // A message aborted after its headers (the client went away, or RSET).
    await client.event({ type: 'mail', sender: '<a@good.example>', args: [] });
    await client.event(headerEvent('From: <x@elsewhere.example>', true));
    await client.event({ type: 'abort' });
    // The next message in the session owes nothing to the aborted one.
    const second = await client.message({
      ...inboundMessage({ ip: '192.0.2.1', sender: 'a@good.example' }, ['From: <a@good.example>'], 'two\r\n'),
      connect: undefined,
      helo: undefined,
    });
    const replies = second.at(-1)?.replies ?? [];
    assert.equal(replies.at(-1)?.type, 'continue');
    assert.match(JSON.stringify(replies), /dmarc=pass/);
    assert.doesNotMatch(JSON.stringify(replies), /elsewhere/);
    await client.quit();
    assert.equal(running.logs.filter((l) => /^milter: QUEUE1: inbound/.test(l)).length, 2, running.logs.join('\n'));
  } finally {
    await running.close();
  }
});

test('a message without any header field: no crash, DMARC none, accepted', async () => {
  const running = await startService(settings(), resolverFor({}));
  try {
    const outcome = await send(
      running.service.address,
      inboundMessage({ ip: '192.0.2.1', sender: 'a@b.example' }, [], 'body only\r\n'),
    );
    assert.equal(outcome.final.type, 'continue');
    assert.ok(
      running.logs.some((l) => /dmarc=none/.test(l)),
      running.logs.join('\n'),
    );
  } finally {
    await running.close();
  }
});
