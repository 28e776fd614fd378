// A small MTA-side milter client that speaks the protocol as Postfix does (src/milter/milter8.c):
// OPTNEG with Postfix's v6 offer, a MACRO packet before each event (sent even for events the
// milter asked to skip, as Postfix does), events skipped per the agreed SMFIP_NO* flags, replies
// awaited only where no SMFIP_NR_* flag says otherwise. For tests and benchmarks.
import { connect, type Socket } from 'node:net';
import { milter } from '@mailward/core';
import { parseListenAddress } from './listen-address.js';

const { Protocol } = milter;

export interface MilterClientOptions {
  offer?: milter.MilterOffer;
  timeoutMs?: number;
}

export interface ClientMessage {
  connect?: { hostname: string; family: 'inet4' | 'inet6' | 'unix' | 'unknown'; port?: number; address?: string };
  helo?: string;
  sender: string;
  senderArgs?: string[];
  recipients: string[];
  /** Raw header lines as in the message ("Subject: hi", folded with CRLF + WSP). */
  headers: string[];
  body: Uint8Array | string;
  /** Macros per event, as Postfix's milter_*_macros would send them. */
  macros?: Partial<Record<'connect' | 'helo' | 'mail' | 'rcpt' | 'data' | 'eoh' | 'eom', Array<[string, string]>>>;
}

export interface EventReplies {
  event: milter.MilterCommand['type'];
  replies: milter.MilterReply[];
}

const finalTypes = new Set(['accept', 'continue', 'reject', 'tempfail', 'discard', 'replyCode', 'skip']);

export class MilterClient {
  private readonly decoder = new milter.FrameDecoder();
  private readonly inbox: milter.MilterReply[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  agreement: milter.Agreement = { version: 0, actions: 0, protocol: 0, symbolLists: [] };
  /** SMFIR_PROGRESS packets received so far (they are not returned as replies). */
  progressReceived = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      const result = this.decoder.push(chunk);
      for (const frame of result.frames) {
        const reply = milter.decodeReply(frame);
        if (reply.ok) this.inbox.push(reply.reply);
        else this.failure ??= new Error(reply.error);
      }
      if (result.error) this.failure ??= new Error(result.error);
      this.wake();
    });
    socket.on('error', (error) => {
      this.failure ??= error;
      this.wake();
    });
    socket.on('close', () => {
      this.failure ??= new Error('the milter closed the connection');
      this.wake();
    });
  }

  static async connect(address: string, options: MilterClientOptions = {}): Promise<MilterClient> {
    const parsed = parseListenAddress(address);
    if (!parsed.ok) throw new Error(parsed.error);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s =
        parsed.address.kind === 'unix'
          ? connect(parsed.address.path)
          : connect(parsed.address.port, parsed.address.host);
      // As Postfix flushes an event's MACRO and command packets at once (milter8.c), so no
      // packet waits for the milter's delayed ACK of the one before (Nagle).
      s.once('connect', () => {
        if (parsed.address.kind !== 'unix') s.setNoDelay(true);
        resolve(s);
      });
      s.once('error', reject);
    });
    const client = new MilterClient(socket, options.timeoutMs ?? 10_000);
    const offer = options.offer ?? milter.POSTFIX_V6_OFFER;
    client.write({ type: 'optneg', ...offer });
    const reply = await client.next();
    if (reply.type !== 'optneg') throw new Error(`expected an OPTNEG reply, got ${reply.type}`);
    // Postfix refuses a higher version or actions it did not offer (milter8_connect).
    if (reply.version > offer.version) throw new Error(`milter version ${reply.version} above ${offer.version}`);
    if ((reply.actions & offer.actions) !== reply.actions)
      throw new Error(`milter requests actions 0x${reply.actions.toString(16)} not offered`);
    client.agreement = {
      version: reply.version,
      actions: reply.actions,
      protocol: reply.protocol,
      symbolLists: reply.symbolLists ?? [],
    };
    return client;
  }

  /** Writes raw bytes (for hostile tests). */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  write(command: milter.MilterCommand): void {
    this.socket.write(milter.encodeCommand(command));
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** The next reply, or a rejection on timeout or close. */
  async next(): Promise<milter.MilterReply> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const reply = this.inbox.shift();
      if (reply) return reply;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply from the milter within ${this.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private skips(type: milter.MilterCommand['type']): boolean {
    const flags: Partial<Record<milter.MilterCommand['type'], number>> = {
      connect: Protocol.NOCONNECT,
      helo: Protocol.NOHELO,
      mail: Protocol.NOMAIL,
      rcpt: Protocol.NORCPT,
      data: Protocol.NODATA,
      header: Protocol.NOHDRS,
      eoh: Protocol.NOEOH,
      body: Protocol.NOBODY,
      unknown: Protocol.NOUNKNOWN,
    };
    const flag = flags[type];
    return flag !== undefined && (this.agreement.protocol & flag) !== 0;
  }

  private awaitsReply(type: milter.MilterCommand['type']): boolean {
    return milter.commandAwaitsReply(type, this.agreement.protocol);
  }

  /** Sends one event (after its macros) and returns the replies it got: none, one, or EOM's edits plus the final one. */
  async event(command: milter.MilterCommand, macros?: Array<[string, string]>): Promise<EventReplies> {
    if (macros && macros.length > 0 && command.type !== 'macro') {
      const stage =
        command.type === 'quit' || command.type === 'abort' ? undefined : (command.type as milter.MacroCommand);
      if (stage) this.write({ type: 'macro', stage, macros });
    }
    if (this.skips(command.type)) return { event: command.type, replies: [] };
    this.write(command);
    if (!this.awaitsReply(command.type)) return { event: command.type, replies: [] };
    const replies: milter.MilterReply[] = [];
    for (;;) {
      const reply = await this.next();
      if (reply.type === 'progress') {
        this.progressReceived++;
        continue;
      }
      replies.push(reply);
      if (finalTypes.has(reply.type)) return { event: command.type, replies };
    }
  }

  /** One whole message, Postfix style. Stops at the first final decision other than continue. */
  async message(message: ClientMessage): Promise<EventReplies[]> {
    const out: EventReplies[] = [];
    const leadingSpace = (this.agreement.protocol & Protocol.HDR_LEADSPC) !== 0;
    const events: Array<[milter.MilterCommand, Array<[string, string]> | undefined]> = [];
    if (message.connect) events.push([{ type: 'connect', ...message.connect }, message.macros?.connect]);
    if (message.helo !== undefined) events.push([{ type: 'helo', hostname: message.helo }, message.macros?.helo]);
    events.push([{ type: 'mail', sender: message.sender, args: message.senderArgs ?? [] }, message.macros?.mail]);
    for (const rcpt of message.recipients)
      events.push([{ type: 'rcpt', recipient: rcpt, args: [] }, message.macros?.rcpt]);
    events.push([{ type: 'data' }, message.macros?.data]);
    for (const line of message.headers) events.push([headerEvent(line, leadingSpace), undefined]);
    events.push([{ type: 'eoh' }, message.macros?.eoh]);
    const body = typeof message.body === 'string' ? new TextEncoder().encode(message.body) : message.body;
    for (let at = 0; at < body.length; at += milter.MILTER_CHUNK_SIZE)
      events.push([{ type: 'body', chunk: body.subarray(at, at + milter.MILTER_CHUNK_SIZE) }, undefined]);
    events.push([{ type: 'eom', chunk: new Uint8Array(0) }, message.macros?.eom]);
    let skipBody = false;
    for (const [command, macros] of events) {
      if (skipBody && command.type === 'body') continue;
      const result = await this.event(command, macros);
      out.push(result);
      const last = result.replies.at(-1);
      if (last?.type === 'skip') skipBody = true;
      else if (last && last.type !== 'continue' && command.type !== 'rcpt') break;
    }
    return out;
  }

  async quit(): Promise<void> {
    this.write({ type: 'quit' });
    await new Promise<void>((resolve) => this.socket.end(resolve));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A raw header line as Postfix hands it to a milter (milter8.c milter8_header_event): the name
 * without the whitespace before the colon, the value with CRLF folding turned into LF, and,
 * without SMFIP_HDR_LEADSPC, without the one space after the colon.
 */
export function headerEvent(line: string, leadingSpace: boolean): milter.MilterCommand {
  const colon = line.indexOf(':');
  const name = (colon < 0 ? line : line.slice(0, colon)).replace(/[ \t]+$/, '');
  let value = colon < 0 ? '' : line.slice(colon + 1).replace(/\r\n/g, '\n');
  if (!leadingSpace && value.startsWith(' ')) value = value.slice(1);
  return { type: 'header', name, value, valueBytes: new TextEncoder().encode(value) };
}
