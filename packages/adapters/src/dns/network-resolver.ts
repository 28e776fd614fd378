import { randomInt } from 'node:crypto';
import type { DecodedPacket } from 'dns-packet';
import type { DnsFailure, LookupOptions, LookupResult, RecordData, RecordType, Resolver } from '@mailward/core';
import { normalizeName } from '@mailward/core';
import type { NetworkResolverConfig, ResolvedConfig } from './config.js';
import { resolveConfig } from './config.js';
import { interpretResponse } from './interpret.js';
import { Limiter } from './limiter.js';
import type { Expected } from './message.js';
import { buildQuery, queryNameProblem } from './message.js';
import type { DnsServer } from './server.js';
import { formatServer } from './server.js';
import { tcpExchange } from './transport-tcp.js';
import type { TcpOutcome } from './transport-tcp.js';
import { UdpTransport } from './transport-udp.js';
import { TcpPipeline } from './transport-tcp-pipeline.js';
import type { IgnoredCounts } from './transport-udp.js';

/** Counters since construction, for tests and diagnostics. */
export interface NetworkResolverStats {
  /** Queries sent (UDP and TCP, retries included). */
  readonly queries: number;
  readonly tcpFallbacks: number;
  /** UDP packets ignored because they could not be decoded. */
  readonly malformed: number;
  /** UDP packets ignored because they answered some other question. */
  readonly mismatched: number;
  /** Attempts that ended without an answer (timeouts and network errors). */
  readonly failedAttempts: number;
}

type Exchange = { readonly kind: 'packet'; readonly packet: DecodedPacket; readonly origin: string } | DnsFailure;

type AttemptOutcome = TcpOutcome | { readonly kind: 'timeout'; readonly ignored: IgnoredCounts };

const ABORTED = { kind: 'timeout', reason: 'aborted' } as const;

/**
 * A stub resolver speaking DNS over UDP (EDNS0, falling back to TCP on truncation) to
 * configured servers, recursive or authoritative. It never throws for DNS or network
 * conditions: every outcome is one of core's typed results.
 */
export class NetworkResolver implements Resolver {
  private readonly config: ResolvedConfig;
  private readonly limiter: Limiter;
  private readonly udp: UdpTransport;
  private readonly pipeline: TcpPipeline | undefined;
  private readonly counters = { queries: 0, tcpFallbacks: 0, malformed: 0, mismatched: 0, failedAttempts: 0 };

  constructor(config: NetworkResolverConfig) {
    this.config = resolveConfig(config);
    this.limiter = new Limiter(this.config.maxInFlight);
    this.udp = new UdpTransport(this.config.queriesPerSocket);
    this.pipeline = this.config.transport === 'tcp' ? new TcpPipeline() : undefined;
  }

  get stats(): NetworkResolverStats {
    const stray = this.udp.strayPackets;
    return {
      ...this.counters,
      malformed: this.counters.malformed + stray.malformed,
      mismatched: this.counters.mismatched + stray.mismatched,
    };
  }

  get servers(): readonly DnsServer[] {
    return this.config.servers;
  }

  /** Closes pipelined TCP connections (UDP sockets close by themselves when idle). */
  close(): void {
    this.pipeline?.close();
  }

  async lookup<T extends RecordType>(name: string, type: T, options?: LookupOptions): Promise<LookupResult<T>> {
    const problem = queryNameProblem(name);
    if (problem) return { kind: 'servfail', reason: `cannot query ${JSON.stringify(name)}: ${problem}` };
    const signal = options?.signal;
    const checkingDisabled = options?.checkingDisabled === true;
    const visited = new Set<string>();
    const cnames: string[] = [];
    let ttl = Number.POSITIVE_INFINITY;
    let authenticated = true;
    let current = normalizeName(name);
    // Each round asks for the end of the CNAME chain so far; interpretResponse bounds the chain.
    for (;;) {
      const exchange = await this.exchange(current, type, signal, checkingDisabled);
      if (exchange.kind !== 'packet') return exchange;
      const outcome = interpretResponse(exchange.packet, current, type, exchange.origin, { visited });
      if (outcome.kind === 'answer') {
        return {
          kind: 'answer',
          records: outcome.records as readonly RecordData[T][],
          ttl: Math.min(ttl, outcome.ttl),
          cnames: [...cnames, ...outcome.cnames],
          authenticated: authenticated && outcome.authenticated,
        };
      }
      if (outcome.kind !== 'follow') return outcome;
      visited.add(current);
      for (const cname of outcome.cnames) visited.add(cname);
      cnames.push(...outcome.cnames);
      ttl = Math.min(ttl, outcome.ttl);
      authenticated &&= outcome.authenticated;
      current = outcome.target;
    }
  }

  /** One question, with retries across servers, until a usable response or a failure. */
  private async exchange(
    name: string,
    type: RecordType,
    signal: AbortSignal | undefined,
    checkingDisabled: boolean,
  ): Promise<Exchange> {
    const { servers, retries, timeoutMs } = this.config;
    const problems: string[] = [];
    let malformed = 0;
    let mismatched = 0;
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      const server = servers[attempt % servers.length] as DnsServer;
      const origin = formatServer(server);
      if (!(await this.limiter.acquire(signal))) return ABORTED;
      let outcome: AttemptOutcome;
      try {
        outcome = await this.attempt(server, name, type, signal, checkingDisabled);
      } finally {
        this.limiter.release();
      }
      switch (outcome.kind) {
        case 'answer':
          return { kind: 'packet', packet: outcome.packet, origin };
        case 'aborted':
          return ABORTED;
        case 'unusable':
          return { kind: 'servfail', reason: `${origin}: ${outcome.reason}` };
        case 'timeout':
          this.counters.failedAttempts += 1;
          malformed += 'ignored' in outcome ? outcome.ignored.malformed : 0;
          mismatched += 'ignored' in outcome ? outcome.ignored.mismatched : 0;
          problems.push(`${origin}: no answer within ${timeoutMs} ms`);
          break;
        case 'error':
          this.counters.failedAttempts += 1;
          problems.push(`${origin}: ${outcome.reason}`);
          break;
      }
    }
    const ignored =
      malformed + mismatched > 0
        ? `; ignored ${malformed} malformed and ${mismatched} mismatched answer(s) received instead`
        : '';
    return {
      kind: 'timeout',
      reason: `no usable answer for ${name} ${type} after ${retries + 1} attempt(s) (${problems.join('; ')})${ignored}`,
    };
  }

  /** One attempt at one server: UDP, then TCP if the UDP answer was truncated. */
  private async attempt(
    server: DnsServer,
    name: string,
    type: RecordType,
    signal: AbortSignal | undefined,
    checkingDisabled: boolean,
  ): Promise<AttemptOutcome> {
    const { timeoutMs, ednsPayload, recursionDesired } = this.config;
    const queryOptions = { ednsPayload, recursionDesired, checkingDisabled };
    this.counters.queries += 1;
    if (this.pipeline !== undefined) {
      const { outcome } = await this.pipeline.exchange(
        server,
        { name, type },
        (query) => buildQuery(query, queryOptions),
        timeoutMs,
        signal,
      );
      return outcome.kind === 'timeout' ? { kind: 'timeout', ignored: { malformed: 0, mismatched: 0 } } : outcome;
    }
    const { outcome, ignored, expected } = await this.udp.exchange(
      server,
      { name, type },
      (query) => buildQuery(query, queryOptions),
      timeoutMs,
      signal,
    );
    this.counters.malformed += ignored.malformed;
    this.counters.mismatched += ignored.mismatched;
    if (outcome.kind === 'timeout') return { kind: 'timeout', ignored };
    if (outcome.kind !== 'truncated') return outcome;
    this.counters.tcpFallbacks += 1;
    this.counters.queries += 1;
    // A fresh ID: the UDP one has been on the wire already.
    const retry: Expected = { ...expected, id: randomInt(0, 65_536) };
    return tcpExchange(server, buildQuery(retry, queryOptions), retry, timeoutMs, signal);
  }
}
