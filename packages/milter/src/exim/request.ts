/**
 * Decoder of the request Exim's `spam` ACL condition sends to an rspamd-variant server
 * (`spamd_address = HOST PORT variant=rspamd`). Pure: bytes in, a typed request out.
 *
 * Exim's side (src/src/spam.c, `spam()`): a header block
 *
 *   CHECK RSPAMC/1.3\r\n
 *   Content-length: N\r\n          (the size of the mbox file that follows)
 *   Queue-Id: <message id>\r\n
 *   From: <sender>\r\n             (envelope sender, <> for bounces)
 *   Recipient-Number: K\r\n
 *   Rcpt: <address>\r\n            (K times)
 *   Helo: / Hostname: / IP: / User: (only when set)
 *   \r\n
 *
 * then exactly N bytes: the spool turned into an mbox message by spool_mbox.c `spool_mbox()`:
 * a `From ` envelope line, `X-Envelope-From:` and `X-Envelope-To:` lines Exim made up, the header
 * lines, a blank line and the body, all with LF line ends (Exim's spool format). Exim sends no
 * half-close for this variant: the request ends where Content-length says, and the server answers
 * and closes the connection (Exim reads the reply up to EOF).
 *
 * The reader is incremental (a request may arrive split anywhere) and bounded: the header block,
 * each of its lines and the kept body have limits; a body over `maxMessageBytes` is counted and
 * dropped, not kept, so Exim can finish sending and get a "could not check" answer.
 */

export interface EximRequestLimits {
  /** The header block, request line included. */
  readonly maxHeaderBytes: number;
  /** Message bytes kept for checking; a larger message is drained and reported as too large. */
  readonly maxMessageBytes: number;
  /** A Content-length above this is refused outright (Exim would have to send all of it). */
  readonly maxContentLength: number;
}

export const DEFAULT_EXIM_REQUEST_LIMITS: EximRequestLimits = {
  // Exim sends one Rcpt line per recipient (recipients_max defaults to 50000 in Exim 4.96);
  // 1 MiB holds several thousand long addresses.
  maxHeaderBytes: 1024 * 1024,
  maxMessageBytes: 25 * 1024 * 1024,
  maxContentLength: 1024 * 1024 * 1024,
};

export interface EximRequest {
  /** RSPAMC protocol version, e.g. `1.3`. */
  readonly version: string;
  readonly queueId?: string;
  /** Envelope sender without angle brackets; "" for the null reverse-path. */
  readonly mailFrom: string;
  readonly recipients: readonly string[];
  readonly helo?: string;
  readonly hostname?: string;
  /** SMTP client address; absent for locally submitted mail. */
  readonly ip?: string;
  /** `$authenticated_id`: the client authenticated (submission). */
  readonly user?: string;
  /** Size Exim announced. */
  readonly contentLength: number;
  /**
   * The message (the mbox envelope lines removed, line ends CRLF as on the wire), or why it was
   * not kept.
   */
  readonly message:
    { readonly kept: true; readonly bytes: Uint8Array } | { readonly kept: false; readonly reason: string };
}

export type EximReadResult =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly request: EximRequest }
  | { readonly state: 'error'; readonly reason: string };

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** Reads one request from chunks as they arrive. One reader per connection. */
export class EximRequestReader {
  private readonly limits: EximRequestLimits;
  private head: Buffer[] = [];
  private headBytes = 0;
  /** The last bytes of the header so far, where a split CRLFCRLF may start. */
  private tail: Buffer = Buffer.alloc(0);
  private parsed: Omit<EximRequest, 'message'> | undefined;
  private body: Buffer[] = [];
  private bodyBytes = 0;
  private keepBody = true;
  private result: EximReadResult = { state: 'more' };

  constructor(limits: EximRequestLimits = DEFAULT_EXIM_REQUEST_LIMITS) {
    this.limits = limits;
  }

  /** Feeds bytes; once the result is `done` or `error`, further bytes are an error / ignored. */
  push(chunk: Uint8Array): EximReadResult {
    if (this.result.state === 'error') return this.result;
    if (this.result.state === 'done') {
      return chunk.length === 0
        ? this.result
        : this.fail('data after the end of the request (Content-length too small)');
    }
    let rest = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.parsed === undefined) {
      // Look for the blank line in the new bytes and the last 3 bytes before them (it may be split
      // across chunks). The chunks are joined only once, when it is found: joining on every push
      // would copy the whole block again for each byte a slow client sends.
      const seam = this.tail.length > 0 ? Buffer.concat([this.tail, rest]) : rest;
      const found = seam.indexOf(CRLF_CRLF);
      const end = found < 0 ? -1 : this.headBytes - this.tail.length + found;
      const total = this.headBytes + rest.length;
      if (end < 0) {
        if (total > this.limits.maxHeaderBytes) {
          return this.fail(`request header block longer than ${this.limits.maxHeaderBytes} bytes`);
        }
        this.head.push(Buffer.from(rest));
        this.headBytes = total;
        this.tail = Buffer.from(seam.subarray(Math.max(0, seam.length - 3)));
        return this.result;
      }
      if (end + 4 > this.limits.maxHeaderBytes) {
        return this.fail(`request header block longer than ${this.limits.maxHeaderBytes} bytes`);
      }
      const joined = Buffer.concat([...this.head, rest]);
      const header = parseHeaderBlock(joined.subarray(0, end).toString('latin1'), this.limits);
      if (!header.ok) return this.fail(header.reason);
      this.parsed = header.request;
      this.keepBody = header.request.contentLength <= this.limits.maxMessageBytes;
      this.head = [];
      this.headBytes = 0;
      this.tail = Buffer.alloc(0);
      rest = joined.subarray(end + 4);
    }
    return this.takeBody(rest);
  }

  /** The peer closed its side: a request still incomplete is an error. */
  end(): EximReadResult {
    if (this.result.state !== 'more') return this.result;
    if (this.parsed === undefined) {
      return this.fail(
        this.headBytes === 0 ? 'connection closed before a request' : 'connection closed inside the request header',
      );
    }
    return this.fail(`connection closed after ${this.bodyBytes} of ${this.parsed.contentLength} message bytes`);
  }

  private takeBody(bytes: Buffer): EximReadResult {
    const parsed = this.parsed!;
    const wanted = parsed.contentLength - this.bodyBytes;
    if (bytes.length > wanted) return this.fail('data after the end of the request (Content-length too small)');
    this.bodyBytes += bytes.length;
    if (this.keepBody && bytes.length > 0) this.body.push(Buffer.from(bytes));
    if (this.bodyBytes < parsed.contentLength) return this.result;
    const message: EximRequest['message'] = this.keepBody
      ? { kept: true, bytes: mboxToMessage(Buffer.concat(this.body)) }
      : {
          kept: false,
          reason: `message of ${parsed.contentLength} bytes is over the ${this.limits.maxMessageBytes}-byte limit`,
        };
    this.body = [];
    this.result = { state: 'done', request: { ...parsed, message } };
    return this.result;
  }

  private fail(reason: string): EximReadResult {
    this.head = [];
    this.body = [];
    this.result = { state: 'error', reason };
    return this.result;
  }
}

type HeaderParse = { ok: true; request: Omit<EximRequest, 'message'> } | { ok: false; reason: string };

function parseHeaderBlock(text: string, limits: EximRequestLimits): HeaderParse {
  const lines = text.split('\r\n');
  const command = /^CHECK RSPAMC\/(1\.\d+)$/.exec(lines[0] ?? '');
  if (command === null) {
    return { ok: false, reason: `request line ${JSON.stringify(clip(lines[0] ?? ''))} is not "CHECK RSPAMC/1.x"` };
  }
  let contentLength: number | undefined;
  let recipientNumber: number | undefined;
  const recipients: string[] = [];
  const single = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0)
      return { ok: false, reason: `request header line ${i + 1} has no "Name:": ${JSON.stringify(clip(line))}` };
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (hasControl(value)) return { ok: false, reason: `request header ${name} contains control characters` };
    switch (name) {
      case 'content-length':
        if (!/^\d{1,15}$/.test(value))
          return { ok: false, reason: `Content-length ${JSON.stringify(clip(value))} is not a number` };
        contentLength = Number(value);
        if (contentLength > limits.maxContentLength) {
          return {
            ok: false,
            reason: `Content-length ${contentLength} is over the ${limits.maxContentLength}-byte limit`,
          };
        }
        break;
      case 'recipient-number':
        if (!/^\d{1,9}$/.test(value))
          return { ok: false, reason: `Recipient-Number ${JSON.stringify(clip(value))} is not a number` };
        recipientNumber = Number(value);
        break;
      case 'rcpt':
        recipients.push(unbracket(value));
        break;
      case 'from':
      case 'queue-id':
      case 'helo':
      case 'hostname':
      case 'ip':
      case 'user':
        if (single.has(name)) return { ok: false, reason: `request header ${name} given twice` };
        single.set(name, value);
        break;
      default:
        // rspamc and other clients send more (Pass, Settings-Id, ...); they do not change the check.
        break;
    }
  }
  if (contentLength === undefined) return { ok: false, reason: 'request has no Content-length' };
  if (recipientNumber !== undefined && recipientNumber !== recipients.length) {
    return { ok: false, reason: `Recipient-Number ${recipientNumber} but ${recipients.length} Rcpt lines` };
  }
  const from = single.get('from');
  const request: Omit<EximRequest, 'message'> = {
    version: command[1]!,
    mailFrom: from === undefined ? '' : unbracket(from),
    recipients,
    contentLength,
    ...optional('queueId', single.get('queue-id')),
    ...optional('helo', single.get('helo')),
    ...optional('hostname', single.get('hostname')),
    ...optional('ip', single.get('ip')),
    ...optional('user', single.get('user')),
  };
  return { ok: true, request };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

function unbracket(value: string): string {
  return value.startsWith('<') && value.endsWith('>') ? value.slice(1, -1) : value;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * The mbox file of spool_mbox.c back to the message as it came over SMTP: drop the `From `
 * envelope line and the `X-Envelope-From:` / `X-Envelope-To:` lines Exim wrote right after it
 * (they were never part of the message), and turn LF line ends into CRLF (Exim's spool keeps
 * LF; DKIM's canonicalization works on the CRLF form, RFC 6376 §3.4). Exim does no `>From`
 * quoting here, so the body is otherwise unchanged.
 */
export function mboxToMessage(mbox: Uint8Array): Uint8Array {
  let start = 0;
  const skipLine = (prefix: string): boolean => {
    if (!startsWith(mbox, start, prefix)) return false;
    const lf = mbox.indexOf(LF, start);
    start = lf < 0 ? mbox.length : lf + 1;
    return true;
  };
  if (skipLine('From ')) {
    skipLine('X-Envelope-From: ');
    if (skipLine('X-Envelope-To: ')) {
      // ${recipients} is one line in Exim 4.96, but a later Exim may fold it: skip continuations.
      while (start < mbox.length && (mbox[start] === 0x20 || mbox[start] === 0x09))
        skipLine(String.fromCharCode(mbox[start]!));
    }
  }
  let lone = 0;
  for (let i = start; i < mbox.length; i++) if (mbox[i] === LF && (i === 0 || mbox[i - 1] !== CR)) lone++;
  const out = new Uint8Array(mbox.length - start + lone);
  let o = 0;
  for (let i = start; i < mbox.length; i++) {
    const byte = mbox[i]!;
    if (byte === LF && (i === 0 || mbox[i - 1] !== CR)) out[o++] = CR;
    out[o++] = byte;
  }
  return out;
}

function startsWith(bytes: Uint8Array, at: number, prefix: string): boolean {
  if (bytes.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix.charCodeAt(i)) return false;
  return true;
}
