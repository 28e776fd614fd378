import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { DecodedPacket } from 'dns-packet';
import type { Expected } from './message.js';
import { classifyResponse } from './message.js';
import type { DnsServer } from './server.js';
import { errorText } from './transport-udp.js';

export type TcpOutcome =
  | { readonly kind: 'answer'; readonly packet: DecodedPacket }
  /** The server sent a complete message that is not a usable answer to our query. */
  | { readonly kind: 'unusable'; readonly reason: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly reason: string }
  | { readonly kind: 'aborted' };

/**
 * Sends one query over TCP (RFC 1035 §4.2.2: two-byte length prefix) and reads one message.
 * Unlike UDP, nobody can inject into the connection without also seeing our packets, so a
 * wrong or undecodable answer is the server's and ends the exchange as unusable.
 */
export function tcpExchange(
  server: DnsServer,
  query: Buffer,
  expected: Expected,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<TcpOutcome> {
  return new Promise((resolve) => {
    let socket: Socket | undefined;
    let settled = false;
    let received = Buffer.alloc(0);
    const finish = (outcome: TcpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket?.destroy();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return finish({ kind: 'aborted' });
    const framed = Buffer.alloc(2 + query.length);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    try {
      socket = connect({ host: server.host, port: server.port });
      socket.on('connect', () => socket?.write(framed));
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 2) return;
        const length = received.readUInt16BE(0);
        if (received.length < 2 + length) return;
        const verdict = classifyResponse(received.subarray(2, 2 + length), expected);
        if (verdict.kind === 'answer') finish(verdict);
        else if (verdict.kind === 'truncated') finish({ kind: 'unusable', reason: 'TCP answer has the TC bit set' });
        else finish({ kind: 'unusable', reason: `${verdict.kind} TCP answer: ${verdict.reason}` });
      });
      socket.on('end', () => finish({ kind: 'error', reason: 'connection closed before a complete answer' }));
      socket.on('error', (error) => finish({ kind: 'error', reason: errorText(error) }));
    } catch (error) {
      finish({ kind: 'error', reason: errorText(error) });
    }
  });
}
