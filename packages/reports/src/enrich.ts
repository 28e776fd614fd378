/**
 * Enrichment of report source addresses, done in batches after ingest (never on the ingest path):
 * the PTR name (confirmed by a forward lookup, as a PTR alone is whatever the address owner
 * wrote), its registrable domain, the AS number, AS name and country from an offline database,
 * and the sending service these point to. DNS goes through the Resolver; the database through
 * the IpDatabase port; lookups run with bounded concurrency.
 */
import type { Resolver } from '@mailward/core';
import { ipText, organizationalDomain, parseClientIp, reverseName } from '@mailward/core';
import { identifyService } from './services.js';

export interface IpFacts {
  readonly asn?: number;
  readonly asName?: string;
  /** ISO 3166-1 alpha-2. */
  readonly country?: string;
}

/** Offline IP → AS and country data (implemented in adapters over a shipped database). */
export interface IpDatabase {
  lookup(ip: string): IpFacts;
}

export interface IpEnrichment extends IpFacts {
  readonly ip: string;
  /** The PTR name, when one exists. */
  readonly ptr?: string;
  /** True when the PTR name resolves back to the address (forward-confirmed reverse DNS). */
  readonly ptrConfirmed: boolean;
  /** Registrable domain of the PTR name (public suffix list). */
  readonly ptrDomain?: string;
  readonly service?: string;
  /** Why reverse DNS gave nothing usable (timeout, NXDOMAIN...). */
  readonly note?: string;
}

export interface EnrichDeps {
  readonly resolver: Resolver;
  readonly ipDatabase: IpDatabase;
}

export async function enrichIp(ip: string, deps: EnrichDeps): Promise<IpEnrichment> {
  const facts = deps.ipDatabase.lookup(ip);
  const parsed = parseClientIp(ip);
  if (parsed === undefined) return { ip, ptrConfirmed: false, ...facts, note: 'not an IP address' };
  const reverse = await deps.resolver.lookup(reverseName(parsed), 'PTR');
  if (reverse.kind !== 'answer' || reverse.records.length === 0) {
    const service = identifyService(facts.asn === undefined ? {} : { asn: facts.asn })?.name;
    return {
      ip,
      ptrConfirmed: false,
      ...facts,
      ...(service !== undefined && { service }),
      note: `PTR: ${reverse.kind}`,
    };
  }
  const ptr = (reverse.records[0] as string).toLowerCase().replace(/\.$/, '');
  const forward = await deps.resolver.lookup(ptr, parsed.version === 4 ? 'A' : 'AAAA');
  const text = ipText(parsed);
  const ptrConfirmed =
    forward.kind === 'answer' &&
    forward.records.some(
      (address) =>
        parseClientIp(address) !== undefined &&
        ipText(parseClientIp(address) as NonNullable<ReturnType<typeof parseClientIp>>) === text,
    );
  const ptrDomain = organizationalDomain(ptr);
  // Only a confirmed PTR name may name the service: an unconfirmed one is the address owner's claim.
  const service = identifyService({
    ...(ptrConfirmed && { ptrName: ptr }),
    ...(facts.asn !== undefined && { asn: facts.asn }),
  })?.name;
  return {
    ip,
    ptr,
    ptrConfirmed,
    ...(ptrDomain !== undefined && { ptrDomain }),
    ...facts,
    ...(service !== undefined && { service }),
  };
}

/** Enriches many addresses, at most `concurrency` at a time, in input order. */
export async function enrichIps(ips: readonly string[], deps: EnrichDeps, concurrency = 16): Promise<IpEnrichment[]> {
  const results: IpEnrichment[] = new Array<IpEnrichment>(ips.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ips.length; i = next++) results[i] = await enrichIp(ips[i] as string, deps);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ips.length) }, worker));
  return results;
}
