/**
 * A self-signed certificate for loopback TLS servers in tests, made by the openssl command (on
 * every machine of this kind). The subject alternative names are given, so clients can check the
 * name as they would in production, trusting the certificate itself as the CA.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * `names`: subject alternative names such as "DNS:localhost" or "IP:127.0.0.1". `days`: validity
 * from now (default 30); 0 or less makes a certificate that has already expired.
 */
export function makeTestCertificate(
  names: readonly string[],
  options: { readonly days?: number } = {},
): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-cert-'));
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, `[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=${names.join(',')}\n`);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const days = options.days ?? 30;
  // A subject of its own: clients find an issuer by subject, so two test CAs must not share one.
  const subject = `/CN=mailward test ${randomUUID()}`;
  if (days > 0) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        String(days),
      ].concat(['-subj', subject, '-config', config, '-extensions', 'ext']),
      { stdio: 'ignore' },
    );
  } else {
    // `req -x509` refuses a non-positive validity; `x509 -req` signs a request with notAfter in the past.
    const request = join(dir, 'request.csr');
    execFileSync(
      'openssl',
      ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', request, '-subj', subject],
      { stdio: 'ignore' },
    );
    execFileSync(
      'openssl',
      ['x509', '-req', '-in', request, '-signkey', keyFile, '-out', certFile, '-days', String(days - 1)].concat([
        '-extfile',
        config,
        '-extensions',
        'ext',
      ]),
      { stdio: 'ignore' },
    );
  }
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
