import type { Resolver } from '@mailward/core';
import { CachingResolver, MemoryResolver } from '@mailward/core';
import type { DnsServer } from '@mailward/adapters';
import { NetworkResolver, parseServer, readSystemServers, readZoneFixture } from '@mailward/adapters';

export interface DnsOptions {
  /** `HOST[:PORT]`, several allowed; default: the system's resolv.conf. */
  readonly dns?: readonly string[];
  /** A zone fixture file served by the in-memory resolver instead of the network. */
  readonly dnsFixture?: string;
  readonly dnsTimeoutMs?: number;
  /** Network queries in flight at once (default the resolver's, 32). */
  readonly maxInFlight?: number;
  /** Retries after a timeout (default the resolver's, 2). */
  readonly retries?: number;
  /** Cache answers for the whole command (default true; a scan of many domains turns it off). */
  readonly cache?: boolean;
  /** Queries per UDP socket (default the resolver's, 1: a fresh source port per query). */
  readonly queriesPerSocket?: number;
  /** 'udp' (default) or 'tcp' (pipelined connections, for scans). */
  readonly transport?: 'udp' | 'tcp';
}

export type ResolverSetup =
  | {
      ok: true;
      resolver: Resolver;
      describe: string;
      /** Queries sent so far, when the resolver is on the network. */
      queriesSent?: () => number;
    }
  | { ok: false; reason: string; usage: boolean };

/** Builds the resolver the options ask for, wrapped in a TTL cache shared by the whole command. */
export async function setupResolver(options: DnsOptions): Promise<ResolverSetup> {
  if (options.dnsFixture !== undefined && options.dns !== undefined && options.dns.length > 0) {
    return { ok: false, reason: 'give either --dns or --dns-fixture, not both', usage: true };
  }
  if (options.dnsFixture !== undefined) {
    const fixture = await readZoneFixture(options.dnsFixture);
    if (!fixture.ok) return { ok: false, reason: fixture.reason, usage: false };
    return { ok: true, resolver: new MemoryResolver(fixture.zone), describe: `fixture ${options.dnsFixture}` };
  }
  let servers: DnsServer[];
  if (options.dns && options.dns.length > 0) {
    servers = [];
    for (const text of options.dns) {
      const parsed = parseServer(text);
      if (!parsed.ok) return { ok: false, reason: `--dns ${parsed.reason}`, usage: true };
      servers.push(parsed.server);
    }
  } else {
    servers = await readSystemServers();
  }
  const network = new NetworkResolver({
    servers,
    ...(options.dnsTimeoutMs === undefined ? {} : { timeoutMs: options.dnsTimeoutMs }),
    ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.queriesPerSocket === undefined ? {} : { queriesPerSocket: options.queriesPerSocket }),
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  });
  return {
    ok: true,
    resolver: options.cache === false ? network : new CachingResolver(network, Date),
    describe: servers.map((s) => `${s.host}:${s.port}`).join(', '),
    queriesSent: () => network.stats.queries,
  };
}
