/**
 * The HTTP endpoint that serves one registry's metrics, shared by the milter, the policy service
 * and Exim's check. `GET /metrics` needs `Authorization: Bearer TOKEN` (RFC 6750 §2.1) whose
 * SHA-256 is the configured hash; anything else is 404, a missing or wrong token 401 with
 * `WWW-Authenticate: Bearer` (RFC 6750 §3). No response echoes what the client sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsEndpoint {
  /** HOST:PORT it listens on (the real port when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

export interface MetricsEndpointOptions {
  readonly host: string;
  readonly port: number;
  /** SHA-256 (hex) of the bearer token a scrape must send. */
  readonly tokenSha256: string;
}

/** `HOST:PORT`, `[v6]:PORT` or a bare `PORT` (then 127.0.0.1: loopback by default). */
export function parseMetricsAddress(
  text: string,
): { ok: true; host: string; port: number } | { ok: false; reason: string } {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:]+):(\d+)$/.exec(text);
  const bare = /^(\d+)$/.exec(text);
  const host = bracketed?.[1] ?? plain?.[1] ?? (bare ? '127.0.0.1' : undefined);
  const portText = bracketed?.[2] ?? plain?.[2] ?? bare?.[1];
  const port = Number(portText);
  if (host === undefined || portText === undefined || port > 65535)
    return { ok: false, reason: `"${text}" is not HOST:PORT (e.g. 127.0.0.1:9108)` };
  return { ok: true, host, port };
}

/**
 * Does the request carry the token whose SHA-256 is `expected` (32 bytes)? The hashes are
 * compared, not the tokens: equal lengths for timingSafeEqual whatever the client sends, and
 * the time taken says nothing about how much of the token was right.
 */
export function bearerTokenMatches(authorization: string | undefined, expected: Buffer): boolean {
  if (authorization === undefined) return false;
  // RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: one space, then the token.
  const match = /^bearer +(\S+) *$/i.exec(authorization);
  if (match === null) return false;
  const given = createHash('sha256')
    .update(match[1] as string, 'utf8')
    .digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Scrapers are few (Prometheus, an admin's curl): a handful of connections is plenty. */
const MAX_CONNECTIONS = 16;

export async function startMetricsEndpoint(
  registry: Registry,
  options: MetricsEndpointOptions,
): Promise<MetricsEndpoint> {
  const expected = Buffer.from(options.tokenSha256, 'hex');
  if (expected.length !== 32) throw new RangeError('the metrics token hash is not a SHA-256 (64 hex digits)');
  const server: Server = createServer((request: IncomingMessage, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if ((request.method !== 'GET' && request.method !== 'HEAD') || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    if (!bearerTokenMatches(request.headers.authorization, expected)) {
      response
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="mailward metrics"' })
        .end('unauthorized: send Authorization: Bearer TOKEN\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      // A collect() callback that threw: a bug of ours, said without detail to the scraper.
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
  server.maxConnections = MAX_CONNECTIONS;
  // A scrape is one small request: a client that trickles its headers is not waited for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const realPort = bound !== null && typeof bound === 'object' ? bound.port : options.port;
  return {
    address: options.host.includes(':') ? `[${options.host}]:${realPort}` : `${options.host}:${realPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
