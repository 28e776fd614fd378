/**
 * Streaming DKIM body canonicalization, RFC 6376 §3.4.3 (simple) and §3.4.4 (relaxed).
 *
 * A state machine whose state is carried across chunks (a CR that may start a CRLF, a pending WSP
 * run, a count of pending line breaks), so the output does not depend on where the input is split.
 * Cost is linear in the input whatever its shape: pending empty lines are a counter, a WSP run is a
 * flag, and output is copied into bounded batch buffers.
 *
 * Two paths, same state machine:
 * - a stretch with no WSP (all of a simple body; base64 and other WSP-free content in a relaxed
 *   one, found with native indexOf scans) is handed to the sink as views of the input, in pieces
 *   of at most BATCH_BYTES: only the CRLFs at its two ends need looking at;
 * - elsewhere (prose) a byte loop copies into the batch buffer, turning WSP runs into one SP and
 *   dropping WSP at line ends.
 *
 * Input is expected in network-normal form (CRLF line breaks, RFC 6376 §3.4 NOTE): a line break is
 * CRLF only. A bare CR or bare LF is an ordinary content octet; splitMessage() converts bare LF
 * before the body gets here.
 */
import { Buffer } from 'node:buffer';
import type { DkimCanonicalization } from './signature.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

export type BodySink = (bytes: Uint8Array) => void;

export interface BodyCanonicalizerOptions {
  /**
   * The sink is done with each view when it returns (a hash's update(), say) and keeps none.
   * Batches are then written into one scratch buffer shared by all such canonicalizers instead of
   * a fresh 64 KiB buffer per message: for a small message that allocation (and the garbage it
   * leaves) cost more than canonicalizing it. Safe because every push() and finish() hands its
   * whole batch over before returning, and JavaScript runs one of them at a time.
   */
  readonly transientSink?: boolean;
}

/** Output batch size, and the largest view handed to the sink. */
const BATCH_BYTES = 64 * 1024;
/** A WSP-free stretch at least this long goes to the sink as a view; shorter ones are copied. */
const VIEW_MIN = 512;
/** Relaxed: the byte loop runs this far before the next indexOf scan for a long WSP-free stretch. */
const LOOP_SPAN = 4096;

/** The batch buffer of every canonicalizer with a transient sink (see BodyCanonicalizerOptions). */
let sharedScratch: Buffer | undefined;

export class BodyCanonicalizer {
  private readonly relaxed: boolean;
  private readonly sink: BodySink;
  /**
   * Output batch: [start, end) is written and not yet handed over. A view handed to the sink is
   * never written again (a full buffer is replaced, not reused), so a sink may keep it. Allocated
   * on first use; uninitialized memory is never handed out (only written ranges are).
   */
  private buffer: Buffer | undefined;
  private start = 0;
  private end = 0;
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
  private readonly transientSink: boolean;

  constructor(mode: DkimCanonicalization, sink: BodySink, options: BodyCanonicalizerOptions = {}) {
    this.relaxed = mode === 'relaxed';
    this.sink = sink;
    this.transientSink = options.transientSink === true;
  }

  push(chunk: Uint8Array): void {
    if (this.finished) throw new Error('BodyCanonicalizer: push() after finish()');
    this.claimScratch();
    const n = chunk.length;
    let i = 0;
    if (this.pendingCr && n > 0) {
      this.pendingCr = false;
      if (chunk[0] === LF) {
        this.lineBreak();
        i = 1;
      } else {
        this.content();
        this.byte(CR);
      }
    }
    if (!this.relaxed) {
      if (i < n) this.plainStretch(chunk, i, n);
    } else {
      // Positions of the next SP and HTAB at or after i (n when there is none), rescanned once passed.
      let nextSp = -1;
      let nextTab = -1;
      while (i < n) {
        if (nextSp < i) nextSp = indexOrEnd(chunk, SP, i);
        if (nextTab < i) nextTab = indexOrEnd(chunk, HTAB, i);
        const wsp = Math.min(nextSp, nextTab);
        if (wsp - i >= VIEW_MIN) {
          this.plainStretch(chunk, i, wsp);
          i = wsp;
        } else {
          i = this.relaxedLoop(chunk, i, Math.min(n, i + LOOP_SPAN));
        }
      }
    }
    this.flush();
  }

  finish(): void {
    if (this.finished) throw new Error('BodyCanonicalizer: finish() called twice');
    this.finished = true;
    this.claimScratch();
    if (this.pendingCr) {
      // A CR as the very last octet is content, not half a line break.
      this.content();
      this.byte(CR);
    }
    // Pending line breaks are the trailing empty lines: dropped. Pending WSP ends the last line:
    // dropped (relaxed). Then one CRLF ends the body, except that a relaxed empty body stays
    // empty (§3.4.4 b, and its null-input hash values); a simple empty body is CRLF (§3.4.3).
    if (!this.relaxed || this.wroteContent) {
      this.byte(CR);
      this.byte(LF);
    }
    this.flush();
  }

  /**
   * chunk[from, to) as content with no WSP to reduce (all of it in simple mode; relaxed calls it
   * only for stretches without SP or HTAB). Every CRLF in it is a line break and every other octet
   * content, so only the ends need care: CRLFs at the start become pending line breaks, CRLFs at
   * the end stay pending (they may be trailing empty lines), and a CR as the chunk's last octet
   * waits for the next chunk. The rest is written as it is.
   */
  private plainStretch(chunk: Uint8Array, from: number, to: number): void {
    let p = from;
    while (p + 1 < to && chunk[p] === CR && chunk[p + 1] === LF) {
      this.lineBreak();
      p += 2;
    }
    let e = to;
    let trailingCr = false;
    if (e === chunk.length && e > p && chunk[e - 1] === CR) {
      trailingCr = true;
      e--;
    }
    let trailingBreaks = 0;
    while (e - 2 >= p && chunk[e - 2] === CR && chunk[e - 1] === LF) {
      trailingBreaks++;
      e -= 2;
    }
    if (e > p) {
      this.content();
      if (e - p >= VIEW_MIN) this.view(chunk, p, e);
      else this.bytes(chunk, p, e);
    }
    // No content after them in this stretch: the line breaks wait (pendingWsp is already false).
    if (trailingBreaks > 0) {
      this.pendingWsp = false;
      this.pendingLineBreaks += trailingBreaks;
    }
    if (trailingCr) this.pendingCr = true;
  }

  /**
   * Relaxed byte loop over chunk[i, limit): content octets are copied straight into the batch,
   * WSP runs and line breaks become pending state. May stop one octet past `limit` (a CRLF that
   * straddles it). Returns the position reached.
   */
  private relaxedLoop(chunk: Uint8Array, from: number, limit: number): number {
    const n = chunk.length;
    let i = from;
    // Room for one output octet per input octet, plus one for a SP carried in from before: a WSP
    // run writes at most one SP and a line break one CRLF, each paid for by its own octets.
    // State carried in (line breaks, or nothing written yet) goes through content(), after which
    // room is reserved again.
    let buffer = this.reserve(limit - i + 1);
    let end = this.end;
    let wsp = this.pendingWsp;
    /** Line breaks seen in this loop and not yet written. */
    let breaks = 0;
    let slow = this.pendingLineBreaks > 0 || !this.wroteContent;
    while (i < limit) {
      const c = chunk[i]!;
      if (c === CR) {
        if (i + 1 >= n) {
          // Last octet of the chunk: the next chunk says whether it is a line break.
          this.pendingCr = true;
          i++;
          continue;
        }
        if (chunk[i + 1] === LF) {
          wsp = false; // WSP at the end of a line is ignored (§3.4.4 a)
          breaks++;
          i += 2;
          continue;
        }
        // A bare CR: content, below.
      } else if (c === SP || c === HTAB) {
        wsp = true;
        i++;
        continue;
      }
      // A content octet: first what is pending in front of it.
      if (slow) {
        this.pendingWsp = wsp;
        this.pendingLineBreaks += breaks;
        this.end = end;
        this.content();
        buffer = this.reserve(limit - i + 1);
        end = this.end;
        slow = false;
        wsp = false;
        breaks = 0;
      } else {
        for (; breaks > 0; breaks--) {
          buffer[end++] = CR;
          buffer[end++] = LF;
        }
        if (wsp) {
          buffer[end++] = SP;
          wsp = false;
        }
      }
      buffer[end++] = c;
      i++;
      // The rest of the run of content octets.
      while (i < limit) {
        const d = chunk[i]!;
        if (d <= SP && (d === SP || d === HTAB || d === CR)) break;
        buffer[end++] = d;
        i++;
      }
    }
    this.pendingWsp = wsp;
    this.pendingLineBreaks += breaks;
    this.end = end;
    return i;
  }

  /** Before a content octet: the line breaks and the WSP run in front of it become real. */
  private content(): void {
    for (; this.pendingLineBreaks > 0; this.pendingLineBreaks--) {
      this.byte(CR);
      this.byte(LF);
    }
    if (this.pendingWsp) {
      this.byte(SP);
      this.pendingWsp = false;
    }
    this.wroteContent = true;
  }

  private lineBreak(): void {
    this.pendingWsp = false; // WSP at the end of a line is ignored (§3.4.4 a)
    this.pendingLineBreaks++;
  }

  /**
   * A transient sink's canonicalizer starts each push() and finish() at the start of the shared
   * scratch buffer: the previous call handed everything over, and the sink kept nothing.
   */
  private claimScratch(): void {
    if (!this.transientSink) return;
    sharedScratch ??= Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.buffer = sharedScratch;
    this.start = 0;
    this.end = 0;
  }

  /** The batch buffer with room for `count` more octets (count ≤ BATCH_BYTES). */
  private reserve(count: number): Buffer {
    if (this.buffer === undefined || BATCH_BYTES - this.end < count) {
      this.flush();
      // Not zero-filled: only ranges written since are ever handed out. A transient sink is done
      // with the handed-over views, so its buffer is rewritten from the start.
      if (!this.transientSink || this.buffer === undefined) this.buffer = Buffer.allocUnsafeSlow(BATCH_BYTES);
      this.start = 0;
      this.end = 0;
    }
    return this.buffer;
  }

  private byte(value: number): void {
    const buffer = this.reserve(1);
    buffer[this.end++] = value;
  }

  private bytes(source: Uint8Array, from: number, to: number): void {
    while (from < to) {
      const count = Math.min(to - from, BATCH_BYTES);
      const buffer = this.reserve(count);
      buffer.set(source.subarray(from, from + count), this.end);
      this.end += count;
      from += count;
    }
  }

  /** Hands source[from, to) to the sink as views (after what is batched), BATCH_BYTES at most each. */
  private view(source: Uint8Array, from: number, to: number): void {
    this.flush();
    for (let p = from; p < to; p += BATCH_BYTES) this.sink(source.subarray(p, Math.min(to, p + BATCH_BYTES)));
  }

  private flush(): void {
    if (this.buffer !== undefined && this.end > this.start) {
      this.sink(this.buffer.subarray(this.start, this.end));
      this.start = this.end;
    }
  }
}

/** Position of the first `value` at or after `from`, or the length when there is none. */
function indexOrEnd(chunk: Uint8Array, value: number, from: number): number {
  const at = Buffer.prototype.indexOf.call(chunk, value, from) as number;
  return at < 0 ? chunk.length : at;
}
