// The milter socket server: a net server on inet:HOST:PORT or unix:PATH, one MilterSession per
// connection (Postfix opens one per SMTP connection: milter8.c, LIBMILTER_AUTO_DISCONNECT).
// The protocol is in @mailward/core; here are only the socket, the timers and the flow control:
// - the socket is paused while a command is handled, so a fast MTA cannot queue unbounded data;
// - replies wait for 'drain' when the socket's buffer is full;
// - a session holds at most one packet (FrameDecoder limit) plus the commands of one read;
// - garbage, an oversized length, a timeout or a dropped connection end that session only.
import { Buffer } from 'node:buffer';
import { createServer, type Server, type Socket } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import { milter } from '@mailward/core';
import { formatListenAddress, parseListenAddress, type ListenAddress } from './listen-address.js';

export interface MilterServerOptions {
  listen: string;
  /** A handler per session: per-message state lives in it. */
  createHandler: () => milter.MilterHandler;
  wants: milter.MilterWants;
  timeouts?: Partial<milter.SessionTimeouts>;
  maxPacketBytes?: number;
  /**
   * While a handler works on a command the MTA waits for, send SMFIR_PROGRESS this often, so a
   * slow DNS answer does not trip Postfix's milter_command_timeout (30 s) or
   * milter_content_timeout (300 s): each read there restarts the timer (milter8.c
   * milter8_event). Default 10 s; 0 turns it off.
   */
  progressMs?: number;
  /** Connections beyond this are closed at once (each costs one packet buffer at most). */
  maxSessions?: number;
  onSessionEnd?: (end: MilterSessionEnd) => void;
}

export type MilterSessionEndReason =
  'quit' | 'closed' | 'timeout' | 'protocol' | 'socket-error' | 'server-close' | 'busy';

export interface MilterSessionEnd {
  id: number;
  peer: string;
  reason: MilterSessionEndReason;
  /** One line: what went wrong, for the log. */
  error?: string;
  /** Problems that did not end the session (a handler that threw), in order. */
  warnings: string[];
}

export interface MilterServer {
  /** Where it listens, with the real port when 0 was asked. */
  readonly address: string;
  readonly activeSessions: number;
  /**
   * Stops accepting connections; open sessions go on (a drain: wait for activeSessions to reach
   * 0, then close()). Idempotent.
   */
  stopAccepting(): void;
  close(): Promise<void>;
}

export async function startMilterServer(options: MilterServerOptions): Promise<MilterServer> {
  const parsed = parseListenAddress(options.listen);
  if (!parsed.ok) throw new Error(parsed.error);
  const timeouts = { ...milter.DEFAULT_TIMEOUTS, ...options.timeouts };
  const sockets = new Map<Socket, (reason: MilterSessionEndReason, error?: string) => void>();
  let nextId = 1;

  const server = createServer({ pauseOnConnect: false }, (socket) => {
    const id = nextId++;
    // Replies are small and latency-bound; Nagle's algorithm only delays them (a no-op on unix:).
    socket.setNoDelay(true);
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'local';
    if (options.maxSessions !== undefined && sockets.size >= options.maxSessions) {
      socket.destroy();
      options.onSessionEnd?.({ id, peer, reason: 'busy', error: `over ${options.maxSessions} sessions`, warnings: [] });
      return;
    }
    const finish = runSession(socket, options, timeouts, (reason, error, warnings) => {
      sockets.delete(socket);
      options.onSessionEnd?.({ id, peer, reason, warnings, ...(error ? { error } : {}) });
    });
    sockets.set(socket, finish);
  });

  const address = await listen(server, parsed.address);
  // server.close() may be called once: it stops listening, and its callback runs when the last
  // connection is gone.
  let closed: Promise<void> | undefined;
  const stopListening = () => (closed ??= new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    address: formatListenAddress(address),
    get activeSessions() {
      return sockets.size;
    },
    stopAccepting() {
      void stopListening();
    },
    async close() {
      const done = stopListening();
      for (const finish of [...sockets.values()]) finish('server-close');
      await done;
      if (address.kind === 'unix') await unlink(address.path).catch(() => undefined);
    },
  };
}

async function listen(server: Server, address: ListenAddress): Promise<ListenAddress> {
  if (address.kind === 'unix') {
    // A socket file left by a previous run would make listen fail with EADDRINUSE; remove it,
    // but never a file that is not a socket.
    const existing = await lstat(address.path).catch(() => undefined);
    if (existing?.isSocket()) await unlink(address.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
  const bound = server.address();
  if (address.kind === 'inet' && bound && typeof bound === 'object')
    return { kind: 'inet', host: address.host, port: bound.port };
  return address;
}

function runSession(
  socket: Socket,
  options: MilterServerOptions,
  timeouts: milter.SessionTimeouts,
  onEnd: (reason: MilterSessionEndReason, error: string | undefined, warnings: string[]) => void,
): (reason: MilterSessionEndReason, error?: string) => void {
  const decoder = new milter.FrameDecoder(options.maxPacketBytes);
  const session = new milter.MilterSession(options.createHandler(), options.wants, timeouts);
  const queue: milter.Frame[] = [];
  const warnings: string[] = [];
  let framingError: string | undefined;
  let busy = false;
  let ended = false;
  let peerEnded = false;
  const progressMs = options.progressMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;

  const finish = (reason: MilterSessionEndReason, error?: string) => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    queue.length = 0;
    if (reason === 'quit') socket.end();
    else socket.destroy();
    void session.end().catch(() => undefined);
    onEnd(reason, error, warnings);
  };

  const armTimer = () => {
    if (timer) clearTimeout(timer);
    if (ended || busy) return;
    const midPacket = decoder.midPacket;
    const ms = session.readTimeoutMs(midPacket);
    timer = setTimeout(() => {
      const waiting = midPacket
        ? 'the rest of a packet'
        : session.stage === 'start'
          ? 'OPTNEG'
          : `the next command (stage ${session.stage})`;
      finish('timeout', `no data for ${ms} ms while waiting for ${waiting}`);
    }, ms);
  };

  const write = (bytes: Uint8Array) =>
    new Promise<void>((resolve) => {
      if (socket.write(bytes)) resolve();
      else socket.once('drain', () => resolve());
    });

  const pump = async () => {
    if (busy || ended) return;
    busy = true;
    socket.pause();
    if (timer) clearTimeout(timer);
    try {
      while (queue.length > 0 && !ended) {
        const frame = queue.shift() as milter.Frame;
        const decoded = milter.decodeCommand(frame);
        if (!decoded.ok) return finish('protocol', decoded.error);
        const progress =
          progressMs > 0 && session.expectsReply(decoded.command.type)
            ? setInterval(() => socket.write(milter.encodeReply({ type: 'progress' })), progressMs)
            : undefined;
        const step = await session.receive(decoded.command).finally(() => clearInterval(progress));
        if (ended) return;
        // One write per step: the end-of-message edits and the final reply leave together, so no
        // packet waits for the MTA's delayed ACK of the one before (Nagle; about 40 ms on Linux).
        if (step.replies.length > 0)
          await write(step.replies.length === 1 ? step.replies[0]! : Buffer.concat(step.replies));
        if (step.close) return finish(step.error ? 'protocol' : 'quit', step.error);
        if (step.error) warnings.push(step.error);
      }
      if (framingError) return finish('protocol', framingError);
      if (peerEnded)
        return finish('closed', decoder.midPacket ? 'connection closed in the middle of a packet' : undefined);
    } catch (error) {
      return finish('socket-error', error instanceof Error ? error.message : String(error));
    } finally {
      busy = false;
    }
    if (!ended) {
      socket.resume();
      armTimer();
    }
  };

  socket.on('data', (chunk: Buffer) => {
    const result = decoder.push(chunk);
    queue.push(...result.frames);
    if (result.error) framingError = result.error;
    void pump();
    if (!busy) armTimer();
  });
  socket.on('end', () => {
    // The MTA closed its side: finish once the commands already read are handled.
    peerEnded = true;
    if (!busy) finish('closed', decoder.midPacket ? 'connection closed in the middle of a packet' : undefined);
  });
  socket.on('error', (error) => finish('socket-error', error.message));
  socket.on('close', () => finish('closed'));
  armTimer();
  return finish;
}
