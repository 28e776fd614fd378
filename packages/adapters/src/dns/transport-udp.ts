import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import type { DecodedPacket } from 'dns-packet';
import type { Expected } from './message.js';
import { classifyResponse } from './message.js';
import type { DnsServer } from './server.js';

export type UdpOutcome =
  | { readonly kind: 'answer'; readonly packet: DecodedPacket }
  | { readonly kind: 'truncated' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly reason: string }
  | { readonly kind: 'aborted' };

export interface UdpResult {
  readonly outcome: UdpOutcome;
  /** The query as sent (its ID was chosen by the transport). */
  readonly expected: Expected;
  /** What arrived and was not our answer, whatever the outcome. */
  readonly ignored: IgnoredCounts;
}

export interface IgnoredCounts {
  /** Packets dns-packet could not decode. */
  readonly malformed: number;
  /** Well-formed packets that answer some other query (ID, QR or question differ). */
  readonly mismatched: number;
}

interface Pending {
  readonly expected: Expected;
  malformed: number;
  mismatched: number;
  finish(outcome: UdpOutcome): void;
}

/** One socket bound to a kernel-chosen port and connected to one server, shared by queries. */
interface PooledSocket {
  readonly socket: Socket;
  readonly ready: Promise<string | undefined>;
  readonly pending: Map<number, Pending>;
  sent: number;
  retired: boolean;
  closed: boolean;
}

/**
 * DNS over UDP through sockets that carry up to `queriesPerSocket` queries each.
 *
 * With 1 (the resolver's default) every query gets a fresh socket bound to port 0, so the kernel
 * picks a random source port, which with the random ID makes blind spoofing expensive (RFC 5452
 * §9.2). Creating, binding, connecting and closing a socket costs more than the query itself,
 * though: at survey rates it was 60% of a scan's CPU (profiled), so `mailward scan` lets a
 * socket carry a few dozen queries before it is retired, as c-ares does with
 * ARES_OPT_UDP_MAX_QUERIES. The source port still changes every few dozen queries, and the
 * queries on one socket have distinct random IDs.
 *
 * Each socket is connected, so the kernel drops datagrams from other addresses and reports ICMP
 * port-unreachable as an error instead of leaving us waiting (the error fails every query on that
 * socket, which then retry). A response goes to the query with its ID, and is then checked in full
 * (QR, question); anything that is not an answer is counted and ignored: a spoofer's packet must
 * not end the wait for the real one. Sockets are unref'd: only pending queries (their timers)
 * keep a process alive.
 */
export class UdpTransport {
  private readonly active = new Map<string, PooledSocket>();
  /** Ignored packets that arrived when no query was waiting on their socket. */
  private stray = { malformed: 0, mismatched: 0 };

  constructor(private readonly queriesPerSocket: number) {}

  get strayPackets(): IgnoredCounts {
    return { ...this.stray };
  }

  async exchange(
    server: DnsServer,
    question: Omit<Expected, 'id'>,
    encode: (expected: Expected) => Buffer,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<UdpResult> {
    const pooled = this.socketFor(server);
    let id = randomInt(0, 65_536);
    while (pooled.pending.has(id)) id = randomInt(0, 65_536);
    const expected: Expected = { ...question, id };
    pooled.sent += 1;
    if (pooled.sent >= this.queriesPerSocket) this.retire(pooled, server);
    return new Promise<UdpResult>((resolve) => {
      let settled = false;
      const pending: Pending = {
        expected,
        malformed: 0,
        mismatched: 0,
        finish: (outcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          pooled.pending.delete(id);
          if (pooled.retired && pooled.pending.size === 0) this.close(pooled);
          resolve({ outcome, expected, ignored: { malformed: pending.malformed, mismatched: pending.mismatched } });
        },
      };
      const onAbort = (): void => pending.finish({ kind: 'aborted' });
      const timer = setTimeout(() => pending.finish({ kind: 'timeout' }), timeoutMs);
      pooled.pending.set(id, pending);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) return pending.finish({ kind: 'aborted' });
      void pooled.ready.then((problem) => {
        if (settled) return;
        if (problem !== undefined) return pending.finish({ kind: 'error', reason: problem });
        pooled.socket.send(encode(expected), (error) => {
          if (error) pending.finish({ kind: 'error', reason: errorText(error) });
        });
      });
    });
  }

  private socketFor(server: DnsServer): PooledSocket {
    const key = `${server.host}|${server.port}`;
    const current = this.active.get(key);
    if (current !== undefined && !current.closed) return current;
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    socket.unref();
    let signalReady: (problem: string | undefined) => void = () => undefined;
    const pooled: PooledSocket = {
      socket,
      ready: new Promise((resolve) => (signalReady = resolve)),
      pending: new Map(),
      sent: 0,
      retired: false,
      closed: false,
    };
    this.active.set(key, pooled);
    socket.on('error', (error) => {
      signalReady(errorText(error));
      this.retire(pooled, server);
      for (const pending of [...pooled.pending.values()]) pending.finish({ kind: 'error', reason: errorText(error) });
      this.close(pooled);
    });
    socket.on('message', (message: Buffer) => this.dispatch(pooled, message));
    try {
      socket.bind(0, () => socket.connect(server.port, server.host, () => signalReady(undefined)));
    } catch (error) {
      signalReady(errorText(error));
      this.retire(pooled, server);
      this.close(pooled);
    }
    return pooled;
  }

  /** Hands a datagram to the query with its ID; what answers no waiting query is counted. */
  private dispatch(pooled: PooledSocket, message: Buffer): void {
    const byId = message.length >= 2 ? pooled.pending.get(message.readUInt16BE(0)) : undefined;
    // A packet with no matching ID is charged to the oldest waiting query, so its failure says so.
    const target = byId ?? pooled.pending.values().next().value;
    if (target === undefined) {
      const verdict = classifyResponse(message, { id: -1, name: '', type: 'A' });
      if (verdict.kind === 'malformed') this.stray.malformed += 1;
      else this.stray.mismatched += 1;
      return;
    }
    const verdict = classifyResponse(message, target.expected);
    if (verdict.kind === 'malformed') target.malformed += 1;
    else if (verdict.kind === 'mismatched') target.mismatched += 1;
    else target.finish(verdict);
  }

  /** No new queries go to a retired socket; it closes once its last query is done (see finish). */
  private retire(pooled: PooledSocket, server: DnsServer): void {
    pooled.retired = true;
    const key = `${server.host}|${server.port}`;
    if (this.active.get(key) === pooled) this.active.delete(key);
  }

  private close(pooled: PooledSocket): void {
    if (pooled.closed) return;
    pooled.closed = true;
    try {
      pooled.socket.close();
    } catch {
      // Already closed (e.g. after a bind error): nothing to release.
    }
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
