/**
 * A minimal SMTP client for timing messages through Postfix: one connection, EHLO once, then
 * MAIL, RCPT, DATA per message, no pipelining (like smtp-source). `send` resolves with the time
 * from the end-of-data dot to Postfix's final reply, which is when Postfix has run every
 * smtpd_milter on the message (milters answer end of message before the 250 is sent). Written by
 * hand because the bench needs exactly this timing point and nothing else of an SMTP library.
 */
import { Buffer } from 'node:buffer';
import { connect, type Socket } from 'node:net';

export class SmtpTimingClient {
  private buffer = '';
  private waiting: ((reply: string) => void) | undefined;
  private failure: Error | undefined;
  private readonly replies: string[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      // A reply ends with a line whose code is followed by a space (RFC 5321 §4.2.1).
      for (;;) {
        const match = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(this.buffer);
        if (!match) break;
        const end = match.index + match[0].length;
        this.replies.push(this.buffer.slice(0, end).trim());
        this.buffer = this.buffer.slice(end);
      }
      this.deliver();
    });
    socket.on('error', (error) => {
      this.failure ??= error;
      this.deliver();
    });
    socket.on('close', () => {
      this.failure ??= new Error('Postfix closed the SMTP connection');
      this.deliver();
    });
  }

  private deliver(): void {
    const waiter = this.waiting;
    if (!waiter) return;
    const reply = this.replies.shift();
    if (reply !== undefined) {
      this.waiting = undefined;
      waiter(reply);
    } else if (this.failure) {
      this.waiting = undefined;
      waiter(`000 ${this.failure.message}`);
    }
  }

  private reply(): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deliver();
    });
  }

  private async command(line: string, expect: string): Promise<void> {
    this.socket.write(`${line}\r\n`);
    const reply = await this.reply();
    if (!reply.startsWith(expect)) throw new Error(`SMTP ${line.split(' ')[0]}: ${reply}`);
  }

  static async open(port: number, helo: string): Promise<SmtpTimingClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const client = new SmtpTimingClient(socket);
    const greeting = await client.reply();
    if (!greeting.startsWith('220')) throw new Error(`SMTP greeting: ${greeting}`);
    await client.command(`EHLO ${helo}`, '250');
    return client;
  }

  /** Sends one message; resolves with milliseconds from the final dot to the 250 reply. */
  async send(sender: string, recipient: string, message: Buffer): Promise<number> {
    await this.command(`MAIL FROM:<${sender}>`, '250');
    await this.command(`RCPT TO:<${recipient}>`, '250');
    await this.command('DATA', '354');
    // Dot-stuffing (RFC 5321 §4.5.2); bench messages end with CRLF.
    const text = message.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
    this.socket.write(Buffer.from(text, 'latin1'));
    const began = performance.now();
    this.socket.write('.\r\n');
    const reply = await this.reply();
    const took = performance.now() - began;
    if (!reply.startsWith('250')) throw new Error(`SMTP end of data: ${reply}`);
    return took;
  }

  async close(): Promise<void> {
    this.socket.end('QUIT\r\n');
    await new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
  }
}
