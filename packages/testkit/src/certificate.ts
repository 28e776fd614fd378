/**
 * A self-signed certificate for loopback TLS servers in tests, made by the openssl command (on
 * every machine of this kind). The subject alternative names are given, so clients can check the
 * name as they would in production, trusting the certificate itself as the CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** `names`: subject alternative names such as "DNS:localhost" or "IP:127.0.0.1". */
export function makeTestCertificate(names: readonly string[]): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-cert-'));
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, `[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=${names.join(',')}\n`);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1'].concat([
      '-subj',
      '/CN=mailward test',
      '-config',
      config,
      '-extensions',
      'ext',
    ]),
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
