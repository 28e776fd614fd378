/**
 * Fetching a DKIM (or ARC) public key through the Resolver, RFC 6376 §6.1.2 steps 3-5, as a typed
 * outcome: the verifier maps `absent` and `invalid` to permerror and `unavailable` to temperror.
 */
import type { LookupOptions, Resolver } from '../dns/types.js';
import { domainNameProblem } from '../dns/name.js';
import type { DkimKey, KeyRecordResult } from './key-record.js';
import { parseKeyRecord } from './key-record.js';

export type KeyFetchResult =
  /** One or more usable key records. §6.1.2 lets a verifier cycle through several; we try each. */
  | { readonly kind: 'keys'; readonly keys: readonly DkimKey[]; readonly name: string }
  /** NXDOMAIN or no TXT record: "no key for signature" (§6.1.2 step 3, PERMFAIL). */
  | { readonly kind: 'absent'; readonly reason: string; readonly name: string }
  /** Records exist but none is a usable email key (§6.1.2 step 5 / §3.6.1 s=, PERMFAIL). */
  | { readonly kind: 'invalid'; readonly reason: string; readonly name: string }
  /** The lookup failed: "key unavailable" (§6.1.2 step 3, TEMPFAIL). */
  | { readonly kind: 'unavailable'; readonly reason: string; readonly name: string };

/** Most TXT records at one key name we parse; more is hostile or a broken zone. */
const MAX_KEY_RECORDS = 8;

/**
 * Parsed key records by record text. Importing a public key into OpenSSL costs about 150 µs
 * (more than verifying an RSA signature), and a receiver sees the same few hundred keys all day;
 * DkimKey is immutable, so one parse serves every message. Bounded, oldest entry evicted first.
 */
const PARSED_KEYS = new Map<string, KeyRecordResult>();
const MAX_PARSED_KEYS = 1024;
/** Longer records are parsed every time rather than kept: a cache must not hold hostile input. */
const MAX_CACHED_RECORD_LENGTH = 8192;

function parseKeyRecordCached(text: string): KeyRecordResult {
  if (text.length > MAX_CACHED_RECORD_LENGTH) return parseKeyRecord(text);
  const cached = PARSED_KEYS.get(text);
  if (cached !== undefined) return cached;
  const parsed = parseKeyRecord(text);
  if (PARSED_KEYS.size >= MAX_PARSED_KEYS) {
    const oldest = PARSED_KEYS.keys().next().value;
    if (oldest !== undefined) PARSED_KEYS.delete(oldest);
  }
  PARSED_KEYS.set(text, parsed);
  return parsed;
}

export async function fetchDkimKey(
  resolver: Resolver,
  selector: string,
  domain: string,
  options: LookupOptions = {},
): Promise<KeyFetchResult> {
  const name = `${selector}._domainkey.${domain}`;
  const problem = domainNameProblem(name);
  if (problem !== undefined) return { kind: 'invalid', reason: `key name ${name}: ${problem}`, name };
  const outcome = await resolver.lookup(name, 'TXT', options);
  switch (outcome.kind) {
    case 'nxdomain':
      return { kind: 'absent', reason: `no key record: ${name} does not exist (NXDOMAIN)`, name };
    case 'nodata':
      return { kind: 'absent', reason: `no key record: ${name} has no TXT record`, name };
    case 'servfail':
    case 'refused':
    case 'timeout':
      return {
        kind: 'unavailable',
        reason: `key lookup for ${name} failed: ${outcome.kind} (${outcome.reason})`,
        name,
      };
    case 'answer':
      break;
  }
  const keys: DkimKey[] = [];
  const problems: string[] = [];
  for (const record of outcome.records.slice(0, MAX_KEY_RECORDS)) {
    const parsed = parseKeyRecordCached(record.text);
    if (!parsed.ok) problems.push(parsed.reason);
    else if (!parsed.key.usableForEmail) problems.push(`s=${parsed.key.services.join(':')} excludes email`);
    else keys.push(parsed.key);
  }
  if (keys.length > 0) return { kind: 'keys', keys, name };
  const first = problems[0] ?? 'no key record';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} other invalid record(s))` : '';
  return { kind: 'invalid', reason: `key record at ${name} is invalid: ${first}${more}`, name };
}
