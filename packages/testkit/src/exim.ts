/**
 * Exim 4.96 for integration tests, run per SMTP session on stdin/stdout (no daemon, no port).
 *
 * Where the binary comes from: Debian's exim4 packages conflict with postfix, so they are not
 * installed. scripts/fetch-exim.sh downloads exim4-daemon-heavy and exim4-base with
 * `apt-get download` and unpacks them with `dpkg-deb -x` into DIR/root (DIR: $MAILWARD_EXIM_DIR,
 * default /var/cache/mailward-exim); the binary is DIR/root/usr/sbin/exim4.
 *
 * Findings (Debian 12, exim4 4.96-15+deb12u11, as root), checked by hand and by the self-test:
 * - The heavy daemon, not the light one: only heavy's `exim4 -bV` lists Content_Scanning, which
 *   `spamd_address` and the `spam =` / `malware =` ACL conditions need. `${readsocket}` is in both.
 * - Shared libraries: the unpacked binary needed only libidn12 on top of what was installed
 *   (`ldd` showed "libidn.so.12 => not found"). heavy's other libraries (libspf2-2, libmariadb3,
 *   libpq5, libperl5.36, libldap-2.5-0, libsasl2-2, libsqlite3-0, ...) were present; the fetch
 *   script installs any that are missing. None conflicts with postfix.
 * - `-C /any/path` works as root: `-bV` reports "Configure owner: 0:0" and Exim only warns
 *   "purging the environment". Debian builds without ALT_CONFIG_PREFIX restrictions that bite
 *   root; a non-root caller with -C would lose privilege (TRUSTED_CONFIG_LIST), so the tests run
 *   as root. `exim4 -bV` without -C exits 1 (no /etc/exim4/exim4.conf): the script checks with
 *   `-C /dev/null -bV`.
 * - Debian's build looks up its compiled-in user Debian-exim at start, before it reads -C, and
 *   exits when that user is missing (found on the exim-check branch; main's fetch-exim.sh creates
 *   the user). The config still runs Exim as root (`exim_user = root`, `exim_group = root`, empty
 *   `never_users`) so the scratch spool and log directories need no chown.
 * - `-bh IP`: a fake SMTP session as from IP; every ACL runs (readsocket, spam= included), nothing
 *   is delivered or spooled. Debug lines (">>> ...") go to stderr, SMTP replies to stdout.
 * - `spam =` with `spamd_address = HOST PORT` (classic spamd): Exim sends "REPORT SPAMC/1.2",
 *   User, Content-length, a blank line, then its spool "mbox" of the message: a "From MAILER-DAEMON"
 *   line, X-Envelope-From, X-Envelope-To, Exim's own Received, then the message with LF line ends
 *   (not CRLF). A content checker that verifies DKIM must drop those added lines and restore CRLF.
 * - `-bs` with `-oMa IP`: a real session read from stdin (as root, -oMa sets the client address);
 *   with `queue_only` the message is spooled in the scratch spool_directory, not delivered.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogFile } from './log-file.js';
import { smtpSessionOverStreams, type SmtpSessionOptions, type SmtpTranscript } from './smtp-client.js';

export interface EximOptions {
  /** Directory fetch-exim.sh filled (default $MAILWARD_EXIM_DIR or /var/cache/mailward-exim). */
  readonly eximDir?: string;
  /** ACL bodies (the statements under the ACL's name), e.g. `deny message = x\n  condition = y`. */
  readonly acls?: {
    readonly connect?: string;
    readonly mail?: string;
    readonly rcpt?: string;
    readonly data?: string;
  };
  /** More main-section lines, e.g. `spamd_address = 127.0.0.1 7830`. */
  readonly mainConfig?: readonly string[];
  /** primary_hostname (default exim.test.example). */
  readonly hostname?: string;
}

export interface EximSessionOptions extends SmtpSessionOptions {
  /** The client's IP address (default 192.0.2.1). */
  readonly clientAddress?: string;
  /** 'bh' (default): fake session, ACLs only. 'bs': real session, the message is spooled. */
  readonly mode?: 'bh' | 'bs';
  /** Default 30 s for the whole session. */
  readonly timeoutMs?: number;
}

export interface EximSessionResult extends SmtpTranscript {
  /** Exim's stderr: with -bh the ACL trace (">>> ..." lines). */
  readonly stderr: string;
  readonly exitCode: number | null;
}

export interface EximHarness {
  readonly dir: string;
  readonly configPath: string;
  readonly binary: string;
  /** Runs one SMTP session (greeting to QUIT) in a fresh exim process. */
  session(options: EximSessionOptions): Promise<EximSessionResult>;
  /** mainlog, rejectlog and paniclog so far. */
  log(): string;
  /** Deletes the scratch directory. */
  cleanup(): Promise<void>;
}

export function eximDir(): string {
  return process.env.MAILWARD_EXIM_DIR ?? '/var/cache/mailward-exim';
}

/** The unpacked exim4 binary, or an error that says how to get it. */
export function eximBinary(dir: string = eximDir()): string {
  const binary = join(dir, 'root', 'usr', 'sbin', 'exim4');
  if (!existsSync(binary)) {
    throw new Error(`Exim is missing: ${binary} does not exist; run scripts/fetch-exim.sh (needs root and apt)`);
  }
  return binary;
}

export async function createEximHarness(options: EximOptions = {}): Promise<EximHarness> {
  const binary = eximBinary(options.eximDir);
  const dir = await mkdtemp(join(tmpdir(), 'mailward-exim-'));
  await Promise.all([mkdir(join(dir, 'spool')), mkdir(join(dir, 'log'))]);
  const configPath = join(dir, 'exim.conf');
  await writeFile(configPath, renderConfig(dir, options));
  const log = (): string =>
    ['main', 'reject', 'panic']
      .map((kind) => readLogFile(join(dir, 'log', `${kind}log`)))
      .filter((text) => text !== '')
      .join('');
  return {
    dir,
    configPath,
    binary,
    log,
    session: (session) => runSession(binary, configPath, session),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

function renderConfig(dir: string, options: EximOptions): string {
  const acls = options.acls ?? {};
  const main = [
    `primary_hostname = ${options.hostname ?? 'exim.test.example'}`,
    `spool_directory = ${join(dir, 'spool')}`,
    `log_file_path = ${join(dir, 'log', '%slog')}`,
    'exim_user = root',
    'exim_group = root',
    'never_users =',
    // Accept and keep: a -bs session spools the message and never tries to deliver it.
    'queue_only = true',
    'host_lookup =',
    'rfc1413_hosts =',
    ...(acls.connect !== undefined ? ['acl_smtp_connect = acl_connect'] : []),
    ...(acls.mail !== undefined ? ['acl_smtp_mail = acl_mail'] : []),
    'acl_smtp_rcpt = acl_rcpt',
    ...(acls.data !== undefined ? ['acl_smtp_data = acl_data'] : []),
    ...(options.mainConfig ?? []),
  ];
  const acl = (name: string, body: string | undefined): string[] =>
    body === undefined ? [] : [`${name}:`, ...body.split('\n').map((line) => `  ${line.trim()}`), ''];
  return `${[
    ...main,
    '',
    'begin acl',
    '',
    ...acl('acl_connect', acls.connect),
    ...acl('acl_mail', acls.mail),
    // Without an RCPT ACL Exim refuses every recipient ("relay not permitted"); accept all.
    ...acl('acl_rcpt', acls.rcpt ?? 'accept'),
    ...acl('acl_data', acls.data),
    'begin routers',
    '',
    'begin transports',
  ].join('\n')}\n`;
}

async function runSession(binary: string, configPath: string, options: EximSessionOptions): Promise<EximSessionResult> {
  const address = options.clientAddress ?? '192.0.2.1';
  const args =
    (options.mode ?? 'bh') === 'bh' ? ['-C', configPath, '-bh', address] : ['-C', configPath, '-bs', '-oMa', address];
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new Error(`${binary}: ${error.message}`))),
  );
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 1000);
  try {
    const transcript = await Promise.race([
      smtpSessionOverStreams(child.stdout, child.stdin, () => child.stdin.end(), Date.now() + timeoutMs, {
        ...options,
        // -bh prints "**** SMTP testing session as if from host ..." and a blank line first.
        preamble: /^(\*\*\*\*.*)?$/,
      }),
      spawnError,
    ]);
    const exitCode = await exited;
    return { ...transcript, stderr: Buffer.concat(stderr).toString('utf8'), exitCode };
  } catch (error) {
    child.kill('SIGKILL');
    const trace = Buffer.concat(stderr).toString('utf8');
    throw new Error(`exim ${args.join(' ')}: ${error instanceof Error ? error.message : String(error)}\n${trace}`);
  } finally {
    clearTimeout(timer);
  }
}
