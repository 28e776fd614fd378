// The milter end to end over a loopback socket: adapters' Postfix-like MilterClient against
// startMilterService, DNS from a MemoryResolver. Inbound verdicts and actions, forged
// Authentication-Results, outbound signing (checked with core's verifier), DNS failures,
// outbound detection, handler failures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { arc, signDkim, verifyDkim, type Resolver } from '@mailward/core';
import { DEFAULT_INBOUND } from '../src/index.js';
import {
  applyEdits,
  clock,
  ed25519Key,
  inboundMessage,
  insertedValue,
  keyRecord,
  resolverFor,
  rsaKey,
  send,
  settings,
  startService,
  tempDir,
  type Running,
} from './milter-support.js';

const senderKey = rsaKey();
const ownRsa = rsaKey();
const ownEd = ed25519Key();

const zone = resolverFor({
  // A correspondent that signs its mail: DMARC p=reject.
  'sender.example': [{ TXT: 'v=spf1 ip4:192.0.2.10 -all' }],
  '_dmarc.sender.example': [{ TXT: 'v=DMARC1; p=reject' }],
  'k1._domainkey.sender.example': [keyRecord(senderKey)],
  // A bank that is spoofed: p=reject, and the spoof comes from elsewhere.
  'bank.example': [{ TXT: 'v=spf1 ip4:192.0.2.20 -all' }],
  '_dmarc.bank.example': [{ TXT: 'v=DMARC1; p=reject' }],
  'shop.example': [{ TXT: 'v=spf1 ip4:192.0.2.30 -all' }],
  '_dmarc.shop.example': [{ TXT: 'v=DMARC1; p=quarantine' }],
  // The DMARC record cannot be fetched.
  '_dmarc.flaky.example': ['TIMEOUT'],
  'flaky.example': [{ TXT: 'v=spf1 ip4:192.0.2.40 -all' }],
  // Our own domain's keys, for outbound signing.
  'rsa._domainkey.own.example': [keyRecord(ownRsa)],
  'ed._domainkey.own.example': [keyRecord(ownEd)],
  // Our ARC sealing key.
  'arc._domainkey.own.example': [keyRecord(ownEd)],
});

const signedHeaders = [
  'From: Alice <alice@sender.example>',
  'To: rcpt@mx.test',
  'Subject: signed inbound',
  'Message-ID: <1@sender.example>',
];
const body = 'Hello.\r\n\r\nA signed message.\r\n';

function signedBySender(): string[] {
  const raw = Buffer.from(`${signedHeaders.join('\r\n')}\r\n\r\n${body}`);
  const signed = signDkim(raw, [{ domain: 'sender.example', selector: 'k1', privateKey: senderKey.privateKey }], {
    clock,
  });
  const field = signed.fields[0]!.field.replace(/\r\n$/, '');
  return [field, ...signedHeaders];
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let rsaFile: string;
let edFile: string;
before(async () => {
  dir = await tempDir();
  rsaFile = await dir.file('rsa.pem', ownRsa.pem);
  edFile = await dir.file('ed.pem', ownEd.pem);
});
after(async () => dir.remove());

async function withService(
  overrides: Parameters<typeof settings>[0],
  run: (running: Running) => Promise<void>,
  resolver: Resolver = zone,
  deps: Parameters<typeof startService>[2] = {},
): Promise<void> {
  const running = await startService(settings(overrides), resolver, deps);
  try {
    await run(running);
  } finally {
    await running.close();
  }
}

const enforce = { inbound: { ...DEFAULT_INBOUND, enforce: true } };

test('signed inbound mail passes: A-R and Received-SPF prepended, accepted, one log line by queue ID', async () => {
  await withService(enforce, async ({ service, logs }) => {
    const headers = signedBySender();
    const outcome = await send(
      service.address,
      inboundMessage({ ip: '192.0.2.10', sender: 'alice@sender.example' }, headers, body),
    );
    assert.equal(outcome.final.type, 'continue');
    const ar = insertedValue(outcome.edits, 'Authentication-Results');
    assert.equal(ar.length, 1);
    assert.match(ar[0]!, /^ mx\.test;/);
    assert.match(ar[0]!, /dkim=pass header\.d=sender\.example/);
    assert.match(ar[0]!, /spf=pass/);
    assert.match(ar[0]!, /dmarc=pass/);
    assert.equal(insertedValue(outcome.edits, 'Received-SPF').length, 1);
    // A-R ends up on top, Received-SPF under it.
    const delivered = applyEdits(headers, body, outcome.edits);
    assert.match(delivered, /^Authentication-Results: mx\.test;[^]*\r\nReceived-SPF: pass/);
    const line = logs.find((l) => l.startsWith('milter: QUEUE1:'));
    assert.ok(line, logs.join('\n'));
    assert.match(line, /inbound .*dmarc=pass\(sender\.example\).* action=accept/);
  });
});

test('a spoof of a p=reject domain: 550 5.7.1 with --enforce, labelled only without', async () => {
  const spoof = inboundMessage(
    { ip: '203.0.113.9', sender: 'ceo@bank.example' },
    ['From: CEO <ceo@bank.example>', 'To: rcpt@mx.test', 'Subject: urgent transfer'],
    'Pay now.\r\n',
  );
  await withService(enforce, async ({ service }) => {
    const outcome = await send(service.address, spoof);
    assert.equal(outcome.final.type, 'replyCode');
    assert.match((outcome.final as { reply: string }).reply, /^550 5\.7\.1 .*DMARC policy of bank\.example/);
  });
  await withService({}, async ({ service, logs }) => {
    const outcome = await send(service.address, spoof);
    assert.equal(outcome.final.type, 'continue');
    assert.match(insertedValue(outcome.edits, 'Authentication-Results')[0]!, /dmarc=fail/);
    assert.ok(
      logs.some((l) => /would-have=reject/.test(l)),
      logs.join('\n'),
    );
  });
});

test('p=quarantine failures: held (SMFIR_QUARANTINE) or marked with the header', async () => {
  const message = inboundMessage(
    { ip: '203.0.113.9', sender: 'news@shop.example' },
    ['From: <news@shop.example>', 'Subject: sale'],
    'Buy.\r\n',
  );
  await withService({ inbound: { ...DEFAULT_INBOUND, enforce: true, quarantine: 'hold' } }, async ({ service }) => {
    const outcome = await send(service.address, message);
    assert.equal(outcome.final.type, 'continue');
    const hold = outcome.edits.find((e) => e.type === 'quarantine');
    assert.ok(hold && hold.type === 'quarantine');
    assert.match(hold.reason, /shop\.example/);
    assert.ok(hold.reason.length <= 100);
  });
  await withService({ inbound: { ...DEFAULT_INBOUND, enforce: true, quarantine: 'header' } }, async ({ service }) => {
    const outcome = await send(service.address, message);
    assert.equal(outcome.final.type, 'continue');
    assert.equal(
      outcome.edits.find((e) => e.type === 'quarantine'),
      undefined,
    );
    assert.match(insertedValue(outcome.edits, 'X-Mailward-Quarantine')[0]!, /p=quarantine/);
  });
});

test('forged Authentication-Results with our authserv-id are deleted (bottom up), foreign ones kept', async () => {
  const headers = [
    'Authentication-Results: mx.test; dkim=pass header.d=bank.example',
    'Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example',
    'Authentication-Results: MX.TEST; dmarc=pass',
    // Unparseable, but it starts with our id: ours too.
    'Authentication-Results: mx.test (broken',
    'Authentication-Results: mx.test.evil.example; dkim=pass',
    ...signedBySender(),
  ];
  await withService({}, async ({ service, logs }) => {
    const outcome = await send(
      service.address,
      inboundMessage({ ip: '192.0.2.10', sender: 'alice@sender.example' }, headers, body),
    );
    const deletions = outcome.edits.filter((e) => e.type === 'changeHeader');
    assert.deepEqual(
      deletions.map((e) => e.type === 'changeHeader' && [e.name, e.index, e.value]),
      [
        ['Authentication-Results', 4, ''],
        ['Authentication-Results', 3, ''],
        ['Authentication-Results', 1, ''],
      ],
    );
    const delivered = applyEdits(headers, body, outcome.edits);
    const ars = delivered
      .replace(/\r\n[ \t]+/g, ' ')
      .split('\r\n')
      .filter((l) => l.startsWith('Authentication-Results:'));
    assert.equal(ars.length, 3);
    assert.match(ars[0]!, /^Authentication-Results: mx\.test; dkim=pass/); // ours, new
    assert.match(ars[1]!, /other\.example/);
    assert.match(ars[2]!, /mx\.test\.evil\.example/);
    // The verdict is not fooled: DKIM of the real signature still passes.
    assert.match(ars[0]!, /dmarc=pass/);
    assert.ok(
      logs.some((l) => /removed-own-authentication-results=3/.test(l)),
      logs.join('\n'),
    );
  });
});

test('outbound from an internal host is signed with two keys (RSA and Ed25519), both verify', async () => {
  const signing = {
    keys: [
      { domain: 'own.example', selector: 'rsa', keyFile: rsaFile },
      { domain: 'own.example', selector: 'ed', keyFile: edFile },
    ],
    rules: [{ from: 'own.example', keys: ['own.example:rsa', 'own.example:ed'] }],
  };
  const headers = [
    'From: Bob <bob@own.example>',
    'To: friend@elsewhere.example',
    'Subject: out',
    'Date: Fri, 4 Dec 2026 03:00:00 +0000',
  ];
  const outBody = 'Outbound body.\r\n.leading dot line\r\n';
  await withService({ signing }, async ({ service, logs }) => {
    const outcome = await send(
      service.address,
      inboundMessage({ ip: '10.1.2.3', sender: 'bob@own.example' }, headers, outBody),
    );
    assert.equal(outcome.final.type, 'continue');
    const sigs = insertedValue(outcome.edits, 'DKIM-Signature');
    assert.equal(sigs.length, 2);
    assert.equal(insertedValue(outcome.edits, 'Authentication-Results').length, 0, 'outbound mail is not verified');
    const delivered = applyEdits(headers, outBody, outcome.edits);
    const verified = await verifyDkim(Buffer.from(delivered, 'latin1'), { resolver: zone, clock });
    assert.deepEqual(
      verified.signatures.map((s) => [s.selector, s.result]),
      [
        ['rsa', 'pass'],
        ['ed', 'pass'],
      ],
      verified.signatures.map((s) => s.reason).join('; '),
    );
    assert.ok(
      logs.some((l) =>
        /outbound \(internal host 10\.1\.2\.3\) signed d=own\.example s=rsa, d=own\.example s=ed/.test(l),
      ),
      logs.join('\n'),
    );
  });
});

test('a SASL login makes mail outbound from any address; a From without a rule goes unsigned', async () => {
  const signing = {
    keys: [{ domain: 'own.example', selector: 'ed', keyFile: edFile }],
    rules: [
      { from: 'own.example', keys: ['own.example:ed'] },
      { from: '*.own.example', keys: ['own.example:ed'] },
    ],
  };
  await withService({ signing }, async ({ service, logs }) => {
    const sasl = { mail: [['{auth_authen}', 'bob']] as Array<[string, string]> };
    const signed = await send(
      service.address,
      inboundMessage(
        { ip: '198.51.100.7', sender: 'bob@lists.own.example' },
        ['From: <bob@lists.own.example>', 'Subject: s'],
        'x\r\n',
        sasl,
      ),
    );
    assert.equal(insertedValue(signed.edits, 'DKIM-Signature').length, 1);
    const unsigned = await send(
      service.address,
      inboundMessage(
        { ip: '198.51.100.7', sender: 'bob@else.example' },
        ['From: <bob@else.example>', 'Subject: s'],
        'x\r\n',
        sasl,
      ),
    );
    assert.deepEqual(unsigned.edits, []);
    assert.equal(unsigned.final.type, 'continue');
    assert.ok(
      logs.some((l) => /SASL login bob\) not signed: no signing rule for else\.example/.test(l)),
      logs.join('\n'),
    );
    // Without the login the same client is inbound.
    const inbound = await send(
      service.address,
      inboundMessage(
        { ip: '198.51.100.7', sender: 'bob@else.example' },
        ['From: <bob@else.example>', 'Subject: s'],
        'x\r\n',
      ),
    );
    assert.equal(insertedValue(inbound.edits, 'Authentication-Results').length, 1);
  });
});

test('an outbound MTA service ({daemon_name}, like OpenDKIM MTA) makes mail outbound from any address', async () => {
  const signing = {
    keys: [{ domain: 'own.example', selector: 'ed', keyFile: edFile }],
    rules: [{ from: 'own.example', keys: ['own.example:ed'] }],
  };
  await withService({ signing, outboundDaemons: ['ORIGINATING'] }, async ({ service, logs }) => {
    const message = (daemon: string) =>
      inboundMessage(
        { ip: '198.51.100.7', sender: 'bob@own.example' },
        ['From: <bob@own.example>', 'Subject: s'],
        'x\r\n',
        { connect: [['{daemon_name}', daemon]] as Array<[string, string]> },
      );
    const submitted = await send(service.address, message('ORIGINATING'));
    assert.equal(insertedValue(submitted.edits, 'DKIM-Signature').length, 1);
    assert.ok(
      logs.some((l) => /outbound \(MTA service ORIGINATING\) signed d=own\.example/.test(l)),
      logs.join('\n'),
    );
    // Another service of the same MTA (port 25) is inbound: verified, not signed.
    const received = await send(service.address, message('smtpd'));
    assert.equal(insertedValue(received.edits, 'DKIM-Signature').length, 0);
    assert.equal(insertedValue(received.edits, 'Authentication-Results').length, 1);
  });
});

test('DNS failure: 451 4.7.5 by default, accepted (labelled) with on-dns-failure accept', async () => {
  const message = inboundMessage(
    { ip: '192.0.2.40', sender: 'a@flaky.example' },
    ['From: <a@flaky.example>', 'Subject: s'],
    'x\r\n',
  );
  await withService(enforce, async ({ service }) => {
    const outcome = await send(service.address, message);
    assert.equal(outcome.final.type, 'replyCode');
    assert.match((outcome.final as { reply: string }).reply, /^451 4\.7\.5 /);
  });
  await withService({ inbound: { ...DEFAULT_INBOUND, enforce: true, onDnsFailure: 'accept' } }, async ({ service }) => {
    const outcome = await send(service.address, message);
    assert.equal(outcome.final.type, 'continue');
    assert.match(insertedValue(outcome.edits, 'Authentication-Results')[0]!, /dmarc=temperror/);
  });
});

test('a handler failure tempfails the message (451 4.3.0) and the session goes on; on-error accept accepts', async () => {
  let broken = true;
  const flaky: Resolver = {
    lookup: (name, type) => (broken ? Promise.reject(new Error('resolver bug')) : zone.lookup(name, type)),
  };
  const message = inboundMessage({ ip: '192.0.2.10', sender: 'alice@sender.example' }, signedBySender(), body);
  await withService(
    {},
    async ({ service, logs }) => {
      const outcome = await send(service.address, message);
      assert.equal(outcome.final.type, 'replyCode');
      assert.match((outcome.final as { reply: string }).reply, /^451 4\.3\.0 /);
      assert.ok(
        logs.some((l) => /action=tempfail .*error="end of message: resolver bug"/.test(l)),
        logs.join('\n'),
      );
      broken = false;
      const next = await send(service.address, message);
      assert.equal(next.final.type, 'continue');
      assert.match(insertedValue(next.edits, 'Authentication-Results')[0]!, /dmarc=pass/);
    },
    flaky,
  );
  broken = true;
  await withService(
    { onError: 'accept' },
    async ({ service }) => {
      const outcome = await send(service.address, message);
      assert.equal(outcome.final.type, 'continue');
      assert.deepEqual(outcome.edits, []);
    },
    flaky,
  );
});

test('with an ARC sealing key, delivered inbound mail gets an ARC set on top that verifies', async () => {
  const arcSeal = { domain: 'own.example', selector: 'arc', keyFile: edFile };
  const headers = signedBySender();
  await withService({ arcSeal }, async ({ service, logs }) => {
    const outcome = await send(
      service.address,
      inboundMessage({ ip: '192.0.2.10', sender: 'alice@sender.example' }, headers, body),
    );
    assert.equal(outcome.final.type, 'continue');
    const delivered = applyEdits(headers, body, outcome.edits);
    const names = delivered
      .split('\r\n')
      .filter((l) => /^[A-Za-z-]+:/.test(l))
      .map((l) => l.slice(0, l.indexOf(':')));
    assert.deepEqual(names.slice(0, 5), [
      'ARC-Seal',
      'ARC-Message-Signature',
      'ARC-Authentication-Results',
      'Authentication-Results',
      'Received-SPF',
    ]);
    assert.match(delivered, /ARC-Seal: [^]*cv=none/);
    assert.match(delivered, /ARC-Authentication-Results: i=1; mx\.test;[^]*dmarc=pass/);
    const verified = await arc.verifyArc(Buffer.from(delivered, 'latin1'), { resolver: zone, clock });
    assert.equal(verified.result, 'pass', verified.result === 'pass' ? '' : JSON.stringify(verified));
    assert.ok(
      logs.some((l) => /arc-seal="sealed i=1"/.test(l)),
      logs.join('\n'),
    );
  });
  // A rejected message is not sealed: it is not delivered.
  await withService({ arcSeal, ...enforce }, async ({ service }) => {
    const outcome = await send(
      service.address,
      inboundMessage(
        { ip: '203.0.113.9', sender: 'ceo@bank.example' },
        ['From: <ceo@bank.example>', 'Subject: s'],
        'x\r\n',
      ),
    );
    assert.equal(outcome.final.type, 'replyCode');
    assert.deepEqual(outcome.edits, []);
  });
});

test('start-up problems are one line naming the setting: missing key file, bad CIDR, port in use', async () => {
  const { startMilterService } = await import('../src/index.js');
  const missing = await startMilterService(
    settings({
      signing: {
        keys: [{ domain: 'own.example', selector: 'rsa', keyFile: `${dir.path}/nope.pem` }],
        rules: [{ from: 'own.example', keys: ['own.example:rsa'] }],
      },
    }),
    { log: () => undefined, resolver: zone },
  );
  assert.equal(missing.ok, false);
  assert.ok(!missing.ok);
  assert.equal(missing.setting, 'signing');
  assert.match(missing.reason, /own\.example:rsa.*nope\.pem/);
  assert.doesNotMatch(missing.reason, /\n/);

  const cidr = await startMilterService(settings({ internalHosts: ['10.0.0/8'] }), {
    log: () => undefined,
    resolver: zone,
  });
  assert.ok(!cidr.ok);
  assert.equal(cidr.setting, 'internalHosts');
  assert.match(cidr.reason, /"10\.0\.0\/8"/);

  await withService({}, async ({ service }) => {
    const busy = await startMilterService(settings({ listen: service.address }), {
      log: () => undefined,
      resolver: zone,
    });
    assert.ok(!busy.ok);
    assert.equal(busy.setting, 'listen');
    assert.match(busy.reason, /already in use/);
  });
});
