// A 100 MB signed message through the real `mailward milter` process: the body streams into the
// DKIM verifier chunk by chunk (never held), so the process's peak memory grows by far less than the
// message, and the signature still verifies. Outbound signing of the same body likewise.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DkimSigner, splitMessage, type milter } from '@mailward/core';
import { clock, keyRecord, rsaKey, tempDir } from './milter-support.js';
import { listeningAddress, startMilterProcess, StepwiseMessage, type MilterProcess } from './milter-process.js';

const BODY_BYTES = 100 * 1024 * 1024;
const CHUNK = 65535;
/** Peak RSS growth allowed while a 100 MB message passes: well under the message (a held body adds all of it). */
const MAX_GROWTH_BYTES = 64 * 1024 * 1024;
/**
 * The first large message also pays for warm-up (compiled code, the young generation growing to
 * its size, crypto state): measured 34-59 MB here whether the body is 25, 100 or 300 MB. A second
 * one of the same size must add little to the peak (GC timing varies it by up to ~20 MB): a body held
 * in memory would add all of its 100 MB there.
 */
const MAX_SECOND_GROWTH_BYTES = 32 * 1024 * 1024;

const sender = rsaKey();
const own = rsaKey();
const headers = ['From: <big@sender.example>', 'To: <rcpt@mx.test>', 'Subject: a large attachment'];

/** The body, 64 KiB at a time, made on the fly (the test holds no more than one chunk either). */
function* bodyChunks(): Generator<Uint8Array> {
  const line = Buffer.from('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n');
  const block = Buffer.alloc(CHUNK);
  for (let at = 0; at < CHUNK; at += line.length) line.copy(block, at, 0, Math.min(line.length, CHUNK - at));
  // The block's end cuts a line: chunks join into one long run of identical lines.
  for (let sent = 0; sent < BODY_BYTES; sent += CHUNK) {
    const size = Math.min(CHUNK, BODY_BYTES - sent);
    yield size === CHUNK ? block : block.subarray(0, size);
  }
}

async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let proc: MilterProcess;
let address: string;
before(async () => {
  dir = await tempDir();
  const fixture = await dir.file(
    'zone.json',
    JSON.stringify({
      'sender.example': [{ TXT: 'v=spf1 ip4:192.0.2.10 -all' }],
      '_dmarc.sender.example': [{ TXT: 'v=DMARC1; p=reject' }],
      'k1._domainkey.sender.example': [keyRecord(sender)],
    }),
  );
  const keyFile = await dir.file('own.pem', own.pem);
  proc = await startMilterProcess([
    '--listen',
    'inet:127.0.0.1:0',
    '--authserv-id',
    'mx.test',
    '--dns-fixture',
    fixture,
    '--sign',
    `own.example:s1:${keyFile}`,
  ]);
  address = listeningAddress(await proc.waitFor(/milter: listening on /));
});
after(async () => {
  proc.kill('SIGTERM');
  await proc.exited;
  await dir.remove();
});

async function sendBig(
  headerLines: readonly string[],
  clientAddress: string,
  from: string,
): Promise<milter.MilterReply[]> {
  const message = await StepwiseMessage.open(address);
  try {
    await message.begin(clientAddress, from, headerLines);
    for (const chunk of bodyChunks()) await message.body(chunk);
    return await message.end('BIG1');
  } finally {
    await message.quit();
  }
}

test(
  '100 MB signed inbound messages: dkim=pass, peak memory bounded (far below the body, flat from one message to the next)',
  { timeout: 240_000 },
  async () => {
    const split = splitMessage(Buffer.from(`${headers.join('\r\n')}\r\n\r\n`));
    assert.ok(split.ok);
    const signer = new DkimSigner(
      split.headers,
      [{ domain: 'sender.example', selector: 'k1', privateKey: sender.privateKey }],
      {
        clock,
      },
    );
    for (const chunk of bodyChunks()) signer.push(chunk);
    const signature = signer.finish()[0]!.field.replace(/\r\n$/, '');

    const before = await memory(proc.pid);
    const replies = await sendBig([signature, ...headers], '192.0.2.10', 'big@sender.example');
    const afterwards = await memory(proc.pid);
    const again = await sendBig([signature, ...headers], '192.0.2.10', 'big@sender.example');
    const afterSecond = await memory(proc.pid);
    assert.equal(replies.at(-1)?.type, 'continue');
    assert.deepEqual(again.at(-1), replies.at(-1));
    const ar = replies.find((r) => r.type === 'insertHeader' && r.name === 'Authentication-Results');
    assert.ok(ar && ar.type === 'insertHeader');
    assert.match(ar.value, /dkim=pass header\.d=sender\.example/);
    assert.match(ar.value, /dmarc=pass/);
    const growth = afterwards.peak - before.rss;
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
    assert.ok(growth < MAX_GROWTH_BYTES, `peak RSS grew by ${mb(growth)} for a 100 MB message`);
    const second = afterSecond.peak - afterwards.peak;
    assert.ok(second < MAX_SECOND_GROWTH_BYTES, `the second 100 MB message raised the peak by ${mb(second)}`);
    const line = await proc.waitFor(/milter: BIG1: inbound/);
    assert.match(line, /dkim=pass\(sender\.example\)/);
  },
);

test('a 100 MB outbound message is signed as it streams, memory bounded alike', { timeout: 240_000 }, async () => {
  const before = await memory(proc.pid);
  const replies = await sendBig(['From: <me@own.example>', 'Subject: big'], '127.0.0.1', 'me@own.example');
  const afterwards = await memory(proc.pid);
  const signature = replies.find((r) => r.type === 'insertHeader' && r.name === 'DKIM-Signature');
  assert.ok(signature && signature.type === 'insertHeader');
  // The body hash must be the one of the whole body: compare with a signer fed the same chunks here.
  const split = splitMessage(Buffer.from('From: <me@own.example>\r\nSubject: big\r\n\r\n'));
  assert.ok(split.ok);
  const local = new DkimSigner(split.headers, [{ domain: 'own.example', selector: 's1', privateKey: own.privateKey }], {
    clock,
  });
  for (const chunk of bodyChunks()) local.push(chunk);
  const bh = (field: string) => /bh=([^;]+);/.exec(field.replace(/\s+/g, ''))?.[1];
  assert.equal(bh(signature.value), bh(local.finish()[0]!.field));
  assert.ok(
    afterwards.peak - before.rss < MAX_GROWTH_BYTES,
    `peak RSS grew by ${((afterwards.peak - before.rss) / 1048576).toFixed(1)} MB`,
  );
});
