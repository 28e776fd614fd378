import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, RecordType } from 'dns-packet';

export interface RawQuery {
  readonly host: string;
  readonly port: number;
  readonly name: string;
  readonly type: RecordType;
  readonly tcp?: boolean;
  readonly timeoutMs?: number;
}

/**
 * One plain query with dns-packet, independent of the resolver under test, so that the
 * harnesses (Knot readiness, proxies) do not depend on the code they are used to test.
 * Resolves undefined on timeout or error; RD clear, no EDNS.
 */
export function rawQuery(query: RawQuery): Promise<DecodedPacket | undefined> {
  const message = dnsPacket.encode({
    type: 'query',
    id: Math.floor(Math.random() * 65_536),
    questions: [{ name: query.name, type: query.type, class: 'IN' }],
  });
  return query.tcp ? overTcp(query, message) : overUdp(query, message);
}

function overUdp(query: RawQuery, message: Buffer): Promise<DecodedPacket | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(query.host.includes(':') ? 'udp6' : 'udp4');
    const done = (packet: DecodedPacket | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(packet);
    };
    const timer = setTimeout(() => done(undefined), query.timeoutMs ?? 1000);
    socket.on('error', () => done(undefined));
    socket.on('message', (reply: Buffer) => done(decodeOrUndefined(reply)));
    socket.send(message, query.port, query.host);
  });
}

function overTcp(query: RawQuery, message: Buffer): Promise<DecodedPacket | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: query.host, port: query.port });
    let buffer = Buffer.alloc(0);
    const done = (packet: DecodedPacket | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(packet);
    };
    const timer = setTimeout(() => done(undefined), query.timeoutMs ?? 1000);
    socket.on('error', () => done(undefined));
    socket.on('connect', () => socket.write(frame(message)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        done(decodeOrUndefined(buffer.subarray(2, 2 + buffer.readUInt16BE(0))));
      }
    });
  });
}

/** Adds the two-byte length prefix of DNS over TCP. */
export function frame(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length, 0);
  return Buffer.concat([length, message]);
}

export function decodeOrUndefined(message: Buffer): DecodedPacket | undefined {
  try {
    return dnsPacket.decode(message);
  } catch {
    return undefined;
  }
}

/** The RCODE in a response header (low four bits of the flags). */
export function rcodeOf(packet: DecodedPacket): number {
  return (packet.flags ?? 0) & 0x0f;
}

/**
 * Reads length-prefixed DNS messages (RFC 1035 §4.2.2) from a TCP socket, however the stream
 * splits them, and calls `onMessage` for each one. Shared by every test server.
 */
export function readTcpMessages(socket: Socket, onMessage: (message: Buffer) => void): void {
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
      const message = buffer.subarray(2, 2 + buffer.readUInt16BE(0));
      buffer = buffer.subarray(2 + message.length);
      onMessage(message);
    }
  });
}
