/**
 * Streaming DKIM body canonicalization, RFC 6376 §3.4.3 (simple) and §3.4.4 (relaxed).
 *
 * A byte-level state machine whose state is carried across chunks (a CR that may start a CRLF,
 * a pending WSP run, a count of pending line breaks), so the output does not depend on where the
 * input is split. Cost is linear in the input whatever its shape: pending empty lines are a
 * counter, a WSP run is a flag, and output is copied into bounded batch buffers.
 *
 * Input is expected in network-normal form (CRLF line breaks, RFC 6376 §3.4 NOTE): a line break is
 * CRLF only. A bare CR or bare LF is an ordinary content octet; splitMessage() converts bare LF
 * before the body gets here.
 */
import type { DkimCanonicalization } from './signature.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

export type BodySink = (bytes: Uint8Array) => void;

/** Output batch size: large enough to amortize sink calls, small enough to bound memory. */
const BATCH_BYTES = 64 * 1024;

/**
 * Collects output bytes and hands them to the sink in views of at most BATCH_BYTES. A view is
 * never written again after it is handed over (a full buffer is replaced, not reused), so a sink
 * may keep it.
 */
class OutputBatch {
  private buffer = new Uint8Array(BATCH_BYTES);
  private start = 0;
  private end = 0;

  constructor(private readonly sink: BodySink) {}

  byte(value: number): void {
    if (this.end === BATCH_BYTES) this.renew();
    this.buffer[this.end++] = value;
  }

  bytes(source: Uint8Array, from: number, to: number): void {
    while (from < to) {
      if (this.end === BATCH_BYTES) this.renew();
      const count = Math.min(to - from, BATCH_BYTES - this.end);
      this.buffer.set(source.subarray(from, from + count), this.end);
      this.end += count;
      from += count;
    }
  }

  flush(): void {
    if (this.end > this.start) {
      this.sink(this.buffer.subarray(this.start, this.end));
      this.start = this.end;
    }
  }

  private renew(): void {
    this.flush();
    this.buffer = new Uint8Array(BATCH_BYTES);
    this.start = 0;
    this.end = 0;
  }
}

export class BodyCanonicalizer {
  private readonly relaxed: boolean;
  private readonly out: OutputBatch;
  /** The last octet seen was a CR: a line break if the next one is LF, else content. */
  private pendingCr = false;
  /** Line breaks not yet written: written only once content follows, so trailing empty lines
   * (§3.4.3, §3.4.4 b) never are. A count, not buffers: a million empty lines cost one number. */
  private pendingLineBreaks = 0;
  /** Relaxed: a WSP run seen since the last content octet; one SP if content follows on the
   * same line, nothing if the line ends (§3.4.4 a). */
  private pendingWsp = false;
  /** Some content octet has been written (relaxed: the body is non-empty, §3.4.4 b). */
  private wroteContent = false;
  private finished = false;

  constructor(mode: DkimCanonicalization, sink: BodySink) {
    this.relaxed = mode === 'relaxed';
    this.out = new OutputBatch(sink);
  }

  push(chunk: Uint8Array): void {
    if (this.finished) throw new Error('BodyCanonicalizer: push() after finish()');
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const c = chunk[i]!;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === LF) {
          this.lineBreak();
          i++;
          continue;
        }
        this.content();
        this.out.byte(CR);
      }
      if (c === CR) {
        this.pendingCr = true;
        i++;
      } else if (this.relaxed && (c === SP || c === HTAB)) {
        this.pendingWsp = true;
        i++;
      } else {
        const runEnd = this.relaxed ? relaxedRunEnd(chunk, i) : simpleRunEnd(chunk, i);
        this.content();
        this.out.bytes(chunk, i, runEnd);
        i = runEnd;
      }
    }
    this.out.flush();
  }

  finish(): void {
    if (this.finished) throw new Error('BodyCanonicalizer: finish() called twice');
    this.finished = true;
    if (this.pendingCr) {
      // A CR as the very last octet is content, not half a line break.
      this.content();
      this.out.byte(CR);
    }
    // Pending line breaks are the trailing empty lines: dropped. Pending WSP ends the last line:
    // dropped (relaxed). Then one CRLF ends the body, except that a relaxed empty body stays
    // empty (§3.4.4 b, and its null-input hash values); a simple empty body is CRLF (§3.4.3).
    if (!this.relaxed || this.wroteContent) {
      this.out.byte(CR);
      this.out.byte(LF);
    }
    this.out.flush();
  }

  /** Before a content octet: the line breaks and the WSP run in front of it become real. */
  private content(): void {
    for (; this.pendingLineBreaks > 0; this.pendingLineBreaks--) {
      this.out.byte(CR);
      this.out.byte(LF);
    }
    if (this.pendingWsp) {
      this.out.byte(SP);
      this.pendingWsp = false;
    }
    this.wroteContent = true;
  }

  private lineBreak(): void {
    this.pendingWsp = false; // WSP at the end of a line is ignored (§3.4.4 a)
    this.pendingLineBreaks++;
  }
}

/** End of a run of octets that simple canonicalization copies as they are: up to the next CR. */
function simpleRunEnd(chunk: Uint8Array, from: number): number {
  const cr = chunk.indexOf(CR, from);
  return cr < 0 ? chunk.length : cr;
}

/** End of a run of octets that relaxed canonicalization copies as they are: up to CR or WSP. */
function relaxedRunEnd(chunk: Uint8Array, from: number): number {
  let i = from + 1;
  while (i < chunk.length) {
    const c = chunk[i];
    if (c === CR || c === SP || c === HTAB) break;
    i++;
  }
  return i;
}
