// `mailward milter` behind a real Postfix 3.7 (testkit postfix.ts), run as the built CLI in a
// child process the way a user runs it, with Knot DNS (testkit serve-zone.ts) serving the SPF,
// DKIM and DMARC records of the test domains. Keys are generated here. Mail reaches Postfix over
// SMTP with XCLIENT (client address, HELO, SASL login chosen per test) and leaves to an in-test
// sink, where the delivered bytes are checked; outbound signatures are verified by dkimpy and
// OpenDKIM against the same Knot.
//
// One Postfix for the file (smtpd_milters = the milter's port, milter_default_action = tempfail);
// each test starts the milter with the flags it needs on that port: Postfix opens a new milter
// connection per SMTP session, so the next session sees the new process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkResolver } from '@mailward/adapters';
import { parseZone, signDkim, verifyDkim } from '@mailward/core';
import {
  dkimpyVerify,
  freePort,
  opendkimVerify,
  serveZone,
  startPostfix,
  type PostfixInstance,
  type ServedZone,
  type SinkMessage,
  type XclientAttributes,
} from '@mailward/testkit';
import { startMilterProcess } from './milter-process.js';

const AUTHSERV_ID = 'mx.test.example';
const clock = { now: () => Date.now() };

/** The outside sender's mail server: SPF allows it for every inbound test domain. */
const SENDER_IP = '192.0.2.10';
/** A host that no SPF record allows. */
const SPOOFER_IP = '198.51.100.66';

const senderKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const ourRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const ourEd25519 = generateKeyPairSync('ed25519').privateKey;

/** p= is the SubjectPublicKeyInfo for RSA, the raw 32-byte key for Ed25519 (RFC 8463 §4.2). */
function keyRecord(privateKey: KeyObject): string {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return privateKey.asymmetricKeyType === 'ed25519'
    ? `v=DKIM1; k=ed25519; p=${spki.subarray(spki.length - 32).toString('base64')}`
    : `v=DKIM1; k=rsa; p=${spki.toString('base64')}`;
}

const ZONE = {
  // Inbound: a signing sender with p=reject, a spoofed p=reject domain, a p=quarantine domain.
  'sender.example': [{ TXT: `v=spf1 ip4:${SENDER_IP} -all` }],
  's1._domainkey.sender.example': [{ TXT: keyRecord(senderKey) }],
  '_dmarc.sender.example': [{ TXT: 'v=DMARC1; p=reject' }],
  'reject.example': [{ TXT: `v=spf1 ip4:${SENDER_IP} -all` }],
  '_dmarc.reject.example': [{ TXT: 'v=DMARC1; p=reject' }],
  'quarantine.example': [{ TXT: `v=spf1 ip4:${SENDER_IP} -all` }],
  '_dmarc.quarantine.example': [{ TXT: 'v=DMARC1; p=quarantine' }],
  'mail.sender.example': [{ TXT: `v=spf1 ip4:${SENDER_IP} -all` }],
  // Outbound: our domain, two keys.
  'ours.example': [{ TXT: 'v=spf1 ip4:127.0.0.0/8 -all' }],
  'rsa._domainkey.ours.example': [{ TXT: keyRecord(ourRsa) }],
  'ed._domainkey.ours.example': [{ TXT: keyRecord(ourEd25519) }],
  '_dmarc.ours.example': [{ TXT: 'v=DMARC1; p=none' }],
};

let dns: ServedZone;
let postfix: PostfixInstance;
let milterPort: number;
let keyDir: string;
let resolver: NetworkResolver;

before(async () => {
  const parsed = parseZone(ZONE);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  dns = await serveZone(parsed.zone);
  resolver = new NetworkResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000 });
  keyDir = await mkdtemp(join(tmpdir(), 'mailward-milter-postfix-'));
  await writeFile(join(keyDir, 'rsa.pem'), ourRsa.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(join(keyDir, 'ed.pem'), ourEd25519.export({ type: 'pkcs8', format: 'pem' }));
  milterPort = await freePort();
  postfix = await startPostfix({
    hostname: AUTHSERV_ID,
    smtpdMilters: `inet:127.0.0.1:${milterPort}`,
    milterDefaultAction: 'tempfail',
  });
});

after(async () => {
  await postfix?.stop();
  await dns?.stop();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

interface RunningMilter {
  readonly child: ChildProcess;
  /** Its stderr so far (one log line per message). */
  log(): string;
  stop(): Promise<void>;
}

/** `node main.js milter --listen ... FLAGS` (milter-process.ts), once it says it listens. */
async function startMilter(...flags: string[]): Promise<RunningMilter> {
  const running = await startMilterProcess([
    '--listen',
    `inet:127.0.0.1:${milterPort}`,
    '--authserv-id',
    AUTHSERV_ID,
    '--dns',
    `${dns.host}:${dns.port}`,
    '--sign',
    `ours.example:rsa:${join(keyDir, 'rsa.pem')}`,
    '--sign',
    `ours.example:ed:${join(keyDir, 'ed.pem')}`,
    '--internal-hosts',
    '127.0.0.0/8',
    '--drain-timeout',
    '1000',
    ...flags,
  ]);
  let exited = false;
  void running.exited.then(() => (exited = true));
  try {
    await running.waitFor(/listening on/, 15_000);
  } catch (error) {
    running.kill('SIGKILL');
    throw error;
  }
  return {
    child: running.child,
    log: () => running.lines.join('\n'),
    async stop() {
      if (exited) return;
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
      await running.exited;
      clearTimeout(timer);
    },
  };
}

async function withMilter(flags: string[], run: (milter: RunningMilter) => Promise<void>): Promise<void> {
  const milter = await startMilter(...flags);
  try {
    await run(milter);
  } catch (error) {
    const detail = `\n--- milter log ---\n${milter.log()}\n--- maillog (last 40 lines) ---\n${postfix
      .log()
      .split('\n')
      .slice(-40)
      .join('\n')}`;
    if (error instanceof Error) error.message += detail;
    throw error;
  } finally {
    await milter.stop();
  }
}

let counter = 0;
/** A message with a unique Message-ID; `extraHeaders` go first. CRLF line ends. */
function message(from: string, subject: string, extraHeaders: string[] = [], body = 'Hello.\r\n'): Buffer {
  counter += 1;
  return Buffer.from(
    [
      ...extraHeaders,
      `From: ${from}`,
      'To: bob@example.net',
      `Subject: ${subject}`,
      'Date: Fri, 04 Dec 2026 04:00:00 +0000',
      `Message-ID: <milter-postfix-${counter}-${Date.now()}@test>`,
      '',
      body,
    ].join('\r\n'),
    'latin1',
  );
}

const inbound = (extra: XclientAttributes = {}): XclientAttributes => ({
  ADDR: SENDER_IP,
  NAME: 'mail.sender.example',
  HELO: 'mail.sender.example',
  ...extra,
});

/** Header fields of a delivered message, unfolded, in order, as [name, value]. */
function fields(raw: Buffer): Array<[string, string]> {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const header = text.slice(0, end + 2);
  return [...header.matchAll(/^([^:\r\n]+):([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)\r\n/gm)].map((m) => [
    (m[1] ?? '').trim(),
    (m[2] ?? '').replace(/\r\n/g, '').trim(),
  ]);
}

function field(raw: Buffer, name: string): string[] {
  return fields(raw)
    .filter(([n]) => n.toLowerCase() === name.toLowerCase())
    .map(([, v]) => v);
}

/** Our Authentication-Results (the one whose authserv-id is ours); exactly one expected. */
function ourResults(raw: Buffer): string {
  const ours = field(raw, 'Authentication-Results').filter((v) => v.toLowerCase().startsWith(`${AUTHSERV_ID};`));
  assert.equal(ours.length, 1, `expected one Authentication-Results of ours:\n${raw.toString('latin1')}`);
  return ours[0]!;
}

async function delivered(subject: string): Promise<SinkMessage> {
  const got = await postfix.sink.next(15_000);
  assert.match(got.raw.toString('latin1'), new RegExp(`^Subject: ${subject}`, 'm'), 'a different message arrived');
  return got;
}

describe('inbound mail (external client)', () => {
  test('signed mail from an SPF-allowed host gets dkim=pass spf=pass dmarc=pass from our authserv-id', async () => {
    await withMilter([], async () => {
      const signed = signDkim(
        message('Sender <news@sender.example>', 'signed inbound'),
        [{ domain: 'sender.example', selector: 's1', privateKey: senderKey }],
        { clock },
      ).message;
      const sent = await postfix.send({
        from: 'bounce@sender.example',
        to: ['bob@example.net'],
        data: signed,
        xclient: inbound(),
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      const results = ourResults((await delivered('signed inbound')).raw);
      assert.match(results, /\bdkim=pass\b/);
      assert.match(results, /\bspf=pass\b/);
      assert.match(results, /\bdmarc=pass\b/);
      assert.match(results, /header\.d=sender\.example/);
    });
  });

  test('a spoof of a p=reject domain is refused at end of data (550 5.7.1) with --enforce', async () => {
    await withMilter(['--enforce'], async () => {
      const sent = await postfix.send({
        from: 'ceo@reject.example',
        to: ['bob@example.net'],
        data: message('CEO <ceo@reject.example>', 'spoof enforced'),
        xclient: { ADDR: SPOOFER_IP, NAME: 'spoofer.invalid', HELO: 'spoofer.invalid' },
      });
      assert.equal(sent.lastStage, 'eod', JSON.stringify(sent.steps));
      assert.equal(sent.last.code, 550);
      assert.match(sent.last.text, /^5\.7\.1 /);
      assert.match(sent.last.text, /reject\.example/);
      assert.equal((await postfix.queue()).length, 0);
    });
  });

  test('the same spoof without --enforce is delivered, labelled dmarc=fail', async () => {
    await withMilter([], async () => {
      const sent = await postfix.send({
        from: 'ceo@reject.example',
        to: ['bob@example.net'],
        data: message('CEO <ceo@reject.example>', 'spoof labelled'),
        xclient: { ADDR: SPOOFER_IP, NAME: 'spoofer.invalid', HELO: 'spoofer.invalid' },
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      const results = ourResults((await delivered('spoof labelled')).raw);
      assert.match(results, /\bdmarc=fail\b/);
      assert.match(results, /\bspf=fail\b/);
    });
  });

  test('a p=quarantine failure is held in the Postfix hold queue (--enforce, --quarantine hold)', async () => {
    await withMilter(['--enforce', '--quarantine', 'hold'], async () => {
      const before = postfix.sink.messages.length;
      const sent = await postfix.send({
        from: 'news@quarantine.example',
        to: ['bob@example.net'],
        data: message('News <news@quarantine.example>', 'quarantine hold'),
        xclient: { ADDR: SPOOFER_IP, NAME: 'spoofer.invalid', HELO: 'spoofer.invalid' },
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      const queued = await waitForQueue((q) => q.some((m) => m.queueId === sent.queueId));
      const held = queued.find((m) => m.queueId === sent.queueId);
      assert.equal(held?.queueName, 'hold', JSON.stringify(queued));
      // cleanup logs "ID: milter-hold: END-OF-MESSAGE from ...: milter triggers HOLD action".
      const holdLine = postfix
        .log()
        .split('\n')
        .find((line) => line.includes(`${sent.queueId}: milter-hold: `));
      assert.ok(holdLine, 'cleanup logged no milter-hold for the message');
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(postfix.sink.messages.length, before, 'a held message must not be delivered');
      await postfix.clearQueue();
    });
  });

  test('a p=quarantine failure is delivered with the quarantine header (--quarantine header)', async () => {
    await withMilter(['--enforce', '--quarantine', 'header'], async () => {
      const sent = await postfix.send({
        from: 'news@quarantine.example',
        to: ['bob@example.net'],
        data: message('News <news@quarantine.example>', 'quarantine header'),
        xclient: { ADDR: SPOOFER_IP, NAME: 'spoofer.invalid', HELO: 'spoofer.invalid' },
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      const got = await delivered('quarantine header');
      assert.equal(field(got.raw, 'X-Mailward-Quarantine').length, 1, got.raw.toString('latin1'));
      assert.match(ourResults(got.raw), /\bdmarc=fail\b/);
    });
  });

  test('a forged Authentication-Results with our authserv-id is removed, a foreign one kept', async () => {
    await withMilter([], async () => {
      const forged = `Authentication-Results: ${AUTHSERV_ID}; dkim=pass header.d=reject.example; dmarc=pass`;
      const forgedUpper = `Authentication-Results: ${AUTHSERV_ID.toUpperCase()}; spf=pass smtp.mailfrom=reject.example`;
      const foreign = 'Authentication-Results: relay.other.example; spf=pass smtp.mailfrom=sender.example';
      const sent = await postfix.send({
        from: 'bounce@sender.example',
        to: ['bob@example.net'],
        data: message('Sender <news@sender.example>', 'forged results', [forged, foreign, forgedUpper]),
        xclient: inbound(),
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      const got = await delivered('forged results');
      const all = field(got.raw, 'Authentication-Results');
      assert.deepEqual(
        all.filter((v) => !v.toLowerCase().startsWith(`${AUTHSERV_ID};`)),
        ['relay.other.example; spf=pass smtp.mailfrom=sender.example'],
      );
      // Only the milter's own, fresh one is left of ours: spf=pass, no dkim=pass (unsigned).
      const ours = ourResults(got.raw);
      assert.doesNotMatch(ours, /dkim=pass/);
      assert.match(ours, /\bspf=pass\b/);
    });
  });

  test('header bytes survive: a simple/simple signature over folded, tabbed headers passes in the milter and in dkimpy after relay', async () => {
    await withMilter([], async () => {
      const raw = message('Sender <news@sender.example>', 'folded bytes', [
        'X-Folded: first part',
        '\tsecond part after a tab',
        '    third part after spaces ',
        'X-Tabs:\tvalue\twith\ttabs',
        'X-Spaces:    many   spaces   ',
      ]);
      const signed = signDkim(
        raw,
        [
          {
            domain: 'sender.example',
            selector: 's1',
            privateKey: senderKey,
            canonicalization: { header: 'simple', body: 'simple' },
            headers: ['From', 'To', 'Subject', 'Date', 'Message-ID', 'X-Folded', 'X-Tabs', 'X-Spaces'],
          },
        ],
        { clock },
      ).message;
      const sent = await postfix.send({
        from: 'bounce@sender.example',
        to: ['bob@example.net'],
        data: signed,
        xclient: inbound(),
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      const got = await delivered('folded bytes');
      assert.match(ourResults(got.raw), /\bdkim=pass\b/);
      const peer = await dkimpyVerify(got.raw, { host: dns.host, port: dns.port });
      assert.equal(peer.verified, true, `${peer.error ?? ''} ${peer.logged.join('; ')}`);
    });
  });
});

describe('outbound mail (internal host or SASL login)', () => {
  async function assertSignedByUs(raw: Buffer): Promise<void> {
    const signatures = field(raw, 'DKIM-Signature');
    assert.equal(signatures.length, 2, raw.toString('latin1'));
    const mailward = await verifyDkim(raw, { resolver, clock });
    assert.deepEqual(mailward.signatures.map((s) => [s.domain, s.selector, s.result]).sort(), [
      ['ours.example', 'ed', 'pass'],
      ['ours.example', 'rsa', 'pass'],
    ]);
    const address = { host: dns.host, port: dns.port };
    const [dkimpy, opendkim] = await Promise.all([dkimpyVerify(raw, address), opendkimVerify(raw, address)]);
    assert.equal(dkimpy.verified, true, `dkimpy: ${dkimpy.error ?? ''} ${dkimpy.logged.join('; ')}`);
    assert.equal(opendkim.result, 'pass', `OpenDKIM: ${opendkim.summary}`);
  }

  const outboundMessage = (subject: string): Buffer =>
    message('Alice <alice@ours.example>', subject, ['X-Folded: one', '\ttwo', 'X-Odd-Name  :  spaced\tvalue ']);

  test('mail from an internal host (XCLIENT ADDR=127.0.0.9) leaves signed; dkimpy and OpenDKIM verify it', async () => {
    await withMilter([], async () => {
      const sent = await postfix.send({
        from: 'alice@ours.example',
        to: ['bob@example.net'],
        data: outboundMessage('internal outbound'),
        xclient: { ADDR: '127.0.0.9', NAME: 'workstation.ours.example', HELO: 'workstation.ours.example' },
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      const got = await delivered('internal outbound');
      await assertSignedByUs(got.raw);
      assert.equal(field(got.raw, 'Authentication-Results').length, 0, 'outbound mail is not labelled');
    });
  });

  test('mail from a host in a configured --internal-hosts CIDR leaves signed; 127.0.0.1 is then inbound', async () => {
    // The last --internal-hosts wins (commander), replacing the 127.0.0.0/8 of startMilter.
    await withMilter(['--internal-hosts', '203.0.113.0/24'], async () => {
      const sent = await postfix.send({
        from: 'alice@ours.example',
        to: ['bob@example.net'],
        data: outboundMessage('cidr outbound'),
        xclient: { ADDR: '203.0.113.9', NAME: 'office.ours.example', HELO: 'office.ours.example' },
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      await assertSignedByUs((await delivered('cidr outbound')).raw);
      const local = await postfix.send({
        from: 'alice@ours.example',
        to: ['bob@example.net'],
        data: outboundMessage('loopback now inbound'),
        xclient: { ADDR: '127.0.0.9', NAME: 'workstation.ours.example', HELO: 'workstation.ours.example' },
      });
      assert.equal(local.eod?.code, 250, local.last.text);
      const got = await delivered('loopback now inbound');
      assert.equal(field(got.raw, 'DKIM-Signature').length, 0, 'inbound mail is not signed');
      assert.match(ourResults(got.raw), /\bspf=pass\b/);
    });
  });

  test('mail from a SASL user (XCLIENT LOGIN=) on an outside address leaves signed', async () => {
    await withMilter([], async () => {
      const sent = await postfix.send({
        from: 'alice@ours.example',
        to: ['bob@example.net'],
        data: outboundMessage('sasl outbound'),
        xclient: { ADDR: '203.0.113.5', NAME: 'roaming.invalid', HELO: 'laptop', LOGIN: 'alice' },
      });
      assert.equal(sent.eod?.code, 250, sent.last.text);
      await assertSignedByUs((await delivered('sasl outbound')).raw);
    });
  });
});

describe('the milter process dies', () => {
  test('killed mid-message: Postfix applies milter_default_action (451), and after a restart mail flows again', async () => {
    const milter = await startMilter();
    const sent = await postfix.send({
      from: 'bounce@sender.example',
      to: ['bob@example.net'],
      data: message('Sender <news@sender.example>', 'killed midway'),
      xclient: inbound(),
      beforeContent: async () => {
        const gone = new Promise((r) => milter.child.once('exit', r));
        milter.child.kill('SIGKILL');
        await gone;
      },
    });
    assert.equal(sent.lastStage, 'eod', JSON.stringify(sent.steps));
    assert.equal(sent.last.code, 451, sent.last.text);
    assert.match(sent.last.text, /^4\.7\.1 /);
    assert.equal((await postfix.queue()).length, 0, 'a tempfailed message is not queued');
    await withMilter([], async () => {
      const again = await postfix.send({
        from: 'bounce@sender.example',
        to: ['bob@example.net'],
        data: message('Sender <news@sender.example>', 'after restart'),
        xclient: inbound(),
      });
      assert.equal(again.eod?.code, 250, again.last.text);
      assert.match(ourResults((await delivered('after restart')).raw), /\bspf=pass\b/);
    });
  });
});

async function waitForQueue(
  ready: (queue: Awaited<ReturnType<PostfixInstance['queue']>>) => boolean,
  ms = 5000,
): Promise<Awaited<ReturnType<PostfixInstance['queue']>>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const queue = await postfix.queue();
    if (ready(queue) || Date.now() > deadline) return queue;
    await new Promise((r) => setTimeout(r, 100));
  }
}
