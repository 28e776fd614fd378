// A real Postfix 3.7 (testkit's private instance) asks the built `mailward policy` through
// check_policy_service, configured as docs/policy.md says, with SPF answered by a real Knot.
// XCLIENT gives each session the client address and HELO name the test needs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseZone } from '@mailward/core';
import { renderZone, startKnot, startPostfix, type KnotServer, type PostfixInstance } from '@mailward/testkit';
import { startPolicyProcess, type PolicyProcess } from './policy-process.js';

let knot: KnotServer;
let policy: PolicyProcess;
let postfix: PostfixInstance;

const parsed = parseZone({
  'pass.test': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'mx.pass.test': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'fail.test': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
  'mx.fail.test': [{ TXT: 'v=spf1 -all' }],
});

before(async () => {
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  knot = await startKnot({
    zones: [
      { origin: '.', text: renderZone(parsed.zone, { origin: '.' }) },
      { origin: 'down.test', broken: true },
    ],
  });
  policy = await startPolicyProcess(['--dns', `${knot.host}:${knot.port}`, '--receiver', 'mx.receiver.test']);
  postfix = await startPostfix({
    hostname: 'mx.receiver.test',
    // docs/policy.md's restrictions: the policy service after reject_unauth_destination.
    recipientRestrictions: `permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_policy_service inet:127.0.0.1:${policy.port}`,
    mainCf: { relay_domains: 'receiver.test' },
  });
});

after(async () => {
  await postfix?.stop();
  await policy?.stop();
  await knot?.stop();
});

const MESSAGE = 'From: <a@pass.test>\r\nTo: <bob@receiver.test>\r\nSubject: policy test\r\n\r\nHello.\r\n';

function send(from: string, helo: string, to: readonly string[] = ['bob@receiver.test']) {
  return postfix.send({
    ehlo: helo,
    xclient: { ADDR: '192.0.2.10', NAME: '[UNAVAILABLE]', HELO: helo },
    from,
    to,
    data: MESSAGE,
  });
}

test('an SPF fail is rejected at RCPT with 550 5.7.23 and the explanation', async () => {
  const transcript = await send('mallory@fail.test', 'mx.pass.test');
  assert.equal(transcript.lastStage, 'rcpt', transcript.last.text);
  assert.equal(transcript.last.code, 550);
  assert.match(
    transcript.last.text,
    /^5\.7\.23 <bob@receiver\.test>: Recipient address rejected: SPF validation failed for sender mallory@fail\.test: fail\.test does not designate 192\.0\.2\.10 as permitted sender of mail from mallory@fail\.test$/,
  );
});

test('a pass is delivered with one Received-SPF field, even for two recipients', async () => {
  const transcript = await send('alice@pass.test', 'mx.pass.test', ['bob@receiver.test', 'carol@receiver.test']);
  assert.equal(transcript.eod?.code, 250, transcript.last.text);
  const message = await postfix.sink.next();
  const header = message.raw.toString('latin1').split('\r\n\r\n')[0] ?? '';
  const fields = header.split('\r\n').filter((line) => line.startsWith('Received-SPF:'));
  assert.deepEqual(fields, [
    'Received-SPF: pass (mx.receiver.test: domain of alice@pass.test designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from="alice@pass.test"; helo=mx.pass.test; mechanism="ip4:192.0.2.0/24"; identity=mailfrom; receiver=mx.receiver.test;',
  ]);
  // Above Postfix's own Received: the policy's field is prepended to the message as received.
  assert.ok(header.indexOf('Received-SPF:') < header.indexOf('Received: from'), header);
  assert.deepEqual([...message.rcptTo].sort(), ['bob@receiver.test', 'carol@receiver.test']);
});

test('a temperror (the sender zone does not load: SERVFAIL) is deferred with 450 4.7.24', async () => {
  const transcript = await send('someone@down.test', 'mx.pass.test');
  assert.equal(transcript.lastStage, 'rcpt', transcript.last.text);
  assert.equal(transcript.last.code, 450);
  assert.match(
    transcript.last.text,
    /^4\.7\.24 <bob@receiver\.test>: Recipient address rejected: SPF could not be checked for sender someone@down\.test \(DNS error; try again later\): /,
  );
});

test('the null sender is checked as postmaster@HELO: a HELO that fails SPF is rejected', async () => {
  const transcript = await send('', 'mx.fail.test');
  assert.equal(transcript.last.code, 550, transcript.last.text);
  assert.match(transcript.last.text, /SPF validation failed for null sender, checked as postmaster@mx\.fail\.test: /);
});

test('every decision was logged as one line, with Postfix instance ids', () => {
  const lines = policy
    .output()
    .split('\n')
    .filter((line) => line.startsWith('policy: '));
  assert.ok(lines.length >= 5, policy.output());
  assert.ok(
    lines.every((line) => / instance=[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+\.\d+ /.test(line)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((line) =>
      /recipient=<carol@receiver\.test> .*\(cached; header prepended for the first recipient\) action=DUNNO$/.test(
        line,
      ),
    ),
  );
});
