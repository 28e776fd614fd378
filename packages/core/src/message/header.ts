/**
 * Header fields of a raw RFC 5322 message, kept byte-exact. Text is held as Latin-1 ("binary")
 * JS strings: one char per octet, so every byte survives (UTF-8, stray 8-bit, bare CR) and the
 * DKIM canonicalizers can work on strings without a decode/encode round trip changing anything.
 */

export interface HeaderField {
  /** The field name as written (original case), without any WSP before the colon. */
  readonly name: string;
  /** `name` in ASCII lower case: the form to compare (field names are case-insensitive). */
  readonly lowerName: string;
  /** The whole field, name and colon included, with its folding CRLFs but without the final CRLF. */
  readonly raw: string;
  /** Byte offset of the field in the (CRLF-normalized) message bytes. */
  readonly offset: number;
}

/** A header-block line that is neither a field nor a continuation (kept, never dropped). */
export interface MalformedHeaderLine {
  /** Byte offset in the (CRLF-normalized) message bytes. */
  readonly offset: number;
  /** The line with any continuation lines that follow it, without the final CRLF (Latin-1). */
  readonly text: string;
}

/** ASCII-only lower case: `toLowerCase` would also fold Latin-1 letters and so change bytes. On
 * pure ASCII (nearly every field name) it changes exactly A-Z, so that fast path is taken. */
export function asciiLower(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
  }
  return text.toLowerCase();
}

/**
 * The fields named `name` (case-insensitive), last occurrence first: the order in which DKIM
 * h= consumes repeated names (RFC 6376 §5.4.2, signing "from the bottom of the header field block
 * to the top").
 */
export function findHeaders(
  message: { readonly headers: readonly HeaderField[] } | readonly HeaderField[],
  name: string,
): HeaderField[] {
  const headers = 'headers' in message ? message.headers : message;
  const wanted = asciiLower(name);
  const found: HeaderField[] = [];
  for (let i = headers.length - 1; i >= 0; i--) {
    const field = headers[i];
    if (field !== undefined && field.lowerName === wanted) found.push(field);
  }
  return found;
}

/** The field body: everything after the first colon, folding and surrounding WSP as written. */
export function headerValue(field: HeaderField): string {
  return field.raw.slice(field.raw.indexOf(':') + 1);
}
