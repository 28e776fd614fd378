/**
 * Counting DNS lookups by record type and outcome, for any of the three services: a resolver
 * wrapper that reports each lookup's result kind and passes the result on unchanged. Put it
 * under the cache (around the network resolver), so it counts the lookups that were sent.
 */
import { Counter, type Registry } from 'prom-client';
import type { LookupOptions, LookupResult, RecordType, Resolver } from '@mailward/core';

export type DnsLookupCount = (type: RecordType, outcome: string) => void;

/** `<prefix>_dns_lookups_total{type, outcome}` in `registry`. */
export function dnsLookupCounter(registry: Registry, prefix: string): DnsLookupCount {
  const counter = new Counter({
    name: `${prefix}_dns_lookups_total`,
    help: 'DNS lookups by record type and outcome (answer, nxdomain, nodata, servfail, refused, timeout)',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  return (type, outcome) => counter.inc({ type, outcome });
}

export function countingResolver(inner: Resolver, count: DnsLookupCount): Resolver {
  return {
    lookup: async <T extends RecordType>(name: string, type: T, options?: LookupOptions): Promise<LookupResult<T>> => {
      const result = await inner.lookup(name, type, options);
      count(type, result.kind);
      return result;
    },
  };
}
