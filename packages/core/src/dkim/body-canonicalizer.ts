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
   * whole batch over before returning; a canonicalizer called from inside another's sink gets a
   * buffer of its own.
   */
  readonly transientSink?: boolean;
}

/** Output batch size, and the largest view handed to the sink. */
const BATCH_BYTES = 64 * 1024;
/** A WSP-free stretch at least this long goes to the sink as a view; shorter ones are copied. */
const VIEW_MIN = 512;
/** Relaxed: the byte loop runs this far before the next indexOf scan for a long WSP-free stretch. */
const LOOP_SPAN = 4096;

/** 1 for the WSP octets (SP, HTAB), else 0. */
const IS_WSP = new Uint8Array(256);
IS_WSP[SP] = 1;
IS_WSP[HTAB] = 1;
/** What an octet becomes in relaxed output when it is written: itself, or SP for HTAB. */
const RELAXED_OCTET = Uint8Array.from({ length: 256 }, (_, octet) => (octet === HTAB ? SP : octet));

/** What writeRelaxed leaves behind (module state, so the loop returns without allocating). */
const loopState = { end: 0, lineStart: 0, trailingBreaks: 0, previousWsp: 0, pendingCr: false };

/**
 * The inner loop of BodyCanonicalizer.relaxedLoop, on its own so that V8 compiles it as a small
 * function (inlined into push() it ran a third slower). Writes chunk[i, limit) from a point where
 * nothing is pending; returns the position reached and leaves the rest in loopState.
 */
function writeRelaxed(chunk: Uint8Array, from: number, limit: number, buffer: Uint8Array, start: number): number {
  const n = chunk.length;
  let i = from;
  let end = start;
  /** Where the current line's output starts, and the line breaks since the last content. */
  let lineStart = end;
  let trailingBreaks = 0;
  /** 1 when the last octet was WSP (its SP is at end - 1), else 0. */
  let previousWsp = 0;
  let pendingCr = false;
  while (i < limit) {
    const c = chunk[i]!;
    if (c === CR) {
      if (i + 1 >= n) {
        pendingCr = true;
        i++;
        break;
      }
      if (chunk[i + 1] === LF) {
        end -= previousWsp;
        if (end > lineStart) trailingBreaks = 0; // this line has content
        buffer[end++] = CR;
        buffer[end++] = LF;
        trailingBreaks++;
        lineStart = end;
        previousWsp = 0;
        i += 2;
        continue;
      }
    }
    const wsp = IS_WSP[c]!;
    buffer[end] = RELAXED_OCTET[c]!;
    end += 1 - (wsp & previousWsp);
    previousWsp = wsp;
    i++;
  }
  loopState.end = end;
  loopState.lineStart = lineStart;
  loopState.trailingBreaks = trailingBreaks;
  loopState.previousWsp = previousWsp;
  loopState.pendingCr = pendingCr;
  return i;
}

/** The batch buffer of every canonicalizer with a transient sink (see BodyCanonicalizerOptions). */
let sharedScratch: Buffer | undefined;
/** Set while a canonicalizer is inside push() or finish() with the shared scratch buffer. */
let scratchBusy = false;

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
  /** A transient sink's buffer when the shared one is busy (see claimScratch). */
  private ownScratch: Buffer | undefined;

  constructor(mode: DkimCanonicalization, sink: BodySink, options: BodyCanonicalizerOptions = {}) {
    this.relaxed = mode === 'relaxed';
    this.sink = sink;
    this.transientSink = options.transientSink === true;
  }

  push(chunk: Uint8Array): void {
    if (this.finished) throw new Error('BodyCanonicalizer: push() after finish()');
    const claimed = this.claimScratch();
    try {
      this.pushChunk(chunk);
    } finally {
      if (claimed) scratchBusy = false;
    }
  }

  finish(): void {
    if (this.finished) throw new Error('BodyCanonicalizer: finish() called twice');
    this.finished = true;
    const claimed = this.claimScratch();
    try {
      this.finishBody();
    } finally {
      if (claimed) scratchBusy = false;
    }
  }

  private pushChunk(chunk: Uint8Array): void {
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

  private finishBody(): void {
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
   * Relaxed byte loop over chunk[from, limit). May stop one octet past `limit` (a CRLF that
   * straddles it). Returns the position reached.
   *
   * Until the first content octet only state changes (pending line breaks and WSP, which may be
   * arbitrarily long). After it, output is written as it comes: content as it is, a WSP run as one
   * SP, a line break as CRLF after taking back an SP just before it (§3.4.4 a). The WSP test and
   * the HTAB-to-SP mapping are table lookups and the SP is taken back by arithmetic, not by
   * branches: prose has a space every few octets, and a mispredicted branch per word made the
   * loop twice as slow. What follows the last content octet (line breaks, then maybe one SP) is
   * taken back out of the batch into the pending state at the end, since trailing empty lines
   * must never be written (§3.4.4 b) and a WSP run may still turn out to end its line.
   */
  private relaxedLoop(chunk: Uint8Array, from: number, limit: number): number {
    const n = chunk.length;
    let i = from;
    if (this.pendingLineBreaks > 0 || this.pendingWsp || !this.wroteContent) {
      for (;;) {
        if (i >= limit) return i;
        const c = chunk[i]!;
        if (c === CR) {
          if (i + 1 >= n) {
            // Last octet of the chunk: the next chunk says whether it is a line break.
            this.pendingCr = true;
            return i + 1;
          }
          if (chunk[i + 1] === LF) {
            this.lineBreak();
            i += 2;
            continue;
          }
          break; // a bare CR is content
        }
        if (c !== SP && c !== HTAB) break;
        this.pendingWsp = true;
        i++;
      }
      this.content();
    }
    // Room for one output octet per input octet: a WSP run writes at most one SP and a line
    // break one CRLF, each paid for by its own octets (the +1 is a CRLF straddling `limit`).
    const buffer = this.reserve(limit - i + 1);
    i = writeRelaxed(chunk, i, limit, buffer, this.end);
    const { end: written, lineStart, trailingBreaks, previousWsp, pendingCr } = loopState;
    let end = written;
    if (pendingCr) this.pendingCr = true;
    if (end - previousWsp > lineStart) {
      // The last line has content: only a WSP run at its end is pending.
      end -= previousWsp;
    } else {
      // It has none: the line breaks since the last content octet are pending too.
      end = lineStart - 2 * trailingBreaks;
      this.pendingLineBreaks = trailingBreaks;
    }
    this.pendingWsp = previousWsp === 1;
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
   * scratch buffer: the previous call handed everything over, and the sink kept nothing. If the
   * scratch is in use (a sink that pushes into another canonicalizer), this one uses a buffer of
   * its own instead. Returns whether it took the shared one (and must give it back).
   */
  private claimScratch(): boolean {
    if (!this.transientSink) return false;
    this.start = 0;
    this.end = 0;
    if (scratchBusy) {
      this.ownScratch ??= Buffer.allocUnsafeSlow(BATCH_BYTES);
      this.buffer = this.ownScratch;
      return false;
    }
    scratchBusy = true;
    sharedScratch ??= Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.buffer = sharedScratch;
    return true;
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
