/**
 * The author domain(s) of a message, RFC 9989 §5.3.1 (Extract Author Domain): the domains of the
 * addresses in the single From field, U-labels converted to A-labels (RFC 5890 §2.3). Address
 * syntax is RFC 5322's (groups, comments, quoted display names), parsed by email-addresses, a
 * grammar-driven RFC 5322 parser, in its RFC 6532 (UTF-8) mode.
 */
import { Buffer } from 'node:buffer';
import { domainToASCII } from 'node:url';
import emailAddresses from 'email-addresses';
import type { HeaderField } from './header.js';
import { headerValue } from './header.js';

export type AuthorDomains =
  /** One domain (one address, or several addresses in the same domain). */
  | { readonly kind: 'single'; readonly domain: string; readonly addresses: readonly string[] }
  /** Several domains in the one From field: exempt from DMARC by default (§5.3.1). */
  | { readonly kind: 'multiple'; readonly domains: readonly string[]; readonly addresses: readonly string[] }
  /** No usable From: none, several From fields, unparseable, or no address in it. */
  | { readonly kind: 'invalid'; readonly reason: string };

/** A From field longer than this is not parsed (RFC 5322 lines stop at 998 octets; folding allows more). */
const MAX_FROM_LENGTH = 64 * 1024;
/** Addresses kept; a From with more is answered from the first ones. */
const MAX_ADDRESSES = 100;

export function authorDomains(headers: readonly HeaderField[]): AuthorDomains {
  const from = headers.filter((field) => field.lowerName === 'from');
  if (from.length === 0) return { kind: 'invalid', reason: 'the message has no From field' };
  if (from.length > 1)
    return { kind: 'invalid', reason: `the message has ${from.length} From fields (RFC 5322 allows one)` };
  const raw = headerValue(from[0]!);
  if (raw.length > MAX_FROM_LENGTH)
    return { kind: 'invalid', reason: `the From field is over ${MAX_FROM_LENGTH} octets` };
  // Header text is Latin-1 (one char per octet); RFC 6532 addresses are UTF-8.
  const value = Buffer.from(raw, 'latin1')
    .toString('utf8')
    .replace(/\r\n(?=[ \t])/g, '');
  const parsed = emailAddresses.parseAddressList({ input: value, rfc6532: true });
  if (parsed === null) return { kind: 'invalid', reason: 'the From field is not a valid RFC 5322 address list' };
  const mailboxes = parsed.flatMap((entry) => (entry.type === 'group' ? entry.addresses : [entry]));
  if (mailboxes.length === 0) return { kind: 'invalid', reason: 'the From field has no address' };
  const addresses: string[] = [];
  const domains: string[] = [];
  for (const mailbox of mailboxes.slice(0, MAX_ADDRESSES)) {
    const ascii = domainToASCII(mailbox.domain).toLowerCase().replace(/\.$/, '');
    if (ascii === '')
      return {
        kind: 'invalid',
        reason: `the From domain ${JSON.stringify(mailbox.domain)} is not a valid domain name`,
      };
    addresses.push(mailbox.address);
    if (!domains.includes(ascii)) domains.push(ascii);
  }
  if (domains.length === 1) return { kind: 'single', domain: domains[0]!, addresses };
  return { kind: 'multiple', domains, addresses };
}
