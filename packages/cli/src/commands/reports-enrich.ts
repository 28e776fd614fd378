/**
 * `mailward reports enrich`: looks up the source addresses of stored reports that have no
 * enrichment yet (reverse DNS with forward confirmation, AS and country from the offline database)
 * in batches, and stores the results; summaries then name the services behind the addresses.
 */
import type { Resolver } from '@mailward/core';
import type { IpDatabase, ReportStore } from '@mailward/reports';
import { enrichIps } from '@mailward/reports';
import type { CommandResult } from './result.js';

const BATCH = 500;

export async function enrichCommand(
  args: { readonly concurrency: number; readonly json: boolean },
  deps: {
    readonly store: ReportStore;
    readonly resolver: Resolver;
    readonly ipDatabase: IpDatabase;
    readonly now: () => number;
  },
): Promise<CommandResult> {
  let total = 0;
  let withPtr = 0;
  let confirmed = 0;
  let withAsn = 0;
  const services = new Map<string, number>();
  for (;;) {
    const ips = await deps.store.unenrichedSourceIps(BATCH);
    if (ips.length === 0) break;
    const results = await enrichIps(ips, { resolver: deps.resolver, ipDatabase: deps.ipDatabase }, args.concurrency);
    await deps.store.saveIpInfo(results, Math.floor(deps.now() / 1000));
    for (const r of results) {
      total += 1;
      if (r.ptr !== undefined) withPtr += 1;
      if (r.ptrConfirmed) confirmed += 1;
      if (r.asn !== undefined) withAsn += 1;
      if (r.service !== undefined) services.set(r.service, (services.get(r.service) ?? 0) + 1);
    }
  }
  const counts = {
    addresses: total,
    withPtr,
    ptrConfirmed: confirmed,
    withAsn,
    services: Object.fromEntries(services),
  };
  if (args.json) return { exitCode: 0, stdout: `${JSON.stringify(counts, null, 2)}\n`, stderr: '' };
  const named = [...services].map(([name, n]) => `${name} ${n}`).join(', ');
  return {
    exitCode: 0,
    stdout: `Enriched ${total} address${total === 1 ? '' : 'es'}: ${withPtr} with a PTR name (${confirmed} forward-confirmed), ${withAsn} with an AS${named === '' ? '' : `; services: ${named}`}\n`,
    stderr: '',
  };
}
