/**
 * dkimpy (Debian's python3-dkim, 1.1.4) as a DKIM peer: `dkimsign` signs, and a small driver
 * verifies with dkimpy's own `dkim.DKIM(message).verify(dnsfunc=...)`.
 *
 * DNS: `dkimverify` asks the system resolver (/etc/resolv.conf), which cannot be pointed at a
 * server on another port than 53. dkimpy lets a caller pass the TXT lookup as `dnsfunc`, so the
 * driver passes one that asks the test's Knot server with dnspython (a Resolver built with
 * configure=False, nameservers=[host], port=port). It returns the TXT record the way dkimpy's
 * own dnspython lookup does (the strings of the first TXT record, joined), so verification is
 * dkimpy's real code path with a real DNS answer; only the server address differs. The driver
 * reports the names it was asked for, so a test can see that the key came from DNS.
 *
 * Debian's modules are visible only to /usr/bin/python3 (the python3 first on PATH may be another
 * installation); it runs in isolated mode (-I) so PYTHON* variables and user site-packages of the
 * environment cannot change what is imported.
 */
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPeer, withTempDir } from './process.js';

export const DEBIAN_PYTHON = '/usr/bin/python3';
export const DKIMSIGN = '/usr/bin/dkimsign';

export type DkimpyCanonicalization = 'simple' | 'relaxed';

export interface DnsServerAddress {
  readonly host: string;
  readonly port: number;
}

export interface DkimpySignOptions {
  readonly domain: string;
  readonly selector: string;
  /** RSA or Ed25519 private key; written in the format dkimpy reads (see dkimpyKeyFile). */
  readonly privateKey: KeyObject;
  readonly canonicalization: { readonly header: DkimpyCanonicalization; readonly body: DkimpyCanonicalization };
  readonly timeoutMs?: number;
}

export interface DkimpyVerdict {
  /** What dkimpy's DKIM.verify() returned (false too when it raised). */
  readonly verified: boolean;
  /** The DKIMException message, when verify() raised one. */
  readonly error: string | null;
  /** Warnings and errors dkimpy logged (it logs some failures, such as a missing key, instead of raising). */
  readonly logged: readonly string[];
  /** Names the driver looked up in DNS for dkimpy, in order. */
  readonly queried: readonly string[];
  /** d= and s= of the signature dkimpy evaluated. */
  readonly domain: string;
  readonly selector: string;
}

const DRIVER = `
import json, logging, sys
import dkim, dns.exception, dns.rdatatype, dns.resolver
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [host]
resolver.port = port
queried = []
def get_txt(name, timeout=5):
    name = name.decode('ascii') if isinstance(name, bytes) else name
    queried.append(name)
    try:
        answer = resolver.resolve(name, dns.rdatatype.TXT, raise_on_no_answer=False, lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
        return None
    except dns.exception.Timeout as e:
        raise dkim.DnsTimeoutError(str(e))
    for rrset in answer.response.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            return b''.join(list(rrset.items)[0].strings)
    return None
with open(path, 'rb') as f:
    message = f.read()
class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []
    def emit(self, record):
        self.messages.append(record.getMessage())
collect = Collect()
logger = logging.getLogger('mailward-dkimpy-driver')
logger.propagate = False
logger.setLevel(logging.WARNING)
logger.addHandler(collect)
d = dkim.DKIM(message, logger=logger, minkey=1024, timeout=5)
error = None
try:
    verified = bool(d.verify(dnsfunc=get_txt))
except dkim.DKIMException as e:
    verified, error = False, str(e)
print(json.dumps({'verified': verified, 'error': error, 'logged': collect.messages, 'queried': queried,
                  'domain': (d.domain or b'').decode('latin-1'), 'selector': (d.selector or b'').decode('latin-1')}))
`;

/** The key file dkimsign reads: PKCS#1 PEM for RSA; for Ed25519 the base64 of the 32-byte seed (RFC 8463 §4). */
export function dkimpyKeyFile(privateKey: KeyObject): string {
  if (privateKey.asymmetricKeyType === 'ed25519') {
    const { d } = privateKey.export({ format: 'jwk' });
    if (d === undefined) throw new Error('not an Ed25519 private key');
    return `${Buffer.from(d, 'base64url').toString('base64')}\n`;
  }
  return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** Signs with the `dkimsign` command; returns the signed message (DKIM-Signature on top). */
export async function dkimpySign(message: Uint8Array, options: DkimpySignOptions): Promise<Buffer> {
  return withTempDir('mailward-dkimpy-', async (dir) => {
    const keyPath = join(dir, 'private.key');
    await writeFile(keyPath, dkimpyKeyFile(options.privateKey), { mode: 0o600 });
    const algorithm = options.privateKey.asymmetricKeyType === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256';
    const run = await runPeer(
      DEBIAN_PYTHON,
      [
        '-I',
        DKIMSIGN,
        options.selector,
        options.domain,
        keyPath,
        '--hcanon',
        options.canonicalization.header,
        '--bcanon',
        options.canonicalization.body,
        '--signalg',
        algorithm,
      ],
      { input: message, timeoutMs: options.timeoutMs },
    );
    // On an error dkimsign prints it and writes the message unsigned, with exit status 0.
    if (run.code !== 0 || !run.stdout.startsWith('DKIM-Signature:')) {
      throw new Error(`${run.command} did not sign (exit ${run.code}): ${run.stderr}`);
    }
    return run.stdoutBytes;
  });
}

/** Verifies the topmost DKIM-Signature with dkimpy, keys looked up at `dns`. */
export async function dkimpyVerify(
  message: Uint8Array,
  dns: DnsServerAddress,
  options: { readonly timeoutMs?: number } = {},
): Promise<DkimpyVerdict> {
  return withTempDir('mailward-dkimpy-', async (dir) => {
    const path = join(dir, 'message.eml');
    await writeFile(path, message);
    const run = await runPeer(DEBIAN_PYTHON, ['-I', '-c', DRIVER, dns.host, String(dns.port), path], options);
    if (run.code !== 0) throw new Error(`dkimpy driver failed (exit ${run.code}): ${run.stderr}`);
    return JSON.parse(run.stdout) as DkimpyVerdict;
  });
}
