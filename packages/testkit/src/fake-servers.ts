/**
 * Misbehaving DNS servers on loopback, for the failure paths a real server will not produce on
 * demand: one that never answers, one that answers garbage, and a scriptable one.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { decodeOrUndefined, frame, readTcpMessages } from './dns-client.js';
import { LOOPBACK, bindPair, closeServer } from './ports.js';

/** Given a query (undefined if it did not decode), the messages to send back, in order. */
export type Responder = (query: DecodedPacket | undefined, raw: Buffer) => Buffer[];

export interface FakeServer {
  readonly host: string;
  readonly port: number;
  /** Queries received so far, per transport. */
  readonly received: { udp: number; tcp: number };
  stop(): Promise<void>;
}

export interface FakeServerOptions {
  readonly udp?: Responder;
  readonly tcp?: Responder;
  readonly host?: string;
}

export async function startFakeServer(options: FakeServerOptions): Promise<FakeServer> {
  const host = options.host ?? LOOPBACK;
  const { port, udp, tcp } = await bindPair(host);
  const received = { udp: 0, tcp: 0 };
  const connections = new Set<Socket>();
  udp.on('message', (message: Buffer, client: RemoteInfo) => {
    received.udp += 1;
    for (const reply of options.udp?.(decodeOrUndefined(message), message) ?? []) {
      udp.send(reply, client.port, client.address);
    }
  });
  tcp.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    readTcpMessages(socket, (message) => {
      received.tcp += 1;
      for (const reply of options.tcp?.(decodeOrUndefined(message), message) ?? []) socket.write(frame(reply));
    });
  });
  return {
    host,
    port,
    received,
    async stop() {
      for (const socket of connections) socket.destroy();
      udp.close();
      await closeServer(tcp);
    },
  };
}

/** Binds UDP and TCP and never answers anything. */
export function startSilentServer(): Promise<FakeServer> {
  return startFakeServer({});
}

export type GarbageKind = 'malformed' | 'wrong-id' | 'wrong-question' | 'not-a-response';

/** Answers every query (UDP and TCP) with one unusable message per listed kind, never a good one. */
export function startGarbageServer(kinds: readonly GarbageKind[]): Promise<FakeServer> {
  const respond: Responder = (query) => (query ? kinds.map((kind) => garbage(kind, query)) : []);
  return startFakeServer({ udp: respond, tcp: respond });
}

export function garbage(kind: GarbageKind, query: DecodedPacket): Buffer {
  const good = respondTo(query, { answers: [] });
  switch (kind) {
    case 'malformed':
      // A header promising one answer record that is not there.
      return Buffer.concat([good.subarray(0, 6), Buffer.from([0, 1]), good.subarray(8)]);
    case 'wrong-id': {
      const copy = Buffer.from(good);
      copy.writeUInt16BE(((query.id ?? 0) + 1) & 0xffff, 0);
      return copy;
    }
    case 'wrong-question':
      return respondTo({ ...query, questions: [{ name: 'other.invalid', type: 'A', class: 'IN' }] }, { answers: [] });
    case 'not-a-response':
      return dnsPacket.encode({ ...query, type: 'query', answers: [], authorities: [], additionals: [] });
  }
}

export interface ResponseParts {
  readonly answers?: Answer[];
  readonly authorities?: Answer[];
  /** RCODE number (default 0). */
  readonly rcode?: number;
  /** Extra header flags, e.g. dnsPacket.TRUNCATED_RESPONSE or AUTHENTIC_DATA. */
  readonly flags?: number;
}

/** A response to `query` echoing its ID and question. */
export function respondTo(query: DecodedPacket, parts: ResponseParts): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: (parts.flags ?? 0) | (parts.rcode ?? 0),
    questions: query.questions ?? [],
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
  });
}
