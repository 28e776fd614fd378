/**
 * Header fields as the milter receives them, turned back into the message's bytes, and the
 * Authentication-Results fields that claim to be this receiver's.
 */
import { Buffer } from 'node:buffer';
import { asciiLower, parseAuthenticationResults, type HeaderField } from '@mailward/core';

/**
 * One HEADER event as a field of the message. Postfix sends the value with LF between folded
 * lines (the Sendmail convention; milter8.c milter8_header_event) and, with SMFIP_HDR_LEADSPC, with
 * the space after the colon, so "name:" + value with LF back to CRLF is the field as received (only
 * whitespace between the name and the colon is lost; Postfix drops it). Text is Latin-1, one char
 * per octet, as core's HeaderField wants.
 */
export function headerFieldFromEvent(name: string, valueBytes: Uint8Array, offset: number): HeaderField {
  const value = Buffer.from(valueBytes.buffer, valueBytes.byteOffset, valueBytes.byteLength)
    .toString('latin1')
    .replace(/\r?\n/g, '\r\n');
  return { name, lowerName: asciiLower(name), raw: `${name}:${value}`, offset };
}

/** The byte length of a field in the message: the field and its CRLF. */
export function fieldLength(field: HeaderField): number {
  return field.raw.length + 2;
}

/**
 * Whether an Authentication-Results value is this receiver's: its authserv-id (RFC 8601 §2.5)
 * equals ours. RFC 8601 §5 asks a receiver to delete such fields arriving from outside, since only
 * it may write them; a field that does not parse but begins with our id counts as ours too, so a
 * forger cannot keep one by breaking its syntax. authserv-ids compare case-insensitively (they
 * are domain names, §2.5).
 */
export function isOwnAuthenticationResults(value: string, authservId: string): boolean {
  const ours = authservId.toLowerCase();
  const parsed = parseAuthenticationResults(value);
  if (parsed.ok) return parsed.value.authservId.toLowerCase() === ours;
  const text = value.replace(/^[ \t\r\n]+/, '').toLowerCase();
  if (!text.startsWith(ours)) return false;
  const next = text.charAt(ours.length);
  return next === '' || /[ \t\r\n;(]/.test(next);
}

/**
 * CHGHEADER edits deleting the given occurrences (1-based among the fields of that name, as
 * smfi_chgheader counts them, the MTA's own hidden Received: not counted), highest first: whether
 * the later fields of a name move up after a deletion is the MTA's business (Sendmail keeps a
 * deleted field's place), and deleting from the bottom up deletes the same fields under either
 * count.
 */
export function deleteEdits(
  name: string,
  occurrences: readonly number[],
): Array<{
  type: 'changeHeader';
  index: number;
  name: string;
  value: string;
}> {
  return [...occurrences]
    .sort((a, b) => b - a)
    .map((index) => ({ type: 'changeHeader' as const, index, name, value: '' }));
}
