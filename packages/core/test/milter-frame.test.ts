// The incremental decoder: any split of a stream gives the same packets, lengths are limited
// before anything is buffered, and random command sequences survive encode then decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { milter } from '../src/index.js';

const { FrameDecoder, encodeCommand, decodeCommand } = milter;

function decodeAll(decoder: milter.FrameDecoder, chunks: Uint8Array[]): milter.MilterCommand[] {
  const out: milter.MilterCommand[] = [];
  for (const chunk of chunks) {
    const result = decoder.push(chunk);
    assert.equal(result.error, undefined);
    for (const frame of result.frames) {
      const decoded = decodeCommand(frame);
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
      out.push(decoded.command);
    }
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);
const session: milter.MilterCommand[] = [
  { type: 'optneg', version: 6, actions: 0x1ff, protocol: 0x1fffff },
  {
    type: 'macro',
    stage: 'connect',
    macros: [
      ['j', 'mx'],
      ['{daemon_name}', 'smtpd'],
    ],
  },
  { type: 'connect', hostname: 'c.test', family: 'inet6', port: 587, address: '2001:db8::2' },
  { type: 'helo', hostname: 'c.test' },
  { type: 'mail', sender: '<a@b.test>', args: ['SIZE=10'] },
  { type: 'rcpt', recipient: '<c@d.test>', args: [] },
  { type: 'data' },
  { type: 'header', name: 'From', value: ' a@b.test', valueBytes: text(' a@b.test') },
  { type: 'eoh' },
  { type: 'body', chunk: text('line\r\n') },
  { type: 'eom', chunk: new Uint8Array(0) },
  { type: 'quit' },
];

test('a stream split at every offset into two parts, and byte by byte, decodes the same', () => {
  const stream = Buffer.concat(session.map(encodeCommand));
  for (let cut = 0; cut <= stream.length; cut++) {
    const got = decodeAll(new FrameDecoder(), [stream.subarray(0, cut), stream.subarray(cut)]);
    assert.deepEqual(got, session, `cut at ${cut}`);
  }
  const byByte = decodeAll(
    new FrameDecoder(),
    [...stream].map((b) => Uint8Array.of(b)),
  );
  assert.deepEqual(byByte, session);
});

test('a length over the limit fails as soon as the length is read, without buffering the data', () => {
  const decoder = new FrameDecoder(1000);
  const header = Uint8Array.of(0x06, 0x40, 0x00, 0x00); // 100 MiB
  const result = decoder.push(header);
  assert.match(result.error ?? '', /packet at byte 0 announces 104857600 bytes, over the limit of 1000/);
  assert.match(decoder.push(Uint8Array.of(1, 2, 3)).error ?? '', /over the limit/, 'stays failed');
  const http = new FrameDecoder().push(text('GET / HTTP/1.1\r\n'));
  assert.match(http.error ?? '', /1195725856 bytes.*"GET ": not a milter client\?/);
  assert.match(new FrameDecoder().push(Uint8Array.of(0, 0, 0, 0)).error ?? '', /length 0/);
});

test('a packet exactly at the limit is accepted; midPacket tells a started packet', () => {
  const decoder = new FrameDecoder(6);
  assert.equal(decoder.midPacket, false);
  assert.equal(decoder.push(Uint8Array.of(0, 0)).frames.length, 0);
  assert.equal(decoder.midPacket, true);
  const result = decoder.push(Uint8Array.of(0, 6, 0x42, 1, 2, 3, 4, 5));
  assert.equal(result.error, undefined);
  assert.deepEqual([...result.frames[0]!.data], [1, 2, 3, 4, 5]);
  assert.equal(decoder.midPacket, false);
});

// A small seeded generator so a failure can be replayed.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomCommand(next: () => number): milter.MilterCommand {
  const word = (max = 12) =>
    Array.from({ length: Math.floor(next() * max) + 1 }, () =>
      String.fromCharCode(0x21 + Math.floor(next() * 90)),
    ).join('');
  const blob = () => Uint8Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256));
  const kinds = [
    'optneg',
    'macro',
    'connect',
    'helo',
    'mail',
    'rcpt',
    'data',
    'header',
    'eoh',
    'body',
    'eom',
    'abort',
    'quit',
    'quitNewConnection',
    'unknown',
  ] as const;
  const kind = kinds[Math.floor(next() * kinds.length)]!;
  switch (kind) {
    case 'optneg':
      return {
        type: kind,
        version: Math.floor(next() * 2 ** 32),
        actions: Math.floor(next() * 512),
        protocol: Math.floor(next() * 2 ** 21),
      };
    case 'macro': {
      const stages = ['connect', 'helo', 'mail', 'rcpt', 'data', 'eoh', 'eom'] as const;
      return {
        type: kind,
        stage: stages[Math.floor(next() * stages.length)]!,
        macros: Array.from(
          { length: Math.floor(next() * 4) },
          () => [word(), next() < 0.2 ? '' : word(40)] as [string, string],
        ),
      };
    }
    case 'connect': {
      const families = ['inet4', 'inet6', 'unix', 'unknown'] as const;
      const family = families[Math.floor(next() * 4)]!;
      return family === 'unknown'
        ? { type: kind, hostname: word(), family }
        : { type: kind, hostname: word(), family, port: Math.floor(next() * 65536), address: word(39) };
    }
    case 'helo':
      return { type: kind, hostname: word() };
    case 'mail':
      return { type: kind, sender: `<${word()}>`, args: Array.from({ length: Math.floor(next() * 3) }, () => word()) };
    case 'rcpt':
      return {
        type: kind,
        recipient: `<${word()}>`,
        args: Array.from({ length: Math.floor(next() * 3) }, () => word()),
      };
    case 'header': {
      const value = ` ${word(60)}`;
      return { type: kind, name: word(), value, valueBytes: text(value) };
    }
    case 'body':
    case 'eom':
      return { type: kind, chunk: blob() };
    case 'unknown':
      return { type: kind, command: word(30) };
    default:
      return { type: kind };
  }
}

test('property: 300 random command sequences, encoded and cut at random places, decode to themselves', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const next = random(seed);
    const commands = Array.from({ length: Math.floor(next() * 30) + 1 }, () => randomCommand(next));
    const stream = Buffer.concat(commands.map(encodeCommand));
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.length;) {
      const size = Math.floor(next() * 40) + 1;
      chunks.push(stream.subarray(at, at + size));
      at += size;
    }
    assert.deepEqual(decodeAll(new FrameDecoder(), chunks), commands, `seed ${seed}`);
  }
});

test('property: random garbage never throws; it decodes, or fails with one line', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const next = random(seed * 7919);
    const garbage = Uint8Array.from({ length: Math.floor(next() * 200) }, () => Math.floor(next() * 256));
    // Small lengths so that some random packets complete.
    for (let i = 0; i + 3 < garbage.length; i += 17) garbage.set([0, 0, 0, Math.floor(next() * 12)], i);
    const result = new FrameDecoder(4096).push(garbage);
    for (const frame of result.frames) {
      const decoded = decodeCommand(frame);
      if (!decoded.ok) assert.doesNotMatch(decoded.error, /\n/);
    }
    if (result.error) assert.doesNotMatch(result.error, /\n/);
  }
});
