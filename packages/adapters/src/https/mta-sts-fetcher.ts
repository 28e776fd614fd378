/**
 * Fetches MTA-STS policies under RFC 8461 §3.3: HTTPS to mta-sts.DOMAIN with the certificate
 * checked against that name (and the system's CAs, or the ones given for tests), no redirects
 * followed (a 3xx is returned as such, and the audit reports it), a timeout for the whole exchange
 * and a cap on the body (64 KiB, the size §3.2 bounds a policy to). The host name is resolved
 * through the Resolver, so `--dns` and fixtures apply to it as to every other lookup.
 */
import { request } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import { Buffer } from 'node:buffer';
import type { MtaStsFetcher, PolicyFetch, Resolver } from '@mailward/core';
import { hostAddress } from '../dns/host-address.js';

export interface MtaStsFetcherOptions {
  readonly resolver: Resolver;
  /** Whole exchange (default 10 s). */
  readonly timeoutMs?: number;
  /** Largest policy read (default 64 KiB). */
  readonly maxBytes?: number;
  /** Tests: another port than 443, and extra trusted CAs. */
  readonly port?: number;
  readonly ca?: readonly Uint8Array[];
}

export class HttpsMtaStsFetcher implements MtaStsFetcher {
  constructor(private readonly options: MtaStsFetcherOptions) {}

  async fetchPolicy(domain: string): Promise<PolicyFetch> {
    const host = `mta-sts.${domain}`;
    const found = await hostAddress(this.options.resolver, host);
    if ('problem' in found) return { kind: 'error', reason: found.problem };
    const address = found.address;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const maxBytes = this.options.maxBytes ?? 64 * 1024;
    return new Promise<PolicyFetch>((resolve) => {
      let settled = false;
      const finish = (result: PolicyFetch) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        resolve(result);
      };
      const req = request(
        {
          host: address,
          port: this.options.port ?? 443,
          path: '/.well-known/mta-sts.txt',
          method: 'GET',
          servername: host,
          headers: { host, 'user-agent': 'mailward' },
          ...(this.options.ca === undefined ? {} : { ca: this.options.ca.map((c) => Buffer.from(c)) }),
          rejectUnauthorized: true,
          // The certificate must be for mta-sts.DOMAIN, whatever address we connected to.
          checkServerIdentity: (_hostname, cert) => checkServerIdentity(host, cert),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes)
              return finish({ kind: 'error', reason: `the policy is larger than ${maxBytes} bytes` });
            chunks.push(chunk);
          });
          response.on('end', () =>
            finish({
              kind: 'ok',
              status: response.statusCode ?? 0,
              contentType: String(response.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', (error) => finish({ kind: 'error', reason: error.message }));
        },
      );
      const timer = setTimeout(
        () => finish({ kind: 'error', reason: `no complete answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
      req.on('error', (error: Error & { code?: string }) =>
        finish({ kind: 'error', reason: `${error.code === undefined ? '' : `${error.code}: `}${error.message}` }),
      );
      req.end();
    });
  }
}
