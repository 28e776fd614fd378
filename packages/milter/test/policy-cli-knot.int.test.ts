// `mailward policy` as a child process against a real Knot DNS: the action for each SPF result,
// the null sender's HELO identity, and one evaluation for the recipients of one message.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseZone } from '@mailward/core';
import { startDroppingProxy, startKnot, renderZone, type DroppingProxy, type KnotServer } from '@mailward/testkit';
import { PolicyClient, startPolicyProcess, type PolicyProcess } from './policy-process.js';

let knot: KnotServer;
let proxy: DroppingProxy;
let policy: PolicyProcess;

// TTL 0 everywhere: mailward's DNS cache keeps nothing, so the queries Knot sees count SPF evaluations.
const parsed = parseZone({
  'pass.test': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all', ttl: 0 }],
  'mx.pass.test': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all', ttl: 0 }],
  'fail.test': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all exp=why.fail.test', ttl: 0 }],
  'why.fail.test': [{ TXT: '%{i} is not a mail server of %{d}', ttl: 0 }],
  'mx.fail.test': [{ TXT: 'v=spf1 -all', ttl: 0 }],
  'soft.test': [{ TXT: 'v=spf1 ~all', ttl: 0 }],
});

before(async () => {
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  knot = await startKnot({
    zones: [
      { origin: '.', text: renderZone(parsed.zone, { origin: '.' }) },
      // A zone that fails to load: Knot answers SERVFAIL, so SPF gives temperror.
      { origin: 'down.test', broken: true },
    ],
  });
  proxy = await startDroppingProxy({ upstream: knot });
  policy = await startPolicyProcess(['--dns', `${proxy.host}:${proxy.port}`, '--receiver', 'mx.receiver.test']);
});

after(async () => {
  const code = await policy?.stop();
  await proxy?.stop();
  await knot?.stop();
  assert.equal(code, 0, 'mailward policy ends with 0 on SIGTERM');
});

const rcpt = (fields: Record<string, string>) => ({
  request: 'smtpd_access_policy',
  protocol_state: 'RCPT',
  client_address: '192.0.2.10',
  helo_name: 'mx.pass.test',
  recipient: 'bob@receiver.test',
  sasl_username: '',
  ...fields,
});

test('pass, fail (with exp=), softfail, temperror over one TCP connection', async () => {
  const client = await PolicyClient.open(policy.port);
  try {
    assert.match(
      await client.ask(rcpt({ sender: 'alice@pass.test', instance: 'a1' })),
      /^PREPEND Received-SPF: pass \(mx\.receiver\.test: domain of alice@pass\.test designates 192\.0\.2\.10 as permitted sender\) client-ip=192\.0\.2\.10; .*identity=mailfrom; receiver=mx\.receiver\.test;$/,
    );
    assert.equal(
      await client.ask(rcpt({ sender: 'mallory@fail.test', instance: 'a2' })),
      '550 5.7.23 SPF validation failed for sender mallory@fail.test: 192.0.2.10 is not a mail server of fail.test',
    );
    assert.match(await client.ask(rcpt({ sender: 'x@soft.test', instance: 'a3' })), /^PREPEND Received-SPF: softfail /);
    assert.match(
      await client.ask(rcpt({ sender: 'x@down.test', instance: 'a4' })),
      /^DEFER_IF_PERMIT 4\.7\.24 SPF could not be checked for sender x@down\.test \(DNS error; try again later\): /,
    );
  } finally {
    client.close();
  }
  assert.match(
    policy.output(),
    /policy: client=192\.0\.2\.10 helo=mx\.pass\.test sender=<mallory@fail\.test> recipient=<bob@receiver\.test> instance=a2 result=fail identity=mailfrom mailfrom-result=fail helo-result=pass action=550 5\.7\.23\n/,
  );
});

test('null sender: the HELO name is checked (postmaster@HELO)', async () => {
  const client = await PolicyClient.open(policy.port);
  try {
    assert.match(
      await client.ask(rcpt({ sender: '', helo_name: 'mx.fail.test', instance: 'n1' })),
      /^550 5\.7\.23 SPF validation failed for null sender, checked as postmaster@mx\.fail\.test: /,
    );
    assert.match(
      await client.ask(rcpt({ sender: '', helo_name: 'mx.pass.test', instance: 'n2' })),
      /^PREPEND Received-SPF: pass \(mx\.receiver\.test: domain of postmaster@mx\.pass\.test designates /,
    );
    // A HELO fail rejects a MAIL FROM that passes.
    assert.match(
      await client.ask(rcpt({ sender: 'alice@pass.test', helo_name: 'mx.fail.test', instance: 'n3' })),
      /^550 5\.7\.23 SPF validation failed for HELO name mx\.fail\.test: /,
    );
  } finally {
    client.close();
  }
});

test('five recipients of one instance: one evaluation, one Received-SPF, DNS asked once', async () => {
  const asked = () => proxy.stats.questions.filter((q) => q.name === 'pass.test' && q.type === 'TXT').length;
  const before = asked();
  const client = await PolicyClient.open(policy.port);
  const answers: string[] = [];
  try {
    for (let i = 0; i < 5; i += 1) {
      answers.push(
        await client.ask(rcpt({ sender: 'bulk@pass.test', recipient: `r${i}@receiver.test`, instance: 'm1' })),
      );
    }
    assert.equal(asked() - before, 1, 'one TXT query for the five recipients');
    // The first recipient's answer prepends Received-SPF; Postfix would add it again for each
    // answer that carries it, so the others get DUNNO.
    assert.match(answers[0] ?? '', /^PREPEND Received-SPF: pass /);
    assert.deepEqual(answers.slice(1), ['DUNNO', 'DUNNO', 'DUNNO', 'DUNNO']);
    // Another message (instance) from the same sender is evaluated again: its own query.
    await client.ask(rcpt({ sender: 'bulk@pass.test', instance: 'm2' }));
    assert.equal(asked() - before, 2);
  } finally {
    client.close();
  }
  assert.equal(
    (policy.output().match(/instance=m1 .*\(cached; header prepended for the first recipient\) action=DUNNO/g) ?? [])
      .length,
    4,
  );
});

test('SIGHUP does not end the process: it reloads and goes on answering', async () => {
  policy.child.kill('SIGHUP');
  for (let i = 0; i < 100 && !/settings reloaded/.test(policy.output()); i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.match(policy.output(), /mailward policy: settings reloaded/);
  assert.equal(policy.child.exitCode, null, 'still running');
  const client = await PolicyClient.open(policy.port);
  try {
    assert.match(
      await client.ask(rcpt({ sender: 'alice@pass.test', instance: 'after-hup' })),
      /^PREPEND Received-SPF: pass /,
    );
  } finally {
    client.close();
  }
});
