/**
 * RFC 6376 §3.2 tag=value lists, shared by the DKIM-Signature field (§3.5) and key records
 * (§3.6.1), plus the two value encodings both use: colon-separated lists and base64string.
 *
 * One left-to-right scan with no backtracking and no regular expressions over the whole input,
 * so the cost is linear in the input (a hostile 1 MB header costs one pass). Never throws.
 */

export interface TagValue {
  /** The value with the FWS at both ends removed; FWS inside it is kept as written (§3.2). */
  readonly value: string;
  /** Offset of the tag name in the input. */
  readonly position: number;
  /** Offsets of the value (after trimming) in the input: [valueStart, valueEnd). Lets a verifier
   * blank b= exactly as §3.5 requires without parsing the field a second time. */
  readonly valueStart: number;
  readonly valueEnd: number;
}

export interface TagListError {
  readonly position: number;
  readonly message: string;
}

export type TagListResult =
  { readonly ok: true; readonly tags: Map<string, TagValue> } | { readonly ok: false; readonly error: TagListError };

export interface TagListOptions {
  /**
   * Accept octets >= 0x80 in values. VALCHAR is 7-bit, but §3.2's implementation note advises not
   * to preclude UTF-8; key records use this so a non-ASCII n= note does not void the key.
   */
  readonly allowNonAscii?: boolean;
}

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;

function isWsp(c: number): boolean {
  return c === SP || c === HTAB;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isAlnumPunc(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** A run of VALCHARs and WSP (sticky; lastIndex tells where it stopped). */
const VALUE_RUN = /[\x21-\x3a\x3c-\x7e \t]*/y;
/** The same with the octets >= 0x80 that `allowNonAscii` accepts. */
const VALUE_RUN_NON_ASCII = /[\x21-\x3a\x3c-\x7e \t\x80-\uffff]*/y;

/** VALCHAR = %x21-3A / %x3C-7E (printable ASCII except ";"). */
function isValChar(c: number): boolean {
  return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

/**
 * End of the FWS run starting at `i`. A line break counts only when whitespace follows it
 * (RFC 5322 FWS); otherwise the scan stops before it and the caller reports it. Bare LF is
 * accepted like CRLF because messages stored with Unix line ends are common.
 */
function fwsEnd(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (isWsp(c)) {
      i += 1;
    } else if (c === CR && text.charCodeAt(i + 1) === LF && isWsp(text.charCodeAt(i + 2))) {
      i += 3;
    } else if (c === LF && isWsp(text.charCodeAt(i + 1))) {
      i += 2;
    } else {
      return i; // charCodeAt past the end is NaN, so the scan never runs beyond the input
    }
  }
}

/** A short, printable rendering of an input fragment for messages (inputs may be huge). */
export function quoteFragment(text: string, max = 40): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(cut);
}

const BAD_LINE_BREAK = 'line break not followed by whitespace (not folding)';

function describeChar(c: number): string {
  if (c >= 0x21 && c <= 0x7e) return `character "${String.fromCharCode(c)}"`;
  return `character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** "expected X, found Y", except that a stray line break is named as such. */
function unexpected(c: number, expectation: string): string {
  return c === CR || c === LF ? BAD_LINE_BREAK : `${expectation}, found ${describeChar(c)}`;
}

function fail(position: number, message: string): TagListResult {
  return { ok: false, error: { position, message } };
}

/**
 * Parses `tag-spec *( ";" tag-spec ) [ ";" ]` (§3.2). Tag names are case-sensitive; a duplicate
 * name invalidates the whole list; an empty value is kept as "" (not the same as an omitted tag).
 * Whitespace after the final ";" is tolerated (records like "k=rsa; p=...; " are common).
 */
export function parseTagList(text: string, options: TagListOptions = {}): TagListResult {
  const allowNonAscii = options.allowNonAscii === true;
  const tags = new Map<string, TagValue>();
  const n = text.length;
  let i = 0;
  for (;;) {
    i = fwsEnd(text, i);
    if (i === n) {
      return tags.size === 0 ? fail(i, 'empty tag-list') : { ok: true, tags };
    }
    const nameStart = i;
    const first = text.charCodeAt(i);
    if (!isAlpha(first)) {
      if (first === SEMICOLON) return fail(i, 'empty tag-spec (";" without a tag before it)');
      return fail(i, unexpected(first, 'tag name must start with a letter'));
    }
    i += 1;
    while (i < n && isAlnumPunc(text.charCodeAt(i))) i += 1;
    const name = text.slice(nameStart, i);
    i = fwsEnd(text, i);
    if (i === n) return fail(i, `tag ${quoteFragment(name)} has no "="`);
    if (text.charCodeAt(i) !== EQUALS) {
      return fail(i, unexpected(text.charCodeAt(i), `expected "=" after tag ${quoteFragment(name)}`));
    }
    if (tags.has(name)) return fail(nameStart, `duplicate tag ${quoteFragment(name)} (§3.2: the tag-list is invalid)`);
    i = fwsEnd(text, i + 1);
    const valueStart = i;
    let valueEnd = i;
    const run = allowNonAscii ? VALUE_RUN_NON_ASCII : VALUE_RUN;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === SEMICOLON) break;
      if (isValChar(c) || (allowNonAscii && c >= 0x80)) {
        // The rest of the run of value characters and WSP in one native scan (a 344-character
        // b= costs a few calls instead of a step per character), then back over trailing WSP.
        run.lastIndex = i;
        run.test(text);
        i = run.lastIndex;
        valueEnd = i;
        while (isWsp(text.charCodeAt(valueEnd - 1))) valueEnd -= 1;
        continue;
      }
      const next = fwsEnd(text, i);
      if (next === i) {
        return fail(
          i,
          c === CR || c === LF
            ? BAD_LINE_BREAK
            : `invalid ${describeChar(c)} in the value of tag ${quoteFragment(name)}`,
        );
      }
      i = next;
    }
    tags.set(name, { value: text.slice(valueStart, valueEnd), position: nameStart, valueStart, valueEnd });
    if (i === n) return { ok: true, tags };
    i += 1; // the ";"
  }
}

/** Removes all FWS characters; base64 values may be folded anywhere (§3.5 b=, bh=; §3.6.1 p=). */
export function removeFws(value: string): string {
  return value.replace(/[ \t\r\n]+/g, '');
}

/**
 * Decodes dkim-quoted-printable (RFC 6376 §2.11), the form of i= and z= (§3.5): FWS is not
 * content, "=XX" is the octet XX. Octets are read as UTF-8 (RFC 6532 addresses), falling back to
 * Latin-1 so that no octet is lost. Undefined when an "=" is not followed by two hex digits.
 */
export function decodeDkimQuotedPrintable(value: string): string | undefined {
  const text = removeFws(value);
  if (/=(?![0-9A-Fa-f]{2})/.test(text)) return undefined;
  if (!text.includes('=')) return text;
  const octets: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text.charCodeAt(i) === EQUALS) {
      octets.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else octets.push(text.charCodeAt(i) & 0xff);
  }
  const bytes = Uint8Array.from(octets);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return String.fromCharCode(...bytes);
  }
}

/**
 * Splits a colon-separated list (h=, q=, key h=, s=, t=), trimming the FWS allowed around each
 * colon. Items are returned as written; an empty item is returned as "" for the caller to reject.
 */
export function splitColonList(value: string): string[] {
  const items = value.split(':');
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    // Most items have no FWS around them; only those pay for the trim.
    if (item.length > 0 && (isFwsCode(item.charCodeAt(0)) || isFwsCode(item.charCodeAt(item.length - 1)))) {
      items[k] = item.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    }
  }
  return items;
}

function isFwsCode(c: number): boolean {
  return c === SP || c === HTAB || c === CR || c === LF;
}

/** Base64 alphabet, then at most two "=" at the very end. */
const BASE64_STRING = /^[A-Za-z0-9+/]*={0,2}$/;

export type Base64Result =
  { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: string };

/**
 * Decodes a base64string (§2.4 / RFC 2045 §6.8) after removing FWS. Strict: only the base64
 * alphabet, a length that is a multiple of 4, and at most two "=" only at the very end; an empty
 * string decodes to no bytes (callers decide whether empty is allowed).
 */
export function decodeBase64String(value: string): Base64Result {
  const text = removeFws(value);
  const n = text.length;
  // The common case in one native test; the loop below only explains what is wrong.
  if (n % 4 === 0 && BASE64_STRING.test(text)) return { ok: true, bytes: new Uint8Array(Buffer.from(text, 'base64')) };
  let padding = 0;
  for (let i = 0; i < n; i += 1) {
    const c = text.charCodeAt(i);
    if (c === EQUALS) {
      padding += 1;
      continue;
    }
    const base64 =
      (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!base64) return { ok: false, reason: `invalid ${describeChar(c)} at offset ${i}` };
    if (padding > 0) return { ok: false, reason: `data after "=" padding at offset ${i}` };
  }
  if (padding > 2) return { ok: false, reason: `${padding} "=" padding characters (at most 2)` };
  if (n % 4 !== 0) return { ok: false, reason: `length ${n} is not a multiple of 4 (missing or extra padding)` };
  // Validated above, so Buffer's lenient decoder sees only well-formed input. Copy out of the
  // shared Buffer pool so callers own plain bytes.
  return { ok: true, bytes: new Uint8Array(Buffer.from(text, 'base64')) };
}
