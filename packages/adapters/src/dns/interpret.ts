import type { Answer as PacketRecord, DecodedPacket } from 'dns-packet';
import type { LookupResult, RecordData, RecordType } from '@mailward/core';
import { normalizeName } from '@mailward/core';
import { toRecordData } from './decode.js';
import { NOERROR, NXDOMAIN, REFUSED, SERVFAIL, rcodeName, rcodeOf } from './rcode.js';

/** Longest CNAME chain followed, across all queries of one lookup (as core's MemoryResolver). */
export const MAX_CNAME_CHAIN = 16;

/**
 * The response's CNAME chain stops at a name the server did not answer for (an authoritative
 * server for another zone): the lookup must continue with a new query for `target`.
 */
export interface FollowChain {
  readonly kind: 'follow';
  readonly target: string;
  /** CNAME targets followed inside this response, in order (the last one is `target`). */
  readonly cnames: readonly string[];
  readonly ttl: number;
  readonly authenticated: boolean;
}

export type Interpretation<T extends RecordType> = LookupResult<T> | FollowChain;

export interface ChainSoFar {
  /** Names already visited by earlier queries of the same lookup, for loop detection. */
  readonly visited: ReadonlySet<string>;
}

/**
 * Turns a response (already checked to answer `name`/`type`) into a lookup outcome. `name` is
 * normalized. `origin` names the server in failure reasons.
 */
export function interpretResponse<T extends RecordType>(
  packet: DecodedPacket,
  name: string,
  type: T,
  origin: string,
  chain: ChainSoFar = { visited: new Set() },
): Interpretation<T> {
  const rcode = rcodeOf(packet);
  if (rcode === SERVFAIL) {
    return { kind: 'servfail', reason: `${origin} answered SERVFAIL for ${name} ${type}`, rcode: true };
  }
  if (rcode === REFUSED) return { kind: 'refused', reason: `${origin} answered REFUSED for ${name} ${type}` };
  if (rcode !== NOERROR && rcode !== NXDOMAIN) {
    return { kind: 'servfail', reason: `${origin} answered ${rcodeName(rcode)} (rcode ${rcode}) for ${name} ${type}` };
  }
  const answers = (packet.answers ?? []).filter((record) => 'class' in record && record.class === 'IN');
  const authenticated = packet.flag_ad;
  const cnames: string[] = [];
  const visited = new Set([...chain.visited, name]);
  let current = name;
  let ttl = Number.POSITIVE_INFINITY;
  for (;;) {
    const matching = answers.filter((record) => record.type === type && normalizeName(record.name) === current);
    if (matching.length > 0) {
      const records: RecordData[T][] = [];
      for (const record of matching) {
        const decoded = toRecordData(type, record);
        if (!decoded.ok) return { kind: 'servfail', reason: `${origin}: ${decoded.reason}` };
        records.push(decoded.data);
        ttl = Math.min(ttl, ttlOf(record));
      }
      return { kind: 'answer', records, ttl, cnames, authenticated };
    }
    // A CNAME query is answered by the CNAME itself, never by following it.
    const cname =
      type === 'CNAME'
        ? undefined
        : answers.find((record) => record.type === 'CNAME' && normalizeName(record.name) === current);
    if (!cname) break;
    const target = toRecordData('CNAME', cname);
    if (!target.ok) return { kind: 'servfail', reason: `${origin}: ${target.reason}` };
    if (visited.has(target.data) || visited.size > MAX_CNAME_CHAIN) {
      return { kind: 'servfail', reason: `CNAME loop or chain longer than ${MAX_CNAME_CHAIN} at ${current}` };
    }
    visited.add(target.data);
    cnames.push(target.data);
    ttl = Math.min(ttl, ttlOf(cname));
    current = target.data;
  }
  const negativeTtl = soaNegativeTtl(packet);
  const negative = negativeTtl === undefined ? {} : { ttl: negativeTtl };
  // With CNAMEs, NXDOMAIN describes the last name of the chain (RFC 6604 §2.1).
  if (rcode === NXDOMAIN) return { kind: 'nxdomain', ...negative };
  // An SOA in the authority section proves the chain's end has no such records; without it the
  // server simply was not authoritative for the target (or had no chain at all).
  if (cnames.length === 0 || negativeTtl !== undefined) return { kind: 'nodata', ...negative };
  return { kind: 'follow', target: current, cnames, ttl, authenticated };
}

/** RFC 2308 §5: a negative answer is cached for min(SOA TTL, SOA MINIMUM). */
export function soaNegativeTtl(packet: DecodedPacket): number | undefined {
  const soa = (packet.authorities ?? []).find((record) => record.type === 'SOA');
  if (!soa) return undefined;
  const data = toRecordData('SOA', soa);
  return data.ok ? Math.min(ttlOf(soa), data.data.minimum) : undefined;
}

function ttlOf(record: PacketRecord): number {
  return 'ttl' in record && typeof record.ttl === 'number' ? record.ttl : 0;
}
