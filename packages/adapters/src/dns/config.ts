import { isIP } from 'node:net';
import type { DnsServer } from './server.js';

export interface NetworkResolverConfig {
  /** Servers asked in order; each retry moves on to the next one. */
  readonly servers: readonly DnsServer[];
  /** How long one attempt waits for an answer, in milliseconds (default 2000). */
  readonly timeoutMs?: number;
  /** Extra attempts after the first one times out or fails to connect (default 2). */
  readonly retries?: number;
  /** Most queries on the wire at once; the rest wait in a queue (default 32). */
  readonly maxInFlight?: number;
  /**
   * UDP payload size advertised with EDNS0 (default 1232, the DNS Flag Day 2020 value that avoids
   * IP fragmentation); 0 sends no OPT record (plain 512-byte DNS).
   */
  readonly ednsPayload?: number;
  /** RD bit (default true: the usual upstream is a recursive resolver; authoritative ones ignore it). */
  readonly recursionDesired?: boolean;
  /**
   * Queries one UDP socket (one source port) carries before a new one is opened (default 1: a fresh
   * random source port per query, RFC 5452 §9.2). Bulk scans raise it: see transport-udp.ts.
   */
  readonly queriesPerSocket?: number;
  /**
   * 'udp' (default): UDP, and TCP for truncated answers. 'tcp': long-lived TCP connections with
   * pipelined queries (RFC 7766), for bulk scans; see transport-tcp-pipeline.ts.
   */
  readonly transport?: 'udp' | 'tcp';
}

export type ResolvedConfig = Required<NetworkResolverConfig>;

export const DEFAULTS = {
  timeoutMs: 2000,
  retries: 2,
  maxInFlight: 32,
  ednsPayload: 1232,
  recursionDesired: true,
  queriesPerSocket: 1,
  transport: 'udp',
} as const;

/**
 * Fills in defaults and rejects nonsense. A bad configuration is a programming or setup error,
 * not a DNS condition, so this throws (once, at construction) rather than failing every lookup.
 */
export function resolveConfig(config: NetworkResolverConfig): ResolvedConfig {
  const resolved: ResolvedConfig = { ...DEFAULTS, ...stripUndefined(config), servers: [...config.servers] };
  if (resolved.servers.length === 0) throw new RangeError('NetworkResolver needs at least one server');
  for (const server of resolved.servers) {
    if (isIP(server.host) === 0) throw new RangeError(`DNS server host ${JSON.stringify(server.host)} is not an IP`);
    if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65_535) {
      throw new RangeError(`DNS server port ${server.port} is not in 1..65535`);
    }
  }
  requireInteger('timeoutMs', resolved.timeoutMs, 1, 600_000);
  requireInteger('retries', resolved.retries, 0, 100);
  requireInteger('maxInFlight', resolved.maxInFlight, 1, 65_536);
  requireInteger('queriesPerSocket', resolved.queriesPerSocket, 1, 10_000);
  if (resolved.transport !== 'udp' && resolved.transport !== 'tcp') {
    throw new RangeError(`transport must be "udp" or "tcp", got ${JSON.stringify(resolved.transport)}`);
  }
  if (resolved.ednsPayload !== 0) requireInteger('ednsPayload', resolved.ednsPayload, 512, 65_535);
  return resolved;
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
