import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
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
  /** What arrived and was not our answer, whatever the outcome. */
  readonly ignored: IgnoredCounts;
}

export interface IgnoredCounts {
  /** Packets dns-packet could not decode. */
  readonly malformed: number;
  /** Well-formed packets that answer some other query (ID, QR or question differ). */
  readonly mismatched: number;
}

/**
 * Sends one query over UDP and waits for its answer. Each query gets a fresh socket bound to
 * port 0 so the kernel picks a random source port, which with the random ID makes blind
 * spoofing expensive (RFC 5452). The socket is connected, so the kernel drops datagrams from
 * other addresses and reports ICMP port-unreachable as an error instead of leaving us waiting.
 * Anything that is not our answer is counted and ignored: a spoofer's packet must not end the
 * wait for the real one.
 */
export function udpExchange(
  server: DnsServer,
  query: Buffer,
  expected: Expected,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<UdpResult> {
  return new Promise((resolve) => {
    let malformed = 0;
    let mismatched = 0;
    let socket: Socket | undefined;
    let settled = false;
    const finish = (outcome: UdpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      try {
        socket?.close();
      } catch {
        // Already closed (e.g. after a bind error): nothing to release.
      }
      resolve({ outcome, ignored: { malformed, mismatched } });
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return finish({ kind: 'aborted' });
    const fail = (error: unknown): void => finish({ kind: 'error', reason: errorText(error) });
    try {
      socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
      socket.on('error', fail);
      socket.on('message', (message: Buffer) => {
        const verdict = classifyResponse(message, expected);
        if (verdict.kind === 'malformed') malformed += 1;
        else if (verdict.kind === 'mismatched') mismatched += 1;
        else finish(verdict);
      });
      const connected = socket;
      connected.bind(0, () => {
        connected.connect(server.port, server.host, () => {
          if (!settled) connected.send(query, (error) => error && fail(error));
        });
      });
    } catch (error) {
      fail(error);
    }
  });
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
