/**
 * Splits a raw RFC 5322 message into header fields and body, byte-exact, in linear time, without
 * throwing: limits give a typed failure, odd lines are kept as `malformed`.
 *
 * Line endings: DKIM is defined on "network normal" text (RFC 6376 §3.4 NOTE, §5.3: bare line
 * separators "MUST be converted to the SMTP-standard CRLF"). Messages read from files or handed
 * over by some MTAs use bare LF, so every LF not preceded by CR becomes CRLF, in the headers and
 * the body alike, and `lineEndings` says that it happened. A bare CR is left alone: it is data,
 * and rewriting it would break signatures over the rare bodies that contain one.
 * All offsets refer to `bytes`, the normalized message.
 */
import { Buffer } from 'node:buffer';
import type { HeaderField, MalformedHeaderLine } from './header.js';
import { asciiLower } from './header.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

export type LineEndings = 'crlf' | 'lf-converted' | 'mixed-converted';

export interface SplitOptions {
  /** Largest header block (bytes before the empty line, after normalization). Default 8 MiB. */
  readonly maxHeaderBytes?: number;
  /** Most header lines that start an entry (fields plus malformed lines). Default 100 000. */
  readonly maxFields?: number;
}

export interface SplitMessage {
  readonly ok: true;
  /** Fields in message order, top to bottom. */
  readonly headers: readonly HeaderField[];
  readonly malformed: readonly MalformedHeaderLine[];
  /** Everything after the empty line (a view of `bytes`, not a copy); empty when there is none. */
  readonly body: Uint8Array;
  /** Offset of `body` in `bytes`. */
  readonly bodyOffset: number;
  /** True when the message has no empty line: all of it is header, the body is empty. */
  readonly headerOnly: boolean;
  readonly lineEndings: LineEndings;
  /** The message with CRLF line endings: the input itself when nothing had to be converted. */
  readonly bytes: Uint8Array;
}

export interface SplitFailure {
  readonly ok: false;
  readonly reason: 'header-too-large' | 'too-many-fields';
  readonly message: string;
}

export type SplitResult = SplitMessage | SplitFailure;

export const DEFAULT_MAX_HEADER_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_FIELDS = 100_000;

/** Converts bare LF to CRLF: one counting pass, then (only if needed) one copy. */
function normalizeLineEndings(input: Uint8Array): { bytes: Uint8Array; lineEndings: LineEndings } {
  let bare = 0;
  let crlf = 0;
  for (let lf = input.indexOf(LF); lf >= 0; lf = input.indexOf(LF, lf + 1)) {
    if (lf > 0 && input[lf - 1] === CR) crlf++;
    else bare++;
  }
  if (bare === 0) return { bytes: input, lineEndings: 'crlf' };
  // A plain byte loop: per-line subarray copies cost more than they save when lines are short.
  const out = new Uint8Array(input.length + bare);
  let previous = -1;
  for (let from = 0, to = 0; from < input.length; from++) {
    const c = input[from]!;
    if (c === LF && previous !== CR) out[to++] = CR;
    out[to++] = c;
    previous = c;
  }
  return { bytes: out, lineEndings: crlf === 0 ? 'lf-converted' : 'mixed-converted' };
}

interface HeaderBlock {
  /** Offset of the empty line (or the end of the message when there is none). */
  readonly end: number;
  readonly bodyOffset: number;
  readonly headerOnly: boolean;
}

/** First pass, on bytes: where the header block ends, enforcing the limits before any decoding. */
function findHeaderBlock(bytes: Uint8Array, maxHeaderBytes: number, maxFields: number): HeaderBlock | SplitFailure {
  const n = bytes.length;
  let entries = 0;
  let p = 0;
  for (;;) {
    if (p > maxHeaderBytes) {
      return { ok: false, reason: 'header-too-large', message: `header block exceeds ${maxHeaderBytes} bytes` };
    }
    if (p >= n) return { end: n, bodyOffset: n, headerOnly: true };
    const c = bytes[p];
    if (c === CR && bytes[p + 1] === LF) return { end: p, bodyOffset: p + 2, headerOnly: false };
    if (c !== SP && c !== HTAB && ++entries > maxFields) {
      return { ok: false, reason: 'too-many-fields', message: `more than ${maxFields} header fields` };
    }
    const lf = bytes.indexOf(LF, p);
    if (lf < 0) {
      if (n > maxHeaderBytes) break;
      return { end: n, bodyOffset: n, headerOnly: true };
    }
    p = lf + 1;
  }
  return { ok: false, reason: 'header-too-large', message: `header block exceeds ${maxHeaderBytes} bytes` };
}

function isWspCode(c: number): boolean {
  return c === SP || c === HTAB;
}

/** ftext (RFC 5322 §3.6.8): printable US-ASCII except the colon. */
function isFtext(c: number): boolean {
  return c >= 0x21 && c <= 0x7e && c !== COLON;
}

/**
 * Length of the field name at `start` when the line is a field (`name *WSP ":"`, the WSP being
 * RFC 5322 §4.5.3 obsolete syntax, still seen), else -1. Scans this line only, so a block of
 * colon-less garbage lines stays linear.
 */
function fieldNameLength(text: string, start: number, lineEnd: number): number {
  let i = start;
  while (i < lineEnd && isFtext(text.charCodeAt(i))) i++;
  const nameEnd = i;
  while (i < lineEnd && isWspCode(text.charCodeAt(i))) i++;
  return nameEnd > start && i < lineEnd && text.charCodeAt(i) === COLON ? nameEnd - start : -1;
}

export function splitMessage(input: Uint8Array, options: SplitOptions = {}): SplitResult {
  const { bytes, lineEndings } = normalizeLineEndings(input);
  const block = findHeaderBlock(
    bytes,
    options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    options.maxFields ?? DEFAULT_MAX_FIELDS,
  );
  if ('ok' in block) return block;

  // Latin-1 through Buffer, not TextDecoder: the WHATWG "latin1" label means windows-1252, which
  // would remap 0x80-0x9f. Offsets in `text` equal byte offsets.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, block.end).toString('latin1');
  const headers: HeaderField[] = [];
  const malformed: MalformedHeaderLine[] = [];
  // The entry being collected: continuation lines extend it, whatever it is.
  let start = -1;
  let end = -1;
  let nameLength = -1;
  const close = (): void => {
    if (start < 0) return;
    const raw = text.slice(start, end);
    if (nameLength < 0) malformed.push({ offset: start, text: raw });
    else {
      const name = raw.slice(0, nameLength);
      headers.push({ name, lowerName: asciiLower(name), raw, offset: start });
    }
  };

  const n = text.length;
  for (let p = 0; p < n;) {
    const lf = text.indexOf('\n', p);
    // After normalization every LF follows a CR; a last line without CRLF runs to the end.
    const lineEnd = lf < 0 ? n : lf - 1;
    const next = lf < 0 ? n : lf + 1;
    if (isWspCode(text.charCodeAt(p)) && start >= 0) {
      end = lineEnd;
    } else {
      close();
      start = p;
      end = lineEnd;
      // A continuation line with nothing above it is malformed too.
      nameLength = isWspCode(text.charCodeAt(p)) ? -1 : fieldNameLength(text, p, lineEnd);
    }
    p = next;
  }
  close();

  return {
    ok: true,
    headers,
    malformed,
    body: bytes.subarray(block.bodyOffset),
    bodyOffset: block.bodyOffset,
    headerOnly: block.headerOnly,
    lineEndings,
    bytes,
  };
}
