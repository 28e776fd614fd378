/**
 * One MTA-side milter session over a chain of milters, as Postfix runs `smtpd_milters = A, B`:
 * each milter gets the whole message in turn, and the header edits of the earlier ones are applied
 * before the later ones see it (Postfix's cleanup server applies each milter's edits to the queue
 * file before it sends the message to the next: cleanup_milter.c, milters.c milter_message). That
 * is how OpenDMARC reads the Authentication-Results OpenDKIM just added.
 *
 * A session is one SMTP connection: CONNECT and HELO once, then any number of messages. Every
 * message's result says what the MTA would do and what the delivered message would be.
 */
import { Buffer } from 'node:buffer';
import { milter } from '@mailward/core';
import { MilterClient } from '@mailward/adapters';

export interface SessionSpec {
  /** milter addresses in order, e.g. inet:127.0.0.1:8891. */
  readonly chain: readonly string[];
  /** `{daemon_name}` as the smtpd's milter_macro_daemon_name sets it (ORIGINATING or MTA). */
  readonly daemonName: string;
  readonly helo: string;
  readonly clientAddress: string;
}

export interface MessageSpec {
  readonly sender: string;
  readonly recipient: string;
  readonly bytes: Buffer;
}

export type Outcome =
  | { readonly action: 'accept'; readonly delivered: Buffer }
  | { readonly action: 'reject' | 'tempfail' | 'discard'; readonly by: string; readonly reply?: string };

interface Split {
  headers: string[];
  body: Buffer;
}

/** Header lines (each with its CRLF folding, without the final CRLF) and the body. */
export function splitHeaderLines(bytes: Buffer): Split {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('bench message has no header/body separator');
  const block = bytes.subarray(0, end).toString('latin1');
  const headers: string[] = [];
  for (const line of block.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && headers.length > 0) {
      headers[headers.length - 1] += `\r\n${line}`;
    } else headers.push(line);
  }
  return { headers, body: bytes.subarray(end + 4) };
}

function nameOf(line: string): string {
  const colon = line.indexOf(':');
  return (colon < 0 ? line : line.slice(0, colon)).trim().toLowerCase();
}

/** A milter's header value (LF folding, leading space only with SMFIP_HDR_LEADSPC) as a line. */
function headerLine(name: string, value: string, leadingSpace: boolean): string {
  const folded = value.replace(/\r?\n/g, '\r\n');
  return leadingSpace ? `${name}:${folded}` : `${name}: ${folded}`;
}

/** Applies one milter's EOM edits (SMFIR_ADDHEADER, INSHEADER, CHGHEADER) to the header lines. */
function applyEdits(headers: string[], replies: readonly milter.MilterReply[], leadingSpace: boolean): void {
  for (const reply of replies) {
    if (reply.type === 'addHeader') headers.push(headerLine(reply.name, reply.value, leadingSpace));
    else if (reply.type === 'insertHeader') {
      // smfi_insheader: index 0 is before the first field; past the end appends.
      const at = Math.min(Math.max(reply.index, 0), headers.length);
      headers.splice(at, 0, headerLine(reply.name, reply.value, leadingSpace));
    } else if (reply.type === 'changeHeader') {
      // smfi_chgheader: the index-th (1-based) field of that name; an empty value deletes it.
      let seen = 0;
      const wanted = reply.name.toLowerCase();
      const at = headers.findIndex((line) => nameOf(line) === wanted && ++seen === reply.index);
      if (at < 0) {
        if (reply.value !== '') headers.push(headerLine(reply.name, reply.value, leadingSpace));
      } else if (reply.value === '') headers.splice(at, 1);
      else headers[at] = headerLine(reply.name, reply.value, leadingSpace);
    }
  }
}

export class ChainSession {
  private helloSent = false;

  private constructor(
    private readonly spec: SessionSpec,
    private readonly clients: MilterClient[],
  ) {}

  static async open(spec: SessionSpec): Promise<ChainSession> {
    const clients: MilterClient[] = [];
    try {
      for (const address of spec.chain) {
        const client = await MilterClient.connect(address, { timeoutMs: 30_000 });
        clients.push(client);
      }
    } catch (error) {
      for (const client of clients) client.destroy();
      throw error;
    }
    return new ChainSession(spec, clients);
  }

  async message(message: MessageSpec): Promise<Outcome> {
    const split = splitHeaderLines(message.bytes);
    const headers = split.headers;
    const first = !this.helloSent;
    this.helloSent = true;
    const daemon: [string, string] = ['{daemon_name}', this.spec.daemonName];
    for (let index = 0; index < this.clients.length; index++) {
      const client = this.clients[index] as MilterClient;
      const name = this.spec.chain[index] ?? '';
      const results = await client.message({
        ...(first
          ? {
              connect: { hostname: 'localhost', family: 'inet4', port: 40000, address: this.spec.clientAddress },
              helo: this.spec.helo,
            }
          : {}),
        sender: `<${message.sender}>`,
        recipients: [`<${message.recipient}>`],
        headers: [...headers],
        body: split.body,
        // Postfix's default milter_*_macros, trimmed to what these milters read.
        macros: {
          connect: [['j', 'mx.receiver.test'], daemon, ['{daemon_addr}', '127.0.0.1'], ['_', 'localhost [127.0.0.1]']],
          helo: [],
          mail: [
            ['i', 'BENCH0001'],
            ['{mail_addr}', message.sender],
          ],
          rcpt: [['{rcpt_addr}', message.recipient]],
          eoh: [['i', 'BENCH0001'], daemon],
          eom: [['i', 'BENCH0001'], daemon],
        },
      });
      const last = results.at(-1);
      const final = last?.replies.at(-1);
      // An ACCEPT before end of message means "no more events for this milter, no edits" (Postfix
      // then skips it for the rest of the transaction): the next milter still runs.
      if (last?.event !== 'eom' && final?.type === 'accept') continue;
      if (last?.event !== 'eom' || final === undefined) {
        const type = final?.type ?? 'nothing';
        const reply = final?.type === 'replyCode' ? final.reply : undefined;
        return outcome(type, name, reply, last?.event ?? 'session');
      }
      if (final.type !== 'accept' && final.type !== 'continue')
        return outcome(final.type, name, final.type === 'replyCode' ? final.reply : undefined, 'eom');
      applyEdits(headers, last.replies, (client.agreement.protocol & milter.Protocol.HDR_LEADSPC) !== 0);
    }
    const delivered = Buffer.concat([Buffer.from(`${headers.join('\r\n')}\r\n\r\n`, 'latin1'), split.body]);
    return { action: 'accept', delivered };
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.quit().catch(() => client.destroy())));
  }
}

function outcome(type: string, by: string, reply: string | undefined, event: string): Outcome {
  const temporary = type === 'tempfail' || (type === 'replyCode' && reply?.startsWith('4') === true);
  const action = temporary ? 'tempfail' : type === 'discard' ? 'discard' : 'reject';
  const code = reply ?? (type === 'replyCode' ? '' : type);
  return { action, by: `${by} at ${event}`, ...(code ? { reply: code } : {}) };
}
