// The session state machine, fed decoded commands directly (no socket).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { milter } from '../src/index.js';

const { MilterSession, POSTFIX_V6_OFFER, Action, Protocol, ALL_NO_REPLY, FrameDecoder, decodeReply, smtpReply } =
  milter;
type Cmd = milter.MilterCommand;

const text = (s: string) => new TextEncoder().encode(s);

function repliesOf(step: milter.SessionStep): milter.MilterReply[] {
  const decoder = new FrameDecoder();
  return step.replies.flatMap((bytes) =>
    decoder.push(bytes).frames.map((frame) => {
      const decoded = decodeReply(frame);
      assert.ok(decoded.ok);
      return decoded.reply;
    }),
  );
}

const baseWants: milter.MilterWants = {
  requiredActions: Action.ADDHDRS,
  optionalActions: Action.CHGHDRS | Action.QUARANTINE,
  protocol: 0,
};

async function feed(
  session: milter.MilterSession,
  commands: Cmd[],
): Promise<Array<{ command: Cmd['type']; replies: milter.MilterReply[]; error?: string; close: boolean }>> {
  const out = [];
  for (const command of commands) {
    const step = await session.receive(command);
    out.push({
      command: command.type,
      replies: repliesOf(step),
      close: step.close,
      ...(step.error ? { error: step.error } : {}),
    });
  }
  return out;
}

const optneg: Cmd = { type: 'optneg', ...POSTFIX_V6_OFFER };
const envelope: Cmd[] = [
  {
    type: 'macro',
    stage: 'connect',
    macros: [
      ['j', 'mx.test'],
      ['{daemon_name}', 'ORIGINATING'],
    ],
  },
  { type: 'connect', hostname: 'c.test', family: 'inet4', port: 4000, address: '192.0.2.9' },
  { type: 'helo', hostname: 'c.test' },
  { type: 'macro', stage: 'mail', macros: [['{auth_authen}', 'alice']] },
  { type: 'mail', sender: '<a@b.test>', args: [] },
  { type: 'rcpt', recipient: '<c@d.test>', args: [] },
  { type: 'data' },
];
const content: Cmd[] = [
  { type: 'header', name: 'From', value: ' a@b.test', valueBytes: text(' a@b.test') },
  { type: 'eoh' },
  { type: 'body', chunk: text('hello\r\n') },
  { type: 'eom', chunk: new Uint8Array(0) },
];

test('without no-reply flags every event gets CONTINUE; EOM gets the edits then the decision', async () => {
  const seen: string[] = [];
  const handler: milter.MilterHandler = {
    async header(name, value, _bytes, ctx) {
      seen.push(
        `${name}:${value} auth=${ctx.macro('auth_authen') ?? ctx.macro('{auth_authen}')} j=${ctx.macro('{j}')}`,
      );
      return { type: 'continue' };
    },
    async eom() {
      return {
        edits: [{ type: 'insertHeader', index: 0, name: 'Authentication-Results', value: 'mx.test; none' }],
        decision: { type: 'accept' },
      };
    },
  };
  const session = new MilterSession(handler, baseWants);
  const steps = await feed(session, [optneg, ...envelope, ...content]);
  assert.equal(steps[0]!.replies[0]!.type, 'optneg');
  const continues = steps.slice(1).filter((s) => s.command !== 'macro' && s.command !== 'eom');
  assert.ok(
    continues.every((s) => s.replies.length === 1 && s.replies[0]!.type === 'continue'),
    JSON.stringify(continues),
  );
  assert.ok(
    steps.filter((s) => s.command === 'macro').every((s) => s.replies.length === 0),
    'MACRO takes no reply',
  );
  assert.deepEqual(steps.at(-1)!.replies, [
    { type: 'insertHeader', index: 0, name: 'Authentication-Results', value: 'mx.test; none' },
    { type: 'accept' },
  ]);
  assert.deepEqual(seen, ['From: a@b.test auth=alice j=mx.test']);
  assert.equal(session.stage, 'helo', 'back to the connection level for the next message');
});

test('with every no-reply flag a whole message costs one reply, at EOM', async () => {
  const session = new MilterSession({}, { ...baseWants, protocol: ALL_NO_REPLY });
  const steps = await feed(session, [optneg, ...envelope, ...content]);
  const replied = steps.slice(1).filter((s) => s.replies.length > 0);
  assert.deepEqual(
    replied.map((s) => s.command),
    ['eom'],
  );
  assert.equal(session.expectsReply('header'), false);
  assert.equal(session.expectsReply('eom'), true);
});

test('a decision at a no-reply stage is kept and answers the next reply the MTA awaits', async () => {
  const rejected = smtpReply('550', '5.7.1', 'not you');
  assert.ok(rejected.ok);
  const session = new MilterSession(
    { mail: async () => rejected.reply, eom: async () => assert.fail('eom handler must not run') },
    { ...baseWants, protocol: ALL_NO_REPLY },
  );
  const steps = await feed(session, [optneg, ...envelope, ...content]);
  assert.deepEqual(steps.at(-1)!.replies, [{ type: 'replyCode', reply: '550 5.7.1 not you' }]);
});

test('SKIP is sent once the handler needs no more body, only when negotiated; later chunks are not passed on', async () => {
  let chunks = 0;
  const handler: milter.MilterHandler = {
    async body() {
      chunks++;
      return { type: 'skip' };
    },
  };
  const body: Cmd[] = [
    content[0]!,
    content[1]!,
    { type: 'body', chunk: text('1') },
    { type: 'body', chunk: text('2') },
    content[3]!,
  ];
  const withSkip = await feed(new MilterSession(handler, { ...baseWants, protocol: Protocol.SKIP }), [
    optneg,
    ...envelope,
    ...body,
  ]);
  assert.deepEqual(
    withSkip.filter((s) => s.command === 'body').map((s) => s.replies[0]!.type),
    ['skip', 'continue'],
  );
  assert.equal(chunks, 1);
  chunks = 0;
  const noSkip = await feed(new MilterSession(handler, baseWants), [optneg, ...envelope, ...body]);
  assert.deepEqual(
    noSkip.filter((s) => s.command === 'body').map((s) => s.replies[0]!.type),
    ['continue', 'continue'],
    'no SMFIR_SKIP without SMFIP_SKIP',
  );
  assert.equal(chunks, 1);
});

test('order errors end the session with one line: BODY before EOH, RCPT before MAIL, anything before OPTNEG, a second OPTNEG', async () => {
  const cases: Array<[Cmd[], RegExp]> = [
    [
      [optneg, ...envelope, content[0]!, { type: 'body', chunk: text('x') }],
      /protocol error: body is out of order in stage header/,
    ],
    [[optneg, envelope[1]!, { type: 'rcpt', recipient: '<x@y>', args: [] }], /rcpt is out of order in stage connect/],
    [[envelope[1]!], /connect before OPTNEG/],
    [[optneg, optneg], /a second OPTNEG/],
    [[optneg, ...envelope, ...content.slice(0, 2), content[0]!], /header is out of order in stage eoh/],
    [[optneg, { type: 'mail', sender: '<a@b>', args: [] }], /mail is out of order in stage negotiated/],
  ];
  for (const [commands, error] of cases) {
    const steps = await feed(new MilterSession({}, baseWants), commands);
    const last = steps.at(-1)!;
    assert.match(last.error ?? '', error);
    assert.equal(last.close, true);
    assert.doesNotMatch(last.error ?? '', /\n/);
  }
});

test('steps negotiated away may be passed over: NOEOH lets BODY follow HEADER', async () => {
  const session = new MilterSession({}, { ...baseWants, protocol: Protocol.NOEOH });
  const steps = await feed(session, [optneg, ...envelope, content[0]!, content[2]!, content[3]!]);
  assert.ok(steps.every((s) => !s.error));
});

test('ABORT returns to the connection state, keeping CONNECT and HELO data; a second message works', async () => {
  const mails: string[] = [];
  let aborts = 0;
  const handler: milter.MilterHandler = {
    async mail(sender, _args, ctx) {
      mails.push(`${sender} from ${ctx.connect?.address} helo ${ctx.helo} auth ${ctx.macro('{auth_authen}')}`);
      return { type: 'continue' };
    },
    async abort() {
      aborts++;
    },
  };
  const session = new MilterSession(handler, baseWants);
  const steps = await feed(session, [
    optneg,
    ...envelope,
    content[0]!,
    { type: 'abort' },
    { type: 'mail', sender: '<second@b.test>', args: [] },
    { type: 'rcpt', recipient: '<c@d.test>', args: [] },
    { type: 'data' },
    ...content,
    { type: 'quit' },
  ]);
  assert.ok(
    steps.every((s) => !s.error),
    JSON.stringify(steps.filter((s) => s.error)),
  );
  assert.equal(aborts, 1);
  assert.deepEqual(mails, [
    '<a@b.test> from 192.0.2.9 helo c.test auth alice',
    '<second@b.test> from 192.0.2.9 helo c.test auth undefined',
  ]);
  assert.equal(steps.at(-1)!.close, true);
});

test('a recipient rejected at RCPT leaves the message going; a reject at MAIL ends it', async () => {
  const session = new MilterSession(
    { rcpt: async (r) => (r === '<bad@d.test>' ? { type: 'reject' } : { type: 'continue' }) },
    baseWants,
  );
  const steps = await feed(session, [
    optneg,
    ...envelope.slice(0, 5),
    { type: 'rcpt', recipient: '<bad@d.test>', args: [] },
    { type: 'rcpt', recipient: '<good@d.test>', args: [] },
    { type: 'data' },
    ...content,
  ]);
  assert.ok(steps.every((s) => !s.error));
  assert.deepEqual(
    steps.filter((s) => s.command === 'rcpt').map((s) => s.replies[0]!.type),
    ['reject', 'continue'],
  );
  const mailReject = new MilterSession({ mail: async () => ({ type: 'tempfail' }) }, baseWants);
  const after = await feed(mailReject, [
    optneg,
    ...envelope.slice(0, 5),
    { type: 'mail', sender: '<again@b.test>', args: [] },
  ]);
  assert.deepEqual(after.at(-2)!.replies, [{ type: 'tempfail' }]);
  assert.equal(after.at(-1)!.error, undefined, 'a new MAIL may follow a rejected one');
});

test('handler problems: a throw or an edit not negotiated gives TEMPFAIL and a line; the session goes on', async () => {
  const session = new MilterSession(
    {
      async helo() {
        throw new Error('boom');
      },
      async eom() {
        return { edits: [{ type: 'quarantine', reason: 'x' }], decision: { type: 'accept' } };
      },
    },
    { requiredActions: Action.ADDHDRS, protocol: 0 },
  );
  const steps = await feed(session, [optneg, ...envelope, ...content]);
  const helo = steps.find((s) => s.command === 'helo')!;
  assert.deepEqual(helo.replies, [{ type: 'tempfail' }]);
  assert.match(helo.error ?? '', /handler failed at helo: boom/);
  const eom = steps.at(-1)!;
  assert.deepEqual(eom.replies, [{ type: 'tempfail' }]);
  assert.match(eom.error ?? '', /quarantine needs SMFIF_QUARANTINE, not negotiated/);
  assert.equal(eom.close, false);
});

test('a refused negotiation closes with the reason; QUIT_NC keeps the agreement for the next connection', async () => {
  const refused = await feed(new MilterSession({}, baseWants), [
    { type: 'optneg', version: 6, actions: 0, protocol: 0 },
  ]);
  assert.equal(refused[0]!.close, true);
  assert.match(refused[0]!.error ?? '', /negotiation refused: the MTA does not allow SMFIF_ADDHDRS/);
  const session = new MilterSession({}, baseWants);
  const steps = await feed(session, [
    optneg,
    ...envelope.slice(0, 3),
    { type: 'quitNewConnection' },
    envelope[1]!,
    envelope[2]!,
  ]);
  assert.ok(steps.every((s) => !s.error));
  assert.equal(session.stage, 'helo');
});

test('read timeouts per stage are exposed for the adapter', async () => {
  const session = new MilterSession({}, baseWants, { negotiateMs: 1, commandMs: 2, packetMs: 3 });
  assert.equal(session.readTimeoutMs(false), 1);
  assert.equal(session.readTimeoutMs(true), 3);
  await session.receive(optneg);
  assert.equal(session.readTimeoutMs(false), 2);
});

test('over the header limit the message is refused with 552 5.3.4, the handler sees no more headers, the next message works', async () => {
  let headers = 0;
  const session = new MilterSession(
    {
      async header() {
        headers++;
        return { type: 'continue' };
      },
    },
    { ...baseWants, protocol: ALL_NO_REPLY },
    undefined,
    { maxHeaders: 3, maxHeaderBytes: 1 << 20 },
  );
  const many: Cmd[] = Array.from({ length: 10 }, (_, i) => ({
    type: 'header',
    name: `X-${i}`,
    value: ' v',
    valueBytes: text(' v'),
  }));
  const steps = await feed(session, [
    optneg,
    ...envelope,
    ...many,
    content[1]!,
    content[2]!,
    content[3]!,
    ...envelope.slice(3),
    ...content,
  ]);
  assert.equal(headers, 3 + 1, 'three of the first message, one of the second');
  const eoms = steps.filter((s) => s.command === 'eom');
  assert.deepEqual(eoms[0]!.replies, [{ type: 'replyCode', reply: '552 5.3.4 Message has more than 3 header fields' }]);
  assert.deepEqual(eoms[1]!.replies, [{ type: 'continue' }]);
  assert.ok(steps.every((s) => !s.error));
});

test('steps the milter does not need (SMFIP_NOCONNECT, NOHELO) are agreed, and MAIL may then come first', async () => {
  const session = new MilterSession({}, { ...baseWants, protocol: Protocol.NOCONNECT | Protocol.NOHELO });
  const steps = await feed(session, [optneg, ...envelope.slice(3), ...content]);
  assert.ok(
    steps.every((s) => !s.error),
    JSON.stringify(steps.filter((s) => s.error)),
  );
  assert.equal(session.agreement!.protocol, Protocol.NOCONNECT | Protocol.NOHELO);
  const strict = await feed(new MilterSession({}, baseWants), [optneg, envelope[4]!]);
  assert.match(
    strict.at(-1)!.error ?? '',
    /mail is out of order in stage negotiated/,
    'without NOCONNECT, CONNECT must come first',
  );
});
