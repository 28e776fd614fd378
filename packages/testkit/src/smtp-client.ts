/**
 * A small SMTP client for tests that drive a real MTA: one message per session, optionally with
 * XCLIENT (Postfix XCLIENT_README: the client overrides client address, name, HELO and SASL
 * login; the server answers with a fresh 220 greeting and the client must EHLO again). It
 * returns the reply of every stage, so a test can assert on the end-of-data reply (250 queued as
 * ID, 550 5.7.1 ..., 451 ...). Written on node:net because no SMTP client in the tree gives the
 * raw reply of each stage or speaks XCLIENT (nodemailer hides both); SMTP is line-based and
 * small enough.
 */
import { connect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { LOOPBACK } from './ports.js';

export interface SmtpReply {
  readonly code: number;
  /** The reply's lines without the code and separator ("2.0.0 Ok: queued as ..."). */
  readonly lines: readonly string[];
  /** The lines joined with a space, as one line for assertions and messages. */
  readonly text: string;
}

/** XCLIENT attributes (XCLIENT_README): values are sent xtext-encoded (RFC 3461 section 4). */
export interface XclientAttributes {
  readonly ADDR?: string;
  readonly NAME?: string;
  readonly PORT?: string;
  readonly PROTO?: 'SMTP' | 'ESMTP';
  readonly HELO?: string;
  /** SASL login name: Postfix then treats the session as authenticated (needs smtpd_sasl_auth_enable). */
  readonly LOGIN?: string;
  readonly DESTADDR?: string;
  readonly DESTPORT?: string;
}

export interface SmtpSendOptions extends SmtpSessionOptions {
  readonly host?: string;
  readonly port: number;
  /** For the whole session, connecting included (default 30 s). */
  readonly timeoutMs?: number;
}

/** One message's session, whatever carries it (a socket, or Exim's stdin and stdout with -bs/-bh). */
export interface SmtpSessionOptions {
  /** EHLO name (default client.test). With XCLIENT HELO=, the EHLO after XCLIENT sends that one. */
  readonly ehlo?: string;
  readonly xclient?: XclientAttributes;
  /** Envelope sender without angle brackets ('' for the null sender). */
  readonly from: string;
  readonly to: readonly string[];
  /** The message, header and body, CRLF line ends. Dot-stuffed here; a final CRLF is added if missing. */
  readonly data: Uint8Array | string;
  /**
   * Called after the 354 to DATA, before the message is sent: the MTA has passed connect, HELO,
   * MAIL and RCPT to its milters by then, so a test can kill a milter mid-message here.
   */
  readonly beforeContent?: () => Promise<void>;
}

export type SmtpStage = 'greeting' | 'ehlo' | 'xclient' | 'ehlo-after-xclient' | 'mail' | 'rcpt' | 'data' | 'eod';

export interface SmtpStep {
  readonly stage: SmtpStage;
  /** The command line sent ('' for the greeting and end of data). */
  readonly command: string;
  readonly reply: SmtpReply;
}

export interface SmtpTranscript {
  readonly steps: readonly SmtpStep[];
  /** The end-of-data reply, when the session got that far. */
  readonly eod: SmtpReply | undefined;
  /** The reply that ended the session: the end-of-data reply or the first refusal. */
  readonly last: SmtpReply;
  /** The stage of `last`. */
  readonly lastStage: SmtpStage;
  /** Postfix's queue id from "250 2.0.0 Ok: queued as ID". */
  readonly queueId: string | undefined;
  /** True when the MTA closed the connection before QUIT was answered (e.g. after a 421). */
  readonly closedEarly: boolean;
}

/** Sends one message and returns the replies; stops at the first refusal (and sends QUIT). */
export async function sendSmtp(options: SmtpSendOptions): Promise<SmtpTranscript> {
  const host = options.host ?? LOOPBACK;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const opened = connect(options.port, host);
    opened.once('connect', () => resolve(opened));
    opened.once('error', (error) => reject(new Error(`SMTP connect to ${host}:${options.port}: ${error.message}`)));
  });
  return runSmtpSession(new SmtpConnection(socket, socket, () => socket.destroy(), deadline), options);
}

/**
 * The same session over any pair of streams: the server's output and its input. `close` ends
 * the transport afterwards (e.g. closes Exim's stdin). Times out at `deadline` (epoch ms).
 */
export function smtpSessionOverStreams(
  serverOutput: Readable,
  serverInput: Writable,
  close: () => void,
  deadline: number,
  options: SmtpSessionOptions & {
    /** Lines before the greeting that are skipped, e.g. Exim -bh's "**** SMTP testing session" banner. */
    readonly preamble?: RegExp;
  },
): Promise<SmtpTranscript> {
  return runSmtpSession(new SmtpConnection(serverOutput, serverInput, close, deadline, options.preamble), options);
}

async function runSmtpSession(connection: SmtpConnection, options: SmtpSessionOptions): Promise<SmtpTranscript> {
  const steps: SmtpStep[] = [];
  let closedEarly = false;
  const step = async (stage: SmtpStage, command: string, expect: number): Promise<boolean> => {
    const reply = command === '' ? await connection.reply() : await connection.command(command);
    steps.push({ stage, command, reply });
    return Math.floor(reply.code / 100) === Math.floor(expect / 100);
  };
  try {
    const ehlo = options.ehlo ?? 'client.test';
    let ok = (await step('greeting', '', 220)) && (await step('ehlo', `EHLO ${ehlo}`, 250));
    if (ok && options.xclient !== undefined) {
      ok =
        (await step('xclient', `XCLIENT ${xclientArguments(options.xclient)}`, 220)) &&
        // The EHLO after XCLIENT sets the HELO name again (XCLIENT_README), so repeat HELO= there.
        (await step('ehlo-after-xclient', `EHLO ${options.xclient.HELO ?? ehlo}`, 250));
    }
    if (ok) ok = await step('mail', `MAIL FROM:<${options.from}>`, 250);
    if (ok) {
      let accepted = 0;
      for (const rcpt of options.to) if (await step('rcpt', `RCPT TO:<${rcpt}>`, 250)) accepted += 1;
      ok = accepted > 0;
    }
    if (ok) ok = await step('data', 'DATA', 354);
    if (ok) {
      await options.beforeContent?.();
      connection.write(dotStuff(options.data));
      await step('eod', '', 250);
    }
    try {
      await connection.command('QUIT');
    } catch {
      closedEarly = true;
    }
  } catch (error) {
    if (!(error instanceof SmtpClosedError) || steps.length === 0) throw error;
    closedEarly = true;
  } finally {
    connection.close();
  }
  const lastStep = steps[steps.length - 1];
  if (lastStep === undefined) throw new Error('SMTP session ended before the greeting');
  const eod = steps.find((s) => s.stage === 'eod')?.reply;
  return {
    steps,
    eod,
    last: lastStep.reply,
    lastStage: lastStep.stage,
    queueId: eod === undefined ? undefined : /queued as ([0-9A-Za-z]+)/.exec(eod.text)?.[1],
    closedEarly,
  };
}

/** RFC 3461 section 4 xtext: "+" , "=" and characters outside "!".."~" become +HH. */
export function xtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte < 33 || byte > 126 || byte === 0x2b || byte === 0x3d
        ? `+${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

function xclientArguments(attributes: XclientAttributes): string {
  const parts = Object.entries(attributes)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([name, value]) => `${name}=${xtext(value)}`);
  if (parts.length === 0) throw new Error('XCLIENT needs at least one attribute');
  return parts.join(' ');
}

/** RFC 5321 section 4.5.2: a line that starts with "." gets one more; then CRLF "." CRLF. */
export function dotStuff(data: Uint8Array | string): Buffer {
  const text = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const latin = text.toString('latin1');
  const stuffed = (latin.startsWith('.') ? '.' : '') + latin.replace(/\r\n\./g, '\r\n..');
  const ended = stuffed.endsWith('\r\n') || stuffed.length === 0 ? stuffed : `${stuffed}\r\n`;
  return Buffer.from(`${ended}.\r\n`, 'latin1');
}

class SmtpClosedError extends Error {}

/** One socket, replies parsed line by line (RFC 5321 section 4.2: "ddd-" continues, "ddd " ends). */
class SmtpConnection {
  private buffer = '';
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private error: Error | undefined;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly closeTransport: () => void,
    private readonly deadline: number,
    private preamble?: RegExp,
  ) {
    input.setEncoding('latin1');
    input.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, end).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(end + 1);
      }
      this.wake?.();
    });
    const ended = () => {
      this.closed = true;
      this.wake?.();
    };
    input.on('end', ended);
    input.on('close', ended);
    input.on('error', (error) => {
      this.error = error;
    });
    // Writing to a peer that has gone (EPIPE) shows up as a closed connection on the read side.
    output.on('error', (error) => {
      this.error = error;
    });
  }

  write(bytes: Buffer): void {
    this.output.write(bytes);
  }

  async command(line: string): Promise<SmtpReply> {
    if (this.closed) throw new SmtpClosedError(`connection closed before ${line}`);
    this.output.write(`${line}\r\n`, 'latin1');
    return this.reply();
  }

  async reply(): Promise<SmtpReply> {
    const collected: string[] = [];
    for (;;) {
      const line = await this.nextLine();
      if (this.preamble !== undefined && collected.length === 0 && this.preamble.test(line)) continue;
      this.preamble = undefined;
      const match = /^(\d{3})([- ]?)(.*)$/.exec(line);
      if (match === null) throw new Error(`not an SMTP reply line: ${JSON.stringify(line)}`);
      collected.push(match[3] ?? '');
      if (match[2] !== '-') {
        const code = Number(match[1]);
        return { code, lines: collected, text: collected.join(' ') };
      }
    }
  }

  close(): void {
    this.closeTransport();
  }

  private async nextLine(): Promise<string> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.closed) throw new SmtpClosedError(`connection closed${this.error ? `: ${this.error.message}` : ''}`);
      const left = this.deadline - Date.now();
      if (left <= 0) throw new Error('SMTP server did not answer in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }
}
