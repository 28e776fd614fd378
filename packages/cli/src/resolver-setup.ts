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
  /** Wraps the resolver that does the lookups, under the cache (a service's metrics count what is sent). */
  readonly wrapLookups?: (resolver: Resolver) => Resolver;
}

export type ResolverSetup =
  | {
      ok: true;
      resolver: Resolver;
      describe: string;
      /** Queries sent so far, when the resolver is on the network. */
      queriesSent?: () => number;
      /** Something the user should know about the set-up (a transport fallen back to). */
      note?: string;
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
    const memory = new MemoryResolver(fixture.zone);
    return { ok: true, resolver: options.wrapLookups?.(memory) ?? memory, describe: `fixture ${options.dnsFixture}` };
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
  // Pipelined TCP is asked for by scans; a server that does not answer over TCP (some home routers,
  // firewalls that drop port 53/tcp) but does over UDP gets UDP, and the user is told.
  let transport = options.transport;
  let note: string | undefined;
  if (transport === 'tcp' && !(await answers(servers, 'tcp')) && (await answers(servers, 'udp'))) {
    transport = 'udp';
    note = `${servers.map((s) => `${s.host}:${s.port}`).join(', ')} did not answer over TCP; using UDP`;
  }
  const network = new NetworkResolver({
    servers,
    ...(options.dnsTimeoutMs === undefined ? {} : { timeoutMs: options.dnsTimeoutMs }),
    ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.queriesPerSocket === undefined ? {} : { queriesPerSocket: options.queriesPerSocket }),
    ...(transport === undefined ? {} : { transport }),
  });
  const lookups = options.wrapLookups?.(network) ?? network;
  return {
    ok: true,
    resolver: options.cache === false ? lookups : new CachingResolver(lookups, Date),
    describe: servers.map((s) => `${s.host}:${s.port}`).join(', '),
    queriesSent: () => network.stats.queries,
    ...(note === undefined ? {} : { note }),
  };
}

/**
 * Whether the servers answer at all (any response, NXDOMAIN or REFUSED included) over a transport:
 * one query for "invalid" (RFC 6761 §6.4: a name that never exists, answered without delay).
 */
async function answers(servers: readonly DnsServer[], transport: 'tcp' | 'udp'): Promise<boolean> {
  const probe = new NetworkResolver({ servers, transport, retries: servers.length - 1, timeoutMs: 1500 });
  try {
    return (await probe.lookup('invalid', 'SOA')).kind !== 'timeout';
  } finally {
    probe.close();
  }
}
