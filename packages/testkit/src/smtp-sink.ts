/**
 * An SMTP server on a free loopback port that keeps every message it receives (raw bytes as the
 * client sent them after dot-unstuffing, and the envelope), for tests where a real MTA (Postfix)
 * relays mail to it. Built on smtp-server, the SMTP server library already in the tree.
 */
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { LOOPBACK } from './ports.js';

export interface SinkMessage {
  /** The message as delivered: header and body bytes, CRLF line ends, no final dot. */
  readonly raw: Buffer;
  /** MAIL FROM address without angle brackets ('' for the null sender). */
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  /** The name the delivering client gave in EHLO/HELO. */
  readonly helo: string;
  readonly remoteAddress: string;
}

export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  /** Every message received so far, in order of arrival. */
  readonly messages: readonly SinkMessage[];
  /**
   * The next message not yet taken by an earlier call (in arrival order), waiting up to
   * timeoutMs (default 10 s) for it to arrive.
   */
  next(timeoutMs?: number): Promise<SinkMessage>;
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Largest message accepted (default 50 MB); a bigger one is refused at end of data. */
  readonly maxBytes?: number;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const maxBytes = options.maxBytes ?? 50 * 1024 * 1024;
  const messages: SinkMessage[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    banner: 'mailward test sink',
    size: maxBytes,
    logger: false,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('message too large for the test sink'), { responseCode: 552 }));
          return;
        }
        messages.push({
          raw: Buffer.concat(chunks),
          mailFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          helo: session.hostNameAppearsAs,
          remoteAddress: session.remoteAddress,
        });
        for (const wake of waiters.splice(0)) wake();
        callback();
      });
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.server.address();
      if (address === null || typeof address === 'string') reject(new Error('SMTP sink has no port'));
      else resolve(address.port);
    });
  });
  // An error on one client connection must not end the test process.
  server.on('error', () => undefined);

  return {
    host: LOOPBACK,
    port,
    messages,
    async next(timeoutMs = 10_000): Promise<SinkMessage> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length <= taken) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no message reached the SMTP sink within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const message = messages[taken];
      taken += 1;
      if (message === undefined) throw new Error('SMTP sink lost a message');
      return message;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
