/**
 * The policy service's socket: a net server on inet:HOST:PORT or unix:PATH speaking Postfix's
 * policy delegation protocol (SMTPD_POLICY_README) to Postfix and to Exim's `${readsocket}`.
 *
 * - Postfix keeps a connection open and sends one request after another, waiting for each reply
 *   (smtpd_policy_service_max_idle 300 s, _max_ttl 1000 s, then it closes).
 * - Exim's readsocket writes one request, shuts down its write side (the default; `shutdown=no`
 *   turns that off) and reads until EOF. So the server allows half-open sockets: when a client
 *   ends its side, the requests it sent are answered and then the server closes too.
 * - A bad request line, an oversized request or an evaluation that throws: log one line, send
 *   nothing, close (what the protocol asks of a server "on trouble"; Postfix then retries and
 *   finally applies smtpd_policy_service_default_action, 451 4.3.5).
 * - Bounded: requests are answered one at a time per connection and the socket is paused while
 *   one is being answered (and while a reply waits for the client to read), so a client that
 *   pipelines cannot queue unbounded work or replies; connections
 *   beyond maxConnections are closed at once; an idle connection is closed after idleTimeoutMs.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { formatListenAddress, parseListenAddress, type ListenAddress } from '@mailward/adapters';
import type { PolicyDecoderLimits, PolicyRequest } from '../policy/request-decoder.js';
import { PolicyRequestDecoder } from '../policy/request-decoder.js';
import { encodePolicyReply } from '../policy/reply-encoder.js';

export interface PolicyServerOptions {
  readonly listen: string;
  readonly answer: (request: PolicyRequest) => Promise<{ readonly action: string; readonly logLine: string }>;
  readonly log: (line: string) => void;
  /** Close a connection without a request for this long. Default 330 s: after Postfix's own 300 s max_idle. */
  readonly idleTimeoutMs?: number;
  /** Connections at once; more are closed at once (Postfix opens one per smtpd process). Default 512. */
  readonly maxConnections?: number;
  readonly limits?: Partial<PolicyDecoderLimits>;
}

export interface PolicyServer {
  /** Where it listens, with the real port when port 0 was asked. */
  readonly address: string;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startPolicyServer(options: PolicyServerOptions): Promise<PolicyServer> {
  const parsed = parseListenAddress(options.listen);
  if (!parsed.ok) throw new Error(parsed.error.replace(/^milter address/, 'policy address'));
  const sockets = new Set<Socket>();
  const maxConnections = options.maxConnections ?? 512;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (sockets.size >= maxConnections) {
      options.log(`policy: ${peerOf(socket)}: over ${maxConnections} connections, closed`);
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(socket, options);
  });
  const address = await listen(server, parsed.address);
  return {
    address: formatListenAddress(address),
    get connections() {
      return sockets.size;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      if (address.kind === 'unix') await unlink(address.path).catch(() => undefined);
    },
  };
}

function serveConnection(socket: Socket, options: PolicyServerOptions): void {
  const peer = peerOf(socket);
  const decoder = new PolicyRequestDecoder(options.limits);
  const queue: PolicyRequest[] = [];
  let busy = false;
  let peerEnded = false;
  let closed = false;

  const drop = (why: string) => {
    if (closed) return;
    closed = true;
    queue.length = 0;
    options.log(`policy: ${peer}: ${why}; connection closed`);
    socket.destroy();
  };

  const work = async () => {
    if (busy || closed) return;
    busy = true;
    socket.pause();
    while (queue.length > 0 && !closed) {
      const request = queue.shift() as PolicyRequest;
      try {
        const answer = await options.answer(request);
        if (closed) break;
        options.log(`policy: ${answer.logLine}`);
        // A client that sends requests but never reads the replies must not grow our buffer.
        if (!socket.write(encodePolicyReply(answer.action))) await drained(socket);
      } catch (error) {
        drop(`could not answer: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    busy = false;
    if (closed) return;
    // Exim's readsocket reads to EOF: once its request is answered, close our side too.
    if (peerEnded) socket.end();
    else socket.resume();
  };

  socket.setTimeout(options.idleTimeoutMs ?? 330_000, () => drop('idle too long'));
  socket.on('data', (chunk: Buffer) => {
    const decoded = decoder.push(chunk);
    if (!decoded.ok) return drop(`bad request: ${decoded.error}`);
    queue.push(...decoded.requests);
    void work();
  });
  socket.on('end', () => {
    peerEnded = true;
    const decoded = decoder.finish();
    if (!decoded.ok) return drop(`bad request: ${decoded.error}`);
    queue.push(...decoded.requests);
    void work();
  });
  socket.on('error', (error) => drop(`socket error: ${error.message}`));
  socket.on('close', () => {
    closed = true;
    queue.length = 0;
  });
}

/** Resolves when the socket's write buffer has emptied, or when it closed. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function peerOf(socket: Socket): string {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'local client';
}

async function listen(server: Server, address: ListenAddress): Promise<ListenAddress> {
  if (address.kind === 'unix') {
    // A socket left by an earlier run makes listen fail (EADDRINUSE): remove it, but only a socket.
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
  // smtpd runs as the postfix user and needs write permission on the socket to connect; who may
  // reach it is then decided by the directory it lives in (Postfix's private/ is 0700 postfix).
  if (address.kind === 'unix') await chmod(address.path, 0o666);
  const bound = server.address();
  if (address.kind === 'inet' && bound !== null && typeof bound === 'object') {
    return { kind: 'inet', host: address.host, port: bound.port };
  }
  return address;
}
