/**
 * The request side of Postfix's policy delegation protocol (SMTPD_POLICY_README, "Protocol
 * description"): `name=value` lines ended by LF, one empty line ends a request, and a connection
 * carries many requests one after the other. Exim's `${readsocket}` sends the same text once and
 * half-closes its write side, so `finish()` also accepts a last request without its empty line.
 *
 * Incremental: bytes may arrive split anywhere (inside a line, inside a UTF-8 sequence). Bounded:
 * a line, a request's bytes and its attribute count each have a limit, so a client that never
 * sends a newline cannot make the server buffer without end. A bad line fails the decoder for
 * good; the server then logs the one-line error and closes that connection, as Postfix's own
 * policy servers do ("on trouble, log, send nothing and disconnect").
 */

export interface PolicyRequest {
  /** Attributes in the order sent; a repeated name keeps its last value. */
  readonly attributes: ReadonlyMap<string, string>;
}

export interface PolicyDecoderLimits {
  /** Longest line, without its LF. Postfix's longest attributes (ccert_subject, sasl_username) are far below. */
  readonly maxLineBytes: number;
  /** Attributes in one request. Postfix 3.7 sends about 30. */
  readonly maxAttributes: number;
  /** Bytes of one request, its lines and LFs. */
  readonly maxRequestBytes: number;
}

export const DEFAULT_POLICY_DECODER_LIMITS: PolicyDecoderLimits = {
  maxLineBytes: 4096,
  maxAttributes: 100,
  maxRequestBytes: 32_768,
};

export type PolicyDecodeResult =
  | { readonly ok: true; readonly requests: readonly PolicyRequest[] }
  /** Requests completed before the bad line are still returned: they may be answered. */
  | { readonly ok: false; readonly requests: readonly PolicyRequest[]; readonly error: string };

const LF = 0x0a;
const CR = 0x0d;
// Postfix attribute names are lower-case words with underscores (attr_print_plain.c prints them
// as given); anything outside this set is not a policy client talking.
const NAME = /^[A-Za-z0-9_.-]+$/;

export class PolicyRequestDecoder {
  private readonly limits: PolicyDecoderLimits;
  private readonly text = new TextDecoder('utf-8', { fatal: false });
  private partial: Uint8Array[] = [];
  private partialLength = 0;
  private attributes = new Map<string, string>();
  private requestBytes = 0;
  private lineNumber = 0;
  private failure: string | undefined;

  constructor(limits: Partial<PolicyDecoderLimits> = {}) {
    this.limits = { ...DEFAULT_POLICY_DECODER_LIMITS, ...limits };
  }

  /** Feeds bytes as they arrive; returns the requests they completed. */
  push(chunk: Uint8Array): PolicyDecodeResult {
    const requests: PolicyRequest[] = [];
    if (this.failure !== undefined) return { ok: false, requests, error: this.failure };
    let start = 0;
    while (start <= chunk.length) {
      const newline = chunk.indexOf(LF, start);
      const end = newline < 0 ? chunk.length : newline;
      if (this.partialLength + (end - start) > this.limits.maxLineBytes) {
        return this.fail(requests, `line ${this.lineNumber + 1} is longer than ${this.limits.maxLineBytes} bytes`);
      }
      if (newline < 0) {
        if (end > start) {
          // Copied: the caller may reuse its buffer.
          this.partial.push(chunk.slice(start, end));
          this.partialLength += end - start;
        }
        break;
      }
      const line = this.takeLine(chunk.subarray(start, end));
      start = newline + 1;
      const error = this.acceptLine(line, requests);
      if (error !== undefined) return this.fail(requests, error);
    }
    return { ok: true, requests };
  }

  /**
   * The client closed its side (Exim's readsocket does so after its request): a last line
   * without LF and a last request without its empty line are complete now.
   */
  finish(): PolicyDecodeResult {
    const requests: PolicyRequest[] = [];
    if (this.failure !== undefined) return { ok: false, requests, error: this.failure };
    if (this.partialLength > 0) {
      const error = this.acceptLine(this.takeLine(new Uint8Array(0)), requests);
      if (error !== undefined) return this.fail(requests, error);
    }
    if (this.attributes.size > 0) this.emit(requests);
    return { ok: true, requests };
  }

  /** A request has started but not ended (for the log when a connection drops). */
  get pending(): boolean {
    return this.attributes.size > 0 || this.partialLength > 0;
  }

  private takeLine(last: Uint8Array): Uint8Array {
    let line: Uint8Array;
    if (this.partial.length === 0) line = last;
    else {
      line = new Uint8Array(this.partialLength + last.length);
      let offset = 0;
      for (const piece of this.partial) {
        line.set(piece, offset);
        offset += piece.length;
      }
      line.set(last, offset);
      this.partial = [];
      this.partialLength = 0;
    }
    // Lines end in LF; a CR before it (a hand-typed or CRLF-speaking client) is not part of the value.
    return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
  }

  private acceptLine(bytes: Uint8Array, requests: PolicyRequest[]): string | undefined {
    this.lineNumber += 1;
    if (bytes.length === 0) {
      // An empty line ends a request; empty lines between requests (none has started) are ignored.
      if (this.attributes.size > 0) this.emit(requests);
      return undefined;
    }
    this.requestBytes += bytes.length + 1;
    if (this.requestBytes > this.limits.maxRequestBytes) {
      return `request is larger than ${this.limits.maxRequestBytes} bytes (at line ${this.lineNumber})`;
    }
    const line = this.text.decode(bytes);
    const equals = line.indexOf('=');
    const name = equals < 0 ? '' : line.slice(0, equals);
    if (!NAME.test(name)) {
      return `line ${this.lineNumber} ${quote(line)} is not name=value`;
    }
    if (!this.attributes.has(name) && this.attributes.size >= this.limits.maxAttributes) {
      return `request has more than ${this.limits.maxAttributes} attributes (at line ${this.lineNumber})`;
    }
    this.attributes.set(name, line.slice(equals + 1));
    return undefined;
  }

  private emit(requests: PolicyRequest[]): void {
    requests.push({ attributes: this.attributes });
    this.attributes = new Map();
    this.requestBytes = 0;
  }

  private fail(requests: PolicyRequest[], error: string): PolicyDecodeResult {
    this.failure = error;
    this.partial = [];
    this.partialLength = 0;
    this.attributes = new Map();
    return { ok: false, requests, error };
  }
}

/** A line shown in an error: JSON-quoted (control characters visible), at most 60 characters. */
function quote(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 57)}...` : line);
}
