/**
 * A loopback DNS front (UDP and TCP) that relays queries to an upstream server (Knot) and its
 * answers back, except for questions a predicate picks: those are dropped, never answered, which
 * is how a fixture's TIMEOUT is emulated against a real server. It can also answer chosen
 * questions itself with an error RCODE, delay forwarding, and it counts what it sees (queries,
 * IDs, source ports, the most queries in flight at once) so tests can check a resolver's
 * behaviour on the wire.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { decodeOrUndefined, frame, readTcpMessages } from './dns-client.js';
import { LOOPBACK, bindPair, closeServer } from './ports.js';

export interface ProxyQuestion {
  /** Lower-case, without the final dot. */
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

export interface DroppingProxyOptions {
  readonly upstream: { readonly host: string; readonly port: number };
  /** Questions to drop silently (the client sees a timeout). */
  readonly drop?: (question: ProxyQuestion) => boolean;
  /** Questions to answer here with this RCODE instead of forwarding. */
  readonly rcode?: (question: ProxyQuestion) => 'SERVFAIL' | 'REFUSED' | undefined;
  /** Wait this long before forwarding each query (makes concurrency observable). */
  readonly delayMs?: number;
}

export interface ProxyStats {
  received: number;
  dropped: number;
  forwarded: number;
  inFlight: number;
  maxInFlight: number;
  tcpQueries: number;
  readonly ids: number[];
  readonly sourcePorts: number[];
  readonly questions: ProxyQuestion[];
}

export interface DroppingProxy {
  readonly host: string;
  readonly port: number;
  readonly stats: ProxyStats;
  stop(): Promise<void>;
}

const UPSTREAM_TIMEOUT_MS = 5000;

export async function startDroppingProxy(options: DroppingProxyOptions): Promise<DroppingProxy> {
  const { port, udp, tcp } = await bindPair(LOOPBACK);
  const stats: ProxyStats = {
    received: 0,
    dropped: 0,
    forwarded: 0,
    inFlight: 0,
    maxInFlight: 0,
    tcpQueries: 0,
    ids: [],
    sourcePorts: [],
    questions: [],
  };
  const open = new Set<{ destroy(): void }>();
  let stopped = false;

  /** Decides for one query; resolves to the answer bytes, or undefined to stay silent. */
  const handle = async (message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> => {
    const query = decodeOrUndefined(message);
    const first = query?.questions?.[0];
    if (!query || !first) return undefined;
    const question: ProxyQuestion = { name: first.name.toLowerCase().replace(/\.$/, ''), type: first.type, transport };
    stats.received += 1;
    stats.ids.push(query.id ?? 0);
    stats.questions.push(question);
    if (options.drop?.(question)) {
      stats.dropped += 1;
      return undefined;
    }
    const rcode = options.rcode?.(question);
    if (rcode) return errorResponse(query, rcode);
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      stats.forwarded += 1;
      // TCP queries go upstream over UDP too (one datagram instead of a connection per query, so the
      // proxy keeps up with a pipelining client); only a truncated answer is fetched over TCP.
      const reply = await forwardUdp(message);
      if (transport === 'udp' || (reply !== undefined && !isTruncated(reply))) return reply;
      return await forwardTcp(message);
    } finally {
      stats.inFlight -= 1;
    }
  };

  const forwardUdp = (message: Buffer): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const socket = createSocket('udp4');
      const closer = { destroy: () => done(undefined) };
      open.add(closer);
      const done = (reply: Buffer | undefined): void => {
        if (!open.delete(closer)) return;
        clearTimeout(timer);
        socket.close();
        resolve(reply);
      };
      const timer = setTimeout(() => done(undefined), UPSTREAM_TIMEOUT_MS);
      socket.on('message', (reply: Buffer) => done(reply));
      socket.on('error', () => done(undefined));
      socket.send(message, options.upstream.port, options.upstream.host);
    });

  const forwardTcp = (message: Buffer): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const socket = connect(options.upstream);
      open.add(socket);
      let buffer = Buffer.alloc(0);
      const done = (reply: Buffer | undefined): void => {
        open.delete(socket);
        clearTimeout(timer);
        socket.destroy();
        resolve(reply);
      };
      const timer = setTimeout(() => done(undefined), UPSTREAM_TIMEOUT_MS);
      socket.on('error', () => done(undefined));
      socket.on('connect', () => socket.write(frame(message)));
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        if (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
          done(buffer.subarray(2, 2 + buffer.readUInt16BE(0)));
        }
      });
    });

  udp.on('message', (message: Buffer, client: RemoteInfo) => {
    stats.sourcePorts.push(client.port);
    void handle(message, 'udp').then((reply) => {
      if (reply && !stopped) udp.send(reply, client.port, client.address);
    });
  });

  tcp.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    readTcpMessages(socket, (message) => {
      stats.tcpQueries += 1;
      void handle(message, 'tcp').then((reply) => {
        if (reply && !socket.destroyed) socket.write(frame(reply));
      });
    });
  });

  return {
    host: LOOPBACK,
    port,
    stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const socket of [...open]) socket.destroy();
      udp.close();
      await closeServer(tcp);
    },
  };
}

function isTruncated(reply: Buffer): boolean {
  return reply.length >= 4 && (reply.readUInt16BE(2) & 0x0200) !== 0;
}

/** A response carrying only the question and an error RCODE. */
export function errorResponse(query: DecodedPacket, rcode: 'SERVFAIL' | 'REFUSED'): Buffer {
  const code = rcode === 'SERVFAIL' ? 2 : 5;
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | code,
    questions: query.questions ?? [],
  });
}
