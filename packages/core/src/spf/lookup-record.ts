import type { Resolver } from '../dns/types.js';
import type { SpfRecord, SpfSyntaxError } from './record.js';
import { isSpfRecord, parseRecord } from './record.js';

export type RecordLookup =
  | { kind: 'record'; record: SpfRecord }
  | { kind: 'none'; reason: string }
  | { kind: 'temperror'; reason: string }
  | { kind: 'permerror'; reason: string; text?: string; errors?: readonly SpfSyntaxError[] };

/** Parsed records by text: parsing is pure, so identical records (very common) are parsed once. */
const parsedCache = new Map<string, ReturnType<typeof parseRecord>>();
const PARSED_CACHE_SIZE = 2000;

function parseCached(text: string): ReturnType<typeof parseRecord> {
  let parsed = parsedCache.get(text);
  if (!parsed) {
    parsed = parseRecord(text);
    if (text.length <= 4096) {
      if (parsedCache.size >= PARSED_CACHE_SIZE) parsedCache.delete(parsedCache.keys().next().value as string);
      parsedCache.set(text, parsed);
    }
  }
  return parsed;
}

/** §4.4 record lookup and §4.5 selection: exactly one "v=spf1" TXT record, parsed. */
export async function lookupRecord(resolver: Resolver, domain: string): Promise<RecordLookup> {
  const answer = await resolver.lookup(domain, 'TXT');
  switch (answer.kind) {
    case 'nxdomain':
      return { kind: 'none', reason: `${domain} does not exist (NXDOMAIN)` };
    case 'nodata':
      return { kind: 'none', reason: `${domain} has no TXT records` };
    case 'servfail':
    case 'refused':
    case 'timeout':
      return { kind: 'temperror', reason: `TXT lookup for ${domain} failed: ${answer.kind} (${answer.reason})` };
    case 'answer':
      break;
  }
  const spf = answer.records.filter((record) => isSpfRecord(record.text));
  if (spf.length === 0) return { kind: 'none', reason: `${domain} has no TXT record starting with "v=spf1"` };
  if (spf.length > 1) {
    return {
      kind: 'permerror',
      reason: `${domain} publishes ${spf.length} SPF records; exactly one is allowed (RFC 7208 §4.5)`,
    };
  }
  const text = (spf[0] as { text: string }).text;
  const parsed = parseCached(text);
  if (!parsed.ok) {
    const { position, term, message } = parsed.error;
    const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more syntax error(s))` : '';
    return {
      kind: 'permerror',
      reason: `syntax error in the SPF record of ${domain} at position ${position + 1} ("${term}"): ${message}${more}`,
      text,
      errors: parsed.errors,
    };
  }
  return { kind: 'record', record: parsed.record };
}
