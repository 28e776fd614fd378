/**
 * OpenDKIM (Debian's opendkim 2.11, the milter's own binary) as a DKIM peer, run in its test mode
 * (`opendkim -x CONFIG -t FILE`): it feeds the file through the same milter callbacks as mail
 * from an MTA, signs or verifies, prints the header fields it would insert (`### INSHEADER:` lines,
 * from -vv on) and a one-line summary of each verification, and exits. No socket, no daemon, no syslog, and
 * never /etc/opendkim.conf: every run gets its own configuration file in a temporary directory.
 *
 * DNS: `Nameservers` takes addresses only (no port). Debian builds OpenDKIM with libunbound
 * (`opendkim -V` lists USE_UNBOUND), and `ResolverConfiguration` then names an Unbound
 * configuration file, so each run gets one that forwards every name to the test's Knot server:
 * `forward-zone: name: "." forward-addr: HOST@PORT`, with `do-not-query-localhost: no` (Unbound
 * refuses to send queries to loopback addresses by default). No trust anchor is configured, so
 * answers are "insecure" (not DNSSEC-validated), as OpenDKIM's output says.
 *
 * Signing needs a key file: `RequireSafeKeys false`, because the file lives under os.tmpdir(),
 * which other users can write (OpenDKIM checks the whole path). Test mode runs as root without
 * complaint.
 */
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DnsServerAddress } from './dkimpy.js';
import { runPeer, withTempDir } from './process.js';

export const OPENDKIM = '/usr/sbin/opendkim';
export const OPENDKIM_TESTKEY = '/usr/sbin/opendkim-testkey';

export type OpendkimCanonicalization = 'simple' | 'relaxed';

export interface OpendkimSignOptions {
  readonly domain: string;
  readonly selector: string;
  /** RSA or Ed25519 private key (written as PEM; the algorithm follows the key type). */
  readonly privateKey: KeyObject;
  readonly canonicalization: { readonly header: OpendkimCanonicalization; readonly body: OpendkimCanonicalization };
  readonly timeoutMs?: number;
}

export interface OpendkimVerdict {
  /** The dkim= result of the Authentication-Results field OpenDKIM would add ("pass", "fail", ...). */
  readonly result: string;
  /** That field's value as OpenDKIM wrote it. */
  readonly authenticationResults: string;
  /** OpenDKIM's summary line, e.g. "verification (s=rsa, d=example.com, 2048-bit key) succeeded". */
  readonly summary: string;
}

interface InsertedField {
  readonly name: string;
  readonly value: string;
}

/** The Unbound configuration that sends every query to one server (see the note at the top). */
export function unboundForwardConfig(dns: DnsServerAddress): string {
  return [
    'server:',
    '  do-not-query-localhost: no',
    'forward-zone:',
    '  name: "."',
    `  forward-addr: ${dns.host}@${dns.port}`,
    '',
  ].join('\n');
}

/** Signs in OpenDKIM's test mode; returns the message with OpenDKIM's DKIM-Signature on top. */
export async function opendkimSign(message: Uint8Array, options: OpendkimSignOptions): Promise<Buffer> {
  return withTempDir('mailward-opendkim-', async (dir) => {
    const keyPath = join(dir, 'private.pem');
    const ed25519 = options.privateKey.asymmetricKeyType === 'ed25519';
    const pem = options.privateKey.export({ type: ed25519 ? 'pkcs8' : 'pkcs1', format: 'pem' });
    await writeFile(keyPath, pem, { mode: 0o600 });
    const config = [
      'Mode s',
      'Syslog no',
      `Domain ${options.domain}`,
      `Selector ${options.selector}`,
      `KeyFile ${keyPath}`,
      'RequireSafeKeys false',
      `Canonicalization ${options.canonicalization.header}/${options.canonicalization.body}`,
      `SignatureAlgorithm ${ed25519 ? 'ed25519-sha256' : 'rsa-sha256'}`,
      `TemporaryDirectory ${dir}`,
    ];
    const { fields, output } = await testMode(dir, config, message, options.timeoutMs);
    const signature = fields.find((field) => field.name === 'DKIM-Signature');
    if (signature === undefined) throw new Error(`OpenDKIM did not sign:\n${output}`);
    // The milter inserts "name: value" at the top (idx=0); OpenDKIM folds with bare LF, which the
    // MTA writes as CRLF. This is the form OpenDKIM hashed (simple header canonicalization
    // verifies, checked with RSA keys).
    const field = `DKIM-Signature: ${signature.value.replace(/\r?\n/g, '\r\n')}\r\n`;
    return Buffer.concat([Buffer.from(field, 'latin1'), message]);
  });
}

/** Verifies in OpenDKIM's test mode, keys looked up at `dns` through libunbound. */
export async function opendkimVerify(
  message: Uint8Array,
  dns: DnsServerAddress,
  options: { readonly timeoutMs?: number } = {},
): Promise<OpendkimVerdict> {
  return withTempDir('mailward-opendkim-', async (dir) => {
    const unboundPath = join(dir, 'unbound.conf');
    await writeFile(unboundPath, unboundForwardConfig(dns));
    const config = [
      'Mode v',
      'Syslog no',
      `ResolverConfiguration ${unboundPath}`,
      'AuthservID mailward-test',
      'AlwaysAddARHeader yes',
      `TemporaryDirectory ${dir}`,
    ];
    const { fields, output } = await testMode(dir, config, message, options.timeoutMs);
    const ar = fields.find((field) => field.name === 'Authentication-Results');
    const summary = /verification \(.*$/m.exec(output)?.[0] ?? '';
    if (ar === undefined) throw new Error(`OpenDKIM wrote no Authentication-Results:\n${output}`);
    const result = /\bdkim=([a-z]+)/.exec(ar.value)?.[1] ?? 'none';
    return { result, authenticationResults: ar.value.replace(/\s+/g, ' '), summary };
  });
}

/**
 * opendkim-testkey: fetches a selector's key record (through the same Unbound forwarding) and
 * checks it against an RSA private key (this tool does not handle Ed25519 keys). Returns its
 * exit code and output ("key OK", "record not found", ...).
 */
export async function opendkimTestKey(
  dns: DnsServerAddress,
  options: { readonly domain: string; readonly selector: string; readonly privateKey: KeyObject },
): Promise<{ readonly code: number | null; readonly output: string }> {
  return withTempDir('mailward-opendkim-', async (dir) => {
    const unboundPath = join(dir, 'unbound.conf');
    const configPath = join(dir, 'opendkim.conf');
    const keyPath = join(dir, 'private.pem');
    await writeFile(unboundPath, unboundForwardConfig(dns));
    await writeFile(configPath, `Syslog no\nResolverConfiguration ${unboundPath}\nRequireSafeKeys false\n`);
    await writeFile(keyPath, options.privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    const args = ['-x', configPath, '-d', options.domain, '-s', options.selector, '-k', keyPath, '-vvv'];
    const run = await runPeer(OPENDKIM_TESTKEY, args);
    return { code: run.code, output: `${run.stdout}${run.stderr}` };
  });
}

async function testMode(
  dir: string,
  config: readonly string[],
  message: Uint8Array,
  timeoutMs: number | undefined,
): Promise<{ fields: InsertedField[]; output: string }> {
  const configPath = join(dir, 'opendkim.conf');
  const messagePath = join(dir, 'message.eml');
  await writeFile(configPath, `${config.join('\n')}\n`);
  await writeFile(messagePath, message);
  const run = await runPeer(OPENDKIM, ['-x', configPath, '-t', messagePath, '-vv'], { timeoutMs });
  if (run.code !== 0) throw new Error(`${run.command} exited with ${run.code}:\n${run.stdout}${run.stderr}`);
  return { fields: insertedFields(run.stdout), output: `${run.stdout}${run.stderr}` };
}

/** The `### INSHEADER: idx=N hname='NAME' hvalue='VALUE'` lines of test mode (values span lines). */
function insertedFields(stdout: string): InsertedField[] {
  const fields: InsertedField[] = [];
  for (const match of stdout.matchAll(/^### INSHEADER: idx=\d+ hname='([^']*)' hvalue='([^']*)'/gm)) {
    fields.push({ name: match[1] ?? '', value: match[2] ?? '' });
  }
  return fields;
}
