/** Report sources on real files: directories, mbox and Maildir. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import type { ReportSource, SourceItem } from '@mailward/reports';
import { FileSource, MaildirSource, MboxSource, mboxMessages } from '../src/index.js';

const dir = () => mkdtempSync(join(tmpdir(), 'mailward-sources-'));

async function all(source: ReportSource): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.items()) items.push(item);
  return items;
}

test('FileSource: a file, or a directory read recursively in name order, hidden files skipped', async () => {
  const root = dir();
  mkdirSync(join(root, 'b'));
  writeFileSync(join(root, 'a.xml'), 'A');
  writeFileSync(join(root, 'b', 'c.xml.gz'), 'C');
  writeFileSync(join(root, '.hidden'), 'H');
  const items = await all(new FileSource(root));
  assert.deepEqual(
    items.map((i) => [i.name.slice(root.length), Buffer.from(i.bytes).toString()]),
    [
      ['/a.xml', 'A'],
      ['/b/c.xml.gz', 'C'],
    ],
  );
  assert.deepEqual((await all(new FileSource(join(root, 'a.xml')))).length, 1);
});

test('FileSource: a large file is delivered as its first bytes and a stream of all of it', async () => {
  const root = dir();
  writeFileSync(join(root, 'big.xml'), Buffer.alloc(200 * 1024, 0x61));
  const [item] = await all(new FileSource(root, 100 * 1024));
  assert.equal(item?.bytes.length, 64 * 1024);
  assert.equal(item?.problem, undefined);
  let total = 0;
  for await (const chunk of item?.stream?.() ?? []) total += chunk.length;
  assert.equal(total, 200 * 1024);
});

test('mbox: messages split on "From " lines, ">From " unquoted, chunk boundaries do not matter', async () => {
  const mbox =
    'From a@example Sat Nov 28 12:00:00 2026\nSubject: one\n\n>From the start\nbody\n\n' +
    'From b@example Sat Nov 28 12:00:01 2026\r\nSubject: two\r\n\r\nsecond\r\n';
  const expected = ['Subject: one\n\nFrom the start\nbody\n\n', 'Subject: two\r\n\r\nsecond\r\n'];
  for (const size of [1, 3, 7, 64, 4096]) {
    const chunks = [];
    for (let i = 0; i < mbox.length; i += size) chunks.push(Buffer.from(mbox.slice(i, i + size)));
    const messages = [];
    for await (const m of mboxMessages(Readable.from(chunks), 1024)) messages.push(m.bytes.toString());
    assert.deepEqual(messages, expected, `chunk size ${size}`);
  }
  const root = dir();
  writeFileSync(join(root, 'box.mbox'), mbox);
  const items = await all(new MboxSource(join(root, 'box.mbox')));
  assert.deepEqual(
    items.map((i) => i.name.replace(root, '')),
    ['mbox:/box.mbox#1', 'mbox:/box.mbox#2'],
  );
});

test('mbox: a message over the cap is kept as its start, flagged', async () => {
  const mbox = `From x\nSubject: big\n\n${'y'.repeat(5000)}\nFrom z\nSubject: small\n\n`;
  const messages = [];
  for await (const m of mboxMessages(Readable.from([Buffer.from(mbox)]), 1000)) messages.push(m);
  assert.deepEqual(
    messages.map((m) => m.truncated),
    [true, false],
  );
  assert.ok((messages[0]?.bytes.length ?? 0) <= 1000);
});

test('Maildir: new and cur are read; acknowledged messages move to cur with the S flag and are not read again', async () => {
  const root = dir();
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(root, sub));
  writeFileSync(join(root, 'new', '1000.a.host'), 'first');
  writeFileSync(join(root, 'cur', '1001.b.host:2,F'), 'second');
  writeFileSync(join(root, 'cur', '1002.c.host:2,S'), 'already seen');
  const source = new MaildirSource(root);
  const items = await all(source);
  assert.deepEqual(
    items.map((i) => Buffer.from(i.bytes).toString()),
    ['first', 'second'],
  );
  for (const item of items) await source.acknowledge(item, 'stored');
  assert.deepEqual(readdirSync(join(root, 'new')), []);
  assert.deepEqual(readdirSync(join(root, 'cur')).sort(), ['1000.a.host:2,S', '1001.b.host:2,FS', '1002.c.host:2,S']);
  assert.deepEqual(await all(new MaildirSource(root)), []);
});

test('a directory without cur/ given as maildir: is named as not a Maildir', async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const plain = await mkdtemp(join(tmpdir(), 'mailward-not-maildir-'));
  const source = new MaildirSource(plain);
  await assert.rejects(
    (async () => {
      for await (const item of source.items()) void item;
    })(),
    /is not a Maildir \(it has no cur\/ directory\); a plain directory is read without maildir:/,
  );
});
