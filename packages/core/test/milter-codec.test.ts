// Byte fixtures for every command an MTA sends and every reply mailward sends. The expected bytes
// are written by hand from the layouts in Sendmail's libmilter (mfdef.h, engine.c, smfi.c) and
// Postfix's src/milter/milter8.c: 4-byte big-endian length (command byte + data), command, data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { milter } from '../src/index.js';

const { decodeCommand, encodeCommand, encodeReply, decodeReply, FrameDecoder, smtpReply } = milter;

/** Bytes from a readable notation: numbers are bytes, strings are their ASCII bytes. */
function bytes(...parts: Array<number | string>): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else for (const ch of part) out.push(ch.charCodeAt(0));
  }
  return Uint8Array.from(out);
}

function decodeOne(packet: Uint8Array): milter.MilterCommand {
  const result = new FrameDecoder().push(packet);
  assert.equal(result.error, undefined);
  assert.equal(result.frames.length, 1);
  const decoded = decodeCommand(result.frames[0]!);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
  return decoded.command;
}

const commandFixtures: Array<[string, Uint8Array, milter.MilterCommand]> = [
  // Postfix milter8_connect: version 6, actions 0x1FF, protocol 0x1FFFFF.
  [
    'OPTNEG',
    bytes(0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff),
    { type: 'optneg', version: 6, actions: 0x1ff, protocol: 0x1fffff },
  ],
  // milter8_event: SMFIC_MACRO, the event's command octet, then name/value strings.
  [
    'MACRO for CONNECT',
    bytes(0, 0, 0, 30, 'D', 'C', 'j', 0, 'mx.example', 0, '{daemon_name}', 0, 0),
    {
      type: 'macro',
      stage: 'connect',
      macros: [
        ['j', 'mx.example'],
        ['{daemon_name}', ''],
      ],
    },
  ],
  [
    'MACRO for MAIL',
    bytes(0, 0, 0, 10, 'D', 'M', 'i', 0, '4Xq1Z', 0),
    { type: 'macro', stage: 'mail', macros: [['i', '4Xq1Z']] },
  ],
  // milter8_conn_event, AF_INET: name, '4', port (network short), address.
  [
    'CONNECT inet4',
    bytes(0, 0, 0, 31, 'C', 'mail.example.org', 0, '4', 0x30, 0x39, '192.0.2.1', 0),
    { type: 'connect', hostname: 'mail.example.org', family: 'inet4', port: 12345, address: '192.0.2.1' },
  ],
  [
    'CONNECT inet6, unknown name in brackets',
    bytes(0, 0, 0, 30, 'C', '[2001:db8::1]', 0, '6', 0, 25, '2001:db8::1', 0),
    { type: 'connect', hostname: '[2001:db8::1]', family: 'inet6', port: 25, address: '2001:db8::1' },
  ],
  [
    'CONNECT unix',
    bytes(0, 0, 0, 17, 'C', 'localhost', 0, 'L', 0, 0, '/s', 0),
    { type: 'connect', hostname: 'localhost', family: 'unix', port: 0, address: '/s' },
  ],
  [
    'CONNECT unknown family',
    bytes(0, 0, 0, 10, 'C', 'unknown', 0, 'U'),
    { type: 'connect', hostname: 'unknown', family: 'unknown' },
  ],
  ['HELO', bytes(0, 0, 0, 13, 'H', 'client.test', 0), { type: 'helo', hostname: 'client.test' }],
  [
    'MAIL with ESMTP args',
    bytes(0, 0, 0, 41, 'M', '<a@example.org>', 0, 'SIZE=1000', 0, 'BODY=8BITMIME', 0),
    { type: 'mail', sender: '<a@example.org>', args: ['SIZE=1000', 'BODY=8BITMIME'] },
  ],
  ['MAIL null sender', bytes(0, 0, 0, 4, 'M', '<>', 0), { type: 'mail', sender: '<>', args: [] }],
  [
    'RCPT with ORCPT',
    bytes(0, 0, 0, 30, 'R', '<b@example.net>', 0, 'NOTIFY=NEVER', 0),
    { type: 'rcpt', recipient: '<b@example.net>', args: ['NOTIFY=NEVER'] },
  ],
  ['DATA', bytes(0, 0, 0, 1, 'T'), { type: 'data' }],
  // With SMFIP_HDR_LEADSPC the value keeps its leading space; folding is a bare LF.
  [
    'HEADER folded, leading space kept',
    bytes(0, 0, 0, 17, 'L', 'Subject', 0, ' a\n\tb c', 0),
    { type: 'header', name: 'Subject', value: ' a\n\tb c', valueBytes: bytes(' a\n\tb c') },
  ],
  ['EOH', bytes(0, 0, 0, 1, 'N'), { type: 'eoh' }],
  ['BODY', bytes(0, 0, 0, 7, 'B', 'hi\r\n\0x'), { type: 'body', chunk: bytes('hi\r\n\0x') }],
  ['BODYEOB empty', bytes(0, 0, 0, 1, 'E'), { type: 'eom', chunk: new Uint8Array(0) }],
  ['BODYEOB with a last chunk (Sendmail)', bytes(0, 0, 0, 3, 'E', 'z\n'), { type: 'eom', chunk: bytes('z\n') }],
  ['ABORT', bytes(0, 0, 0, 1, 'A'), { type: 'abort' }],
  ['QUIT', bytes(0, 0, 0, 1, 'Q'), { type: 'quit' }],
  ['QUIT_NC', bytes(0, 0, 0, 1, 'K'), { type: 'quitNewConnection' }],
  ['UNKNOWN', bytes(0, 0, 0, 7, 'U', 'XYZZY', 0), { type: 'unknown', command: 'XYZZY' }],
];

for (const [name, packet, expected] of commandFixtures) {
  test(`command fixture: ${name} decodes, and encodes back to the same bytes`, () => {
    assert.equal(
      new DataView(packet.buffer, packet.byteOffset).getUint32(0),
      packet.length - 4,
      'fixture length field',
    );
    assert.deepEqual(decodeOne(packet), expected);
    assert.deepEqual(encodeCommand(expected), packet);
  });
}

const replyFixtures: Array<[string, milter.MilterReply, Uint8Array]> = [
  ['ACCEPT', { type: 'accept' }, bytes(0, 0, 0, 1, 'a')],
  ['CONTINUE', { type: 'continue' }, bytes(0, 0, 0, 1, 'c')],
  ['REJECT', { type: 'reject' }, bytes(0, 0, 0, 1, 'r')],
  ['TEMPFAIL', { type: 'tempfail' }, bytes(0, 0, 0, 1, 't')],
  ['DISCARD', { type: 'discard' }, bytes(0, 0, 0, 1, 'd')],
  ['SKIP', { type: 'skip' }, bytes(0, 0, 0, 1, 's')],
  ['PROGRESS', { type: 'progress' }, bytes(0, 0, 0, 1, 'p')],
  ['REPLYCODE', { type: 'replyCode', reply: '550 5.7.1 no' }, bytes(0, 0, 0, 14, 'y', '550 5.7.1 no', 0)],
  ['ADDHEADER', { type: 'addHeader', name: 'X-A', value: 'b' }, bytes(0, 0, 0, 7, 'h', 'X-A', 0, 'b', 0)],
  // INSHEADER and CHGHEADER: uint32 index, name, value (smfi.c smfi_header).
  [
    'INSHEADER at 0',
    { type: 'insertHeader', index: 0, name: 'A-R', value: 'x' },
    bytes(0, 0, 0, 11, 'i', 0, 0, 0, 0, 'A-R', 0, 'x', 0),
  ],
  [
    'CHGHEADER index 2',
    { type: 'changeHeader', index: 2, name: 'A-R', value: 'y' },
    bytes(0, 0, 0, 11, 'm', 0, 0, 0, 2, 'A-R', 0, 'y', 0),
  ],
  [
    'CHGHEADER delete',
    { type: 'changeHeader', index: 1, name: 'A-R', value: '' },
    bytes(0, 0, 0, 10, 'm', 0, 0, 0, 1, 'A-R', 0, 0),
  ],
  ['QUARANTINE', { type: 'quarantine', reason: 'dmarc' }, bytes(0, 0, 0, 7, 'q', 'dmarc', 0)],
  // OPTNEG reply: version, actions, protocol; with SETSYMLIST, {uint32 stage, "names\0"} pairs.
  [
    'OPTNEG',
    { type: 'optneg', version: 6, actions: 0x21, protocol: 0x1ff0c0 },
    bytes(0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0, 0x21, 0, 0x1f, 0xf0, 0xc0),
  ],
  [
    'OPTNEG with SETSYMLIST',
    {
      type: 'optneg',
      version: 6,
      actions: 0x121,
      protocol: 0x80,
      symbolLists: [
        { stage: 'envfrom', macros: ['i', '{auth_authen}'] },
        { stage: 'eom', macros: ['i'] },
      ],
    },
    bytes(
      0,
      0,
      0,
      39,
      'O',
      0,
      0,
      0,
      6,
      0,
      0,
      1,
      0x21,
      0,
      0,
      0,
      0x80,
      0,
      0,
      0,
      2,
      'i {auth_authen}',
      0,
      0,
      0,
      0,
      5,
      'i',
      0,
    ),
  ],
];

for (const [name, reply, packet] of replyFixtures) {
  test(`reply fixture: ${name} encodes to the expected bytes and decodes back`, () => {
    assert.equal(
      new DataView(packet.buffer, packet.byteOffset).getUint32(0),
      packet.length - 4,
      'fixture length field',
    );
    assert.deepEqual(encodeReply(reply), packet);
    const frame = new FrameDecoder().push(packet).frames[0]!;
    const decoded = decodeReply(frame);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
    const expected = reply.type === 'optneg' ? { symbolLists: [], ...reply } : reply;
    assert.deepEqual(decoded.reply, expected);
  });
}

test('REPLYCODE: code, enhanced status and text are validated as libmilter smfi_setreply does', () => {
  const ok = smtpReply('550', '5.7.1', 'Policy says 100% no');
  assert.ok(ok.ok);
  assert.equal(ok.reply.reply, '550 5.7.1 Policy says 100%% no', '% doubled, Postfix turns %% back into %');
  assert.deepEqual(encodeReply(ok.reply), bytes(0, 0, 0, 32, 'y', '550 5.7.1 Policy says 100%% no', 0));
  const noEnhanced = smtpReply('451', undefined, 'later');
  assert.ok(noEnhanced.ok);
  assert.equal(noEnhanced.reply.reply, '451 later');
  const multi = smtpReply('550', undefined, ['one', 'two']);
  assert.ok(multi.ok);
  assert.equal(multi.reply.reply, '550-5.0.0 one\r\n550 5.0.0 two', 'smfi_setmlreply fills in 5.0.0');
  const refusals: Array<[string, string | undefined, string | string[], RegExp]> = [
    ['250', undefined, 'ok', /not 4xx or 5xx/],
    ['55', undefined, 'x', /not 4xx or 5xx/],
    ['550', '4.7.1', 'x', /does not match/],
    ['550', '5.7', 'x', /RFC 3463/],
    ['550', '5.7.1', 'a\r\nb', /CR, LF or NUL/],
    ['550', '5.7.1', 'a\nb', /CR, LF or NUL/],
    ['550', '5.7.1', 'x'.repeat(981), /over 980/],
    ['550', '5.7.1', Array(33).fill('x'), /over 32/],
  ];
  for (const [code, enhanced, text, error] of refusals) {
    const result = smtpReply(code, enhanced, text);
    assert.equal(result.ok, false, `${code} ${enhanced} ${String(text).slice(0, 20)}`);
    assert.match((result as { error: string }).error, error);
  }
});

test('header edits are refused when they would corrupt the header block', () => {
  assert.throws(() => encodeReply({ type: 'addHeader', name: 'Bad Name', value: 'x' }), /not printable ASCII/);
  assert.throws(() => encodeReply({ type: 'addHeader', name: 'X', value: 'a\r\nb' }), /NUL or CR/);
  assert.throws(() => encodeReply({ type: 'addHeader', name: 'X', value: 'a\nb' }), /not folding/);
  assert.throws(() => encodeReply({ type: 'insertHeader', index: -1, name: 'X', value: 'a' }), /index/);
  assert.throws(() => encodeReply({ type: 'quarantine', reason: '' }), /quarantine reason/);
  assert.deepEqual(
    encodeReply({ type: 'addHeader', name: 'X', value: 'a\n\tb' }),
    bytes(0, 0, 0, 8, 'h', 'X', 0, 'a\n\tb', 0),
  );
});

test('malformed commands are refused with a line that names the command and the problem', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [bytes(0, 0, 0, 5, 'O', 0, 0, 0, 6), /optneg \('O'\).*12 bytes/],
    [bytes(0, 0, 0, 4, 'D', 'C', 'j', 0), /not name\/value pairs/],
    [bytes(0, 0, 0, 3, 'D', 'Z', 0), /macros for unknown command 'Z'/],
    [bytes(0, 0, 0, 4, 'D', 'C', 'j', 'x'), /not NUL-terminated/],
    [bytes(0, 0, 0, 3, 'C', 'h', 0), /no address family/],
    [bytes(0, 0, 0, 4, 'C', 'h', 0, 'X'), /family 'X'/],
    [bytes(0, 0, 0, 5, 'C', 'h', 0, '4', 0), /port and a NUL-terminated address/],
    [bytes(0, 0, 0, 3, 'H', 'a', 'b'), /one NUL-terminated host name/],
    [bytes(0, 0, 0, 1, 'M'), /address, then ESMTP/],
    [bytes(0, 0, 0, 4, 'L', 'S', 0, 'v'), /name and value/],
    [bytes(0, 0, 0, 3, 'L', 0, 0), /empty header name/],
    [bytes(0, 0, 0, 2, 'N', 'x'), /expected no data/],
    [bytes(0, 0, 0, 1, 'z'), /unknown command 'z' is not a milter command/],
  ];
  for (const [packet, error] of cases) {
    const frame = new FrameDecoder().push(packet).frames[0]!;
    const decoded = decodeCommand(frame);
    assert.equal(decoded.ok, false, `${String.fromCharCode(packet[4]!)} should be refused`);
    assert.match((decoded as { error: string }).error, error);
  }
});
