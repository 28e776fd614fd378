import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type { Expected } from './message.js';
import { classifyResponse } from './message.js';
import type { DnsServer } from './server.js';
import type { TcpOutcome } from './transport-tcp.js';
import { errorText } from './transport-udp.js';

interface Pending {
  readonly expected: Expected;
  finish(outcome: TcpOutcome): void;
}

interface Connection {
  readonly socket: Socket;
  readonly pending: Map<number, Pending>;
  /** Length-prefixed queries waiting for the next write. */
  queued: Buffer[];
  flushScheduled: boolean;
  connected: boolean;
  closed: boolean;
  received: Buffer;
  sent: number;
}

/** Queries waiting on one connection at most; more open another connection. */
const MAX_PENDING_PER_CONNECTION = 256;
/** A connection carries this many queries, then the next one opens (IDs and state stay fresh). */
const MAX_QUERIES_PER_CONNECTION = 20_000;

/**
 * DNS over long-lived TCP connections with pipelining (RFC 7766 §6.2.1.1), for bulk scans.
 *
 * Why: on this kind of machine a UDP send costs tens of microseconds of system time, the largest
 * cost of a survey (profiled). Here the queries issued in one turn of the event loop leave in a
 * single write, and one read brings many answers. Servers may answer out of order (RFC 7766 §7),
 * so answers are matched by ID, which is unique among a connection's queries in flight, and then
 * checked in full (QR, question). As with single-query TCP, no one can inject into the stream
 * without seeing it, so a malformed or mismatched message is the server's fault: the connection
 * is closed and its queries fail with the reason (the resolver retries them on a new one).
 *
 * A connection the server closes (idle timeout, query limit) fails only the queries still in flight
 * on it; the next query opens a new one. Sockets are unref'd: pending queries' timers keep a
 * process alive, an idle connection does not.
 */
export class TcpPipeline {
  private readonly connections = new Map<string, Connection[]>();

  exchange(
    server: DnsServer,
    question: Omit<Expected, 'id'>,
    encode: (expected: Expected) => Buffer,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ outcome: TcpOutcome; expected: Expected }> {
    const connection = this.connectionFor(server);
    let id = randomInt(0, 65_536);
    while (connection.pending.has(id)) id = randomInt(0, 65_536);
    const expected: Expected = { ...question, id };
    connection.sent += 1;
    return new Promise((resolve) => {
      let settled = false;
      const pending: Pending = {
        expected,
        finish: (outcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          connection.pending.delete(id);
          // A connection that has carried its share is closed once its last answer is in.
          if (connection.sent >= MAX_QUERIES_PER_CONNECTION && connection.pending.size === 0) this.retire(connection);
          resolve({ outcome, expected });
        },
      };
      const onAbort = (): void => pending.finish({ kind: 'aborted' });
      const timer = setTimeout(() => pending.finish({ kind: 'timeout' }), timeoutMs);
      connection.pending.set(id, pending);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) return pending.finish({ kind: 'aborted' });
      const message = encode(expected);
      const framed = Buffer.allocUnsafe(2 + message.length);
      framed.writeUInt16BE(message.length, 0);
      message.copy(framed, 2);
      connection.queued.push(framed);
      this.scheduleFlush(connection);
    });
  }

  /** Closes every connection (tests; a long-running process that is done with DNS). */
  close(): void {
    for (const list of this.connections.values()) for (const c of list) this.fail(c, 'the resolver was closed');
    this.connections.clear();
  }

  private connectionFor(server: DnsServer): Connection {
    const key = `${server.host}|${server.port}`;
    const list = (this.connections.get(key) ?? []).filter((c) => !c.closed && c.sent < MAX_QUERIES_PER_CONNECTION);
    this.connections.set(key, list);
    const usable = list.find((c) => c.pending.size < MAX_PENDING_PER_CONNECTION);
    if (usable !== undefined) return usable;
    const socket = connect({ host: server.host, port: server.port });
    socket.setNoDelay(true);
    socket.unref();
    const connection: Connection = {
      socket,
      pending: new Map(),
      queued: [],
      flushScheduled: false,
      connected: false,
      closed: false,
      received: Buffer.alloc(0),
      sent: 0,
    };
    list.push(connection);
    socket.once('connect', () => {
      connection.connected = true;
      this.flush(connection);
    });
    socket.on('data', (chunk: Buffer) => this.receive(connection, chunk));
    socket.on('error', (error) => this.fail(connection, errorText(error)));
    socket.on('close', () => this.fail(connection, 'the server closed the connection'));
    return connection;
  }

  private scheduleFlush(connection: Connection): void {
    if (connection.flushScheduled || !connection.connected) return;
    connection.flushScheduled = true;
    // All queries issued in this turn of the event loop go out in one write.
    setImmediate(() => this.flush(connection));
  }

  private flush(connection: Connection): void {
    connection.flushScheduled = false;
    if (connection.closed || connection.queued.length === 0) return;
    const batch = connection.queued.length === 1 ? (connection.queued[0] as Buffer) : Buffer.concat(connection.queued);
    connection.queued = [];
    connection.socket.write(batch);
  }

  private receive(connection: Connection, chunk: Buffer): void {
    let buffer = connection.received.length === 0 ? chunk : Buffer.concat([connection.received, chunk]);
    while (buffer.length >= 2) {
      const length = buffer.readUInt16BE(0);
      if (buffer.length < 2 + length) break;
      const message = buffer.subarray(2, 2 + length);
      buffer = buffer.subarray(2 + length);
      const pending = message.length >= 2 ? connection.pending.get(message.readUInt16BE(0)) : undefined;
      // An answer to a query that timed out or was aborted: nothing waits for it any more.
      if (pending === undefined) continue;
      const verdict = classifyResponse(message, pending.expected);
      if (verdict.kind === 'answer') pending.finish(verdict);
      else {
        const reason = verdict.kind === 'truncated' ? 'a truncated answer over TCP' : verdict.reason;
        pending.finish({ kind: 'unusable', reason: `TCP answer: ${reason}` });
      }
    }
    // Keep only the unfinished message, copied so the chunk it came in can be collected.
    connection.received = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
  }

  private retire(connection: Connection): void {
    connection.closed = true;
    connection.socket.destroy();
  }

  private fail(connection: Connection, reason: string): void {
    if (!connection.closed) {
      connection.closed = true;
      connection.socket.destroy();
    }
    for (const pending of [...connection.pending.values()]) pending.finish({ kind: 'error', reason });
  }
}
