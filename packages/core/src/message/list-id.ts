/**
 * List-Id (RFC 2919 §2): `[phrase] "<" list-label "." list-id-namespace ">"`. Returns every
 * List-Id field's identifier, lower case; a field without the angle-bracketed id is ignored.
 */
import type { HeaderField } from './header.js';
import { findHeaders, headerValue } from './header.js';

/** A header with more than this many List-Id fields is hostile; the rest are not read. */
const MAX_LIST_ID_FIELDS = 10;

export function listIds(headers: readonly HeaderField[]): string[] {
  const ids: string[] = [];
  for (const field of findHeaders(headers, 'list-id').slice(0, MAX_LIST_ID_FIELDS)) {
    const match = /<([^<>\s]{1,255})>\s*$/.exec(headerValue(field));
    if (match?.[1] !== undefined) ids.push(match[1].toLowerCase());
  }
  return ids;
}
