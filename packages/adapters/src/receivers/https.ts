/**
 * HTTPS endpoint for SMTP TLS reports (RFC 8460 §3: a POST whose body is the report, with
 * Content-Type application/tlsrpt+json or application/tlsrpt+gzip). The report is committed before
 * the 201 answer; a store failure is a 503 the reporter retries. Bodies are capped; anything else
 * than such a POST is refused with the reason. Plain HTTP is only for running behind a proxy
 * that terminates TLS.
 */
import { Buffer } from 'node:buffer';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { IngestEvent, ReportStore } from '@mailward/reports';
import { receiveItem } from '@mailward/reports';
import type { RunningReceiver } from './smtp.js';

export interface HttpsReceiverOptions {
  readonly host: string;
  readonly port: number;
  /** PEM certificate and key; without them the server speaks plain HTTP (behind a TLS proxy). */
  readonly tls?: { readonly cert: Uint8Array; readonly key: Uint8Array };
  /** Largest body accepted (default 16 MiB). */
  readonly maxBodyBytes?: number;
  readonly onReport?: (event: IngestEvent) => void;
}

const TLSRPT_TYPES = new Set(['application/tlsrpt+json', 'application/tlsrpt+gzip']);

export async function startHttpsReceiver(store: ReportStore, options: HttpsReceiverOptions): Promise<RunningReceiver> {
  const maxBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const answer = (status: number, text: string) => {
      response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`${text}\n`);
    };
    if (request.method !== 'POST') return answer(405, 'POST a TLS report (RFC 8460)');
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!TLSRPT_TYPES.has(type))
      return answer(415, `content type must be application/tlsrpt+json or application/tlsrpt+gzip, not "${type}"`);
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxBytes) return answer(413, `body over the ${maxBytes}-byte limit`);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        if (!refused) answer(413, `body over the ${maxBytes}-byte limit`);
        refused = true;
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      const name = `https:${request.socket.remoteAddress ?? '?'}:${Date.now()}`;
      receiveItem(store, { name, bytes: Buffer.concat(chunks) })
        .then((event) => {
          options.onReport?.(event);
          if (event.outcome === 'quarantined') answer(400, `not a usable TLS report: ${event.detail}`);
          else answer(201, event.detail);
        })
        .catch((error: unknown) => answer(503, `cannot store the report now: ${(error as Error).message}`));
    });
  };
  const server =
    options.tls === undefined
      ? createHttpServer(handler)
      : createHttpsServer({ cert: Buffer.from(options.tls.cert), key: Buffer.from(options.tls.key) }, handler);
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
