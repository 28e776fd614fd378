/**
 * A private Postfix 3.7 instance for integration tests (Debian package `postfix`), next to and
 * never touching the system instance (/etc/postfix is only read, for postfix-files):
 * - DIR/etc is `config_directory` (main.cf and master.cf written here), DIR/queue the
 *   `queue_directory`, DIR/data the `data_directory`, DIR/maillog the log. They are siblings
 *   because postfix-script warns about every queue directory found under config_directory
 *   ("not owned by root").
 * - smtpd listens on 127.0.0.1:PORT (a free port) only; everything is relayed to an in-test SMTP
 *   sink (smtp-sink.ts) through `relayhost = [127.0.0.1]:SINKPORT` with DNS turned off
 *   (`smtp_dns_support_level = disabled`), so delivered mail is handed to the test byte for byte.
 * - `smtpd_authorized_xclient_hosts = 127.0.0.0/8`: tests choose client address, name, HELO and
 *   SASL login with XCLIENT (smtp-client.ts). XCLIENT LOGIN= only sticks when
 *   `smtpd_sasl_auth_enable = yes` (smtpd_sasl_proto.c, smtpd_sasl_auth_extern), so it is on;
 *   the milter then gets the name as `{auth_authen}`.
 * - Relaying is open to every client (`check_client_access static:OK`), as XCLIENT gives
 *   clients outside mynetworks; smtpd still listens on loopback only.
 * - `maillog_file` needs the postlog service in master.cf and a path under
 *   `maillog_file_prefixes` (default /var, /dev/stdout). When the prefix check fails the
 *   `postfix` command exits 1 and prints nothing at all: checked by hand.
 * - Header rewriting is off (`local_header_rewrite_clients` empty): otherwise mail from
 *   127.0.0.1 without XCLIENT would get Message-ID/Date added and addresses rewritten.
 * - No chroot (master.cf column 5 = n): the chroot would need copies of /etc files.
 * - What arrives in the sink: Postfix's Received on top, then the message as sent, except that
 *   Postfix removes whitespace between a header field's name and its colon ("X-A  : v" arrives
 *   as "X-A: v"), with or without a milter (seen with 3.7.11). Folding, tabs, trailing spaces
 *   and the body stay byte for byte. DKIM relaxed header canonicalization (RFC 6376 section
 *   3.4.2) ignores that space; simple canonicalization of such a field breaks.
 * - XCLIENT LOGIN= shows as "with ESMTPA" in Received.
 * Postfix runs as root here and drops to `mail_owner = postfix` itself.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readLogFile } from './log-file.js';
import { LOOPBACK, freePort } from './ports.js';
import { sendSmtp, type SmtpSendOptions, type SmtpTranscript } from './smtp-client.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

const execFileAsync = promisify(execFile);

/** Postfix's load generator (package postfix), for benchmarks: `smtp-source -s N -m M 127.0.0.1:PORT`. */
export const SMTP_SOURCE_PATH = '/usr/sbin/smtp-source';
const POSTFIX = '/usr/sbin/postfix';
const POSTQUEUE = '/usr/sbin/postqueue';
const POSTSUPER = '/usr/sbin/postsuper';

export type MilterDefaultAction = 'accept' | 'reject' | 'tempfail' | 'quarantine';

export interface StartPostfixOptions {
  /** `smtpd_milters`, e.g. `inet:127.0.0.1:PORT`. */
  readonly smtpdMilters?: string;
  readonly nonSmtpdMilters?: string;
  /** What Postfix does when a milter is down or misbehaves (Postfix default: tempfail). */
  readonly milterDefaultAction?: MilterDefaultAction;
  /** Default 6. */
  readonly milterProtocol?: number;
  /** `{daemon_name}` sent to milters (Postfix default: $myname). */
  readonly milterMacroDaemonName?: string;
  /**
   * `smtpd_recipient_restrictions`. With `policyService` and no restrictions given, the
   * restrictions are just `check_policy_service inet:127.0.0.1:PORT`.
   */
  readonly recipientRestrictions?: string;
  /** A Postfix policy service (SMTPD_POLICY_README) as `inet:HOST:PORT`. */
  readonly policyService?: string;
  /** More main.cf settings, written last (so they win). */
  readonly mainCf?: Readonly<Record<string, string>>;
  /** `myhostname` (default mx.test.example): it appears in Received and the greeting. */
  readonly hostname?: string;
  /** A sink to deliver to; by default one is started and stopped with the instance. */
  readonly sink?: SmtpSink;
  /** How long to wait for smtpd to greet (default 20 s). */
  readonly readyTimeoutMs?: number;
}

export interface QueuedMessage {
  readonly queueId: string;
  /** Postfix queue name: incoming, active, deferred, hold, maildrop. */
  readonly queueName: string;
  readonly sender: string;
  readonly recipients: readonly string[];
}

export interface PostfixInstance {
  readonly host: string;
  /** smtpd's port on 127.0.0.1. */
  readonly port: number;
  readonly dir: string;
  readonly configDir: string;
  readonly queueDir: string;
  /** Where relayed mail arrives. */
  readonly sink: SmtpSink;
  /** Sends one message to this instance's smtpd (host and port filled in). */
  send(options: Omit<SmtpSendOptions, 'host' | 'port'>): Promise<SmtpTranscript>;
  /** The instance's maillog so far. */
  log(): string;
  /** The queue as `postqueue -j` lists it (held messages show queueName 'hold'). */
  queue(): Promise<QueuedMessage[]>;
  /** Deletes every queued message (`postsuper -d ALL`), e.g. between tests. */
  clearQueue(): Promise<void>;
  /** `postconf -c DIR NAME=VALUE ...` then `postfix reload`: new smtpd processes see the change. */
  reconfigure(settings: Readonly<Record<string, string>>): Promise<void>;
  /** `postfix stop`, SIGKILL to what is left, then deletes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Master process groups still running, killed if the test process exits without stopping them. */
const running = new Set<number>();
process.on('exit', () => {
  for (const pid of running) killGroup(pid, 'SIGKILL');
});

export async function startPostfix(options: StartPostfixOptions = {}): Promise<PostfixInstance> {
  if (!existsSync(POSTFIX)) throw new Error(`${POSTFIX} is missing: apt-get install postfix`);
  if (userInfo().uid !== 0) throw new Error('the Postfix harness needs root (postfix start runs as root)');
  const sink = options.sink ?? (await startSmtpSink());
  const ownSink = options.sink === undefined;
  let lastError: unknown;
  // Another process may take the port between freePort() and master's bind: try a few ports.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(options, sink, ownSink, await freePort());
    } catch (error) {
      lastError = error;
      if (!(error instanceof PostfixBindError)) break;
    }
  }
  if (ownSink) await sink.close();
  throw lastError;
}

class PostfixBindError extends Error {}

async function startOnce(
  options: StartPostfixOptions,
  sink: SmtpSink,
  ownSink: boolean,
  port: number,
): Promise<PostfixInstance> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-postfix-'));
  // mkdtemp makes 0700; Postfix's daemons run as postfix and must reach DIR/queue.
  await chmod(dir, 0o755);
  const configDir = join(dir, 'etc');
  const queueDir = join(dir, 'queue');
  const dataDir = join(dir, 'data');
  const logPath = join(dir, 'maillog');
  await Promise.all([mkdir(configDir), mkdir(queueDir)]);
  await mkdir(dataDir);
  const owner = await postfixUser();
  await chown(dataDir, owner.uid, owner.gid);
  await writeFile(join(configDir, 'main.cf'), renderMainCf(options, { configDir, queueDir, dataDir, logPath, sink }));
  await writeFile(join(configDir, 'master.cf'), renderMasterCf(port));

  const log = (): string => readLogFile(logPath);
  const postfix = async (...args: string[]): Promise<string> => {
    try {
      const { stdout, stderr } = await execFileAsync(POSTFIX, ['-c', configDir, ...args], { timeout: 30_000 });
      return `${stdout}${stderr}`;
    } catch (error) {
      throw new Error(`postfix ${args.join(' ')} failed: ${describe(error)}\n--- maillog ---\n${log()}`);
    }
  };

  let masterPid: number | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    masterPid ??= readMasterPid(queueDir);
    await execFileAsync(POSTFIX, ['-c', configDir, 'stop'], { timeout: 15_000 }).catch(() => undefined);
    if (masterPid !== undefined) {
      await waitForExit(masterPid, 5000);
      // Children (smtpd, qmgr, ...) share master's process group (master calls setsid).
      killGroup(masterPid, 'SIGKILL');
      running.delete(masterPid);
    }
    if (ownSink) await sink.close();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // `postfix start` runs `postfix check` itself (postfix-script), creating the queue directories.
    await postfix('start');
    masterPid = readMasterPid(queueDir);
    if (masterPid !== undefined) running.add(masterPid);
    await waitForGreeting(port, options.readyTimeoutMs ?? 20_000);
  } catch (error) {
    const text = log();
    await stop();
    if (/Address already in use|bind .* failed/i.test(text)) throw new PostfixBindError(`port ${port} taken:\n${text}`);
    throw new Error(`Postfix did not start: ${describe(error)}\n--- maillog ---\n${text}`);
  }

  return {
    host: LOOPBACK,
    port,
    dir,
    configDir,
    queueDir,
    sink,
    log,
    stop,
    send: (message) => sendSmtp({ ...message, host: LOOPBACK, port }),
    async queue(): Promise<QueuedMessage[]> {
      const { stdout } = await execFileAsync(POSTQUEUE, ['-c', configDir, '-j'], { timeout: 15_000 });
      return stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => parseQueueLine(line));
    },
    async clearQueue(): Promise<void> {
      await execFileAsync(POSTSUPER, ['-c', configDir, '-d', 'ALL'], { timeout: 15_000 });
    },
    async reconfigure(settings): Promise<void> {
      const args = Object.entries(settings).map(([name, value]) => `${name}=${value}`);
      await execFileAsync('/usr/sbin/postconf', ['-c', configDir, '-e', ...args], { timeout: 15_000 });
      await postfix('reload');
    },
  };
}

interface Paths {
  readonly configDir: string;
  readonly queueDir: string;
  readonly dataDir: string;
  readonly logPath: string;
  readonly sink: SmtpSink;
}

function renderMainCf(options: StartPostfixOptions, paths: Paths): string {
  const settings: Record<string, string> = {
    compatibility_level: '3.6',
    config_directory: paths.configDir,
    queue_directory: paths.queueDir,
    data_directory: paths.dataDir,
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    maillog_file: paths.logPath,
    maillog_file_prefixes: paths.logPath,
    myhostname: options.hostname ?? 'mx.test.example',
    mydomain: 'test.example',
    myorigin: '$myhostname',
    mydestination: '',
    inet_interfaces: 'loopback-only',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    smtpd_authorized_xclient_hosts: '127.0.0.0/8',
    smtpd_sasl_auth_enable: 'yes',
    smtpd_relay_restrictions: 'check_client_access static:OK, reject',
    smtpd_recipient_restrictions: recipientRestrictions(options),
    relayhost: `[${paths.sink.host}]:${paths.sink.port}`,
    default_transport: 'smtp',
    smtp_dns_support_level: 'disabled',
    smtp_host_lookup: 'native',
    local_header_rewrite_clients: '',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    biff: 'no',
    // A sink that is briefly unreachable should not park mail for the default minutes.
    minimal_backoff_time: '1s',
    maximal_backoff_time: '2s',
    queue_run_delay: '1s',
    milter_protocol: String(options.milterProtocol ?? 6),
    milter_default_action: options.milterDefaultAction ?? 'tempfail',
  };
  if (options.smtpdMilters !== undefined) settings.smtpd_milters = options.smtpdMilters;
  if (options.nonSmtpdMilters !== undefined) settings.non_smtpd_milters = options.nonSmtpdMilters;
  if (options.milterMacroDaemonName !== undefined) settings.milter_macro_daemon_name = options.milterMacroDaemonName;
  Object.assign(settings, options.mainCf ?? {});
  return `${Object.entries(settings)
    .map(([name, value]) => `${name} = ${value}`)
    .join('\n')}\n`;
}

function recipientRestrictions(options: StartPostfixOptions): string {
  if (options.recipientRestrictions !== undefined) return options.recipientRestrictions;
  if (options.policyService !== undefined) return `check_policy_service ${options.policyService}`;
  return 'permit';
}

/** The services a relay-only instance needs (Debian's master.cf, chroot off), plus postlog. */
function renderMasterCf(port: number): string {
  return `${[
    `${LOOPBACK}:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ].join('\n')}\n`;
}

function parseQueueLine(line: string): QueuedMessage {
  const entry = JSON.parse(line) as {
    queue_id: string;
    queue_name: string;
    sender: string;
    recipients?: Array<{ address: string }>;
  };
  return {
    queueId: entry.queue_id,
    queueName: entry.queue_name,
    sender: entry.sender,
    recipients: (entry.recipients ?? []).map((r) => r.address),
  };
}

async function postfixUser(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await execFileAsync('/usr/bin/id', ['postfix']);
  const uid = /uid=(\d+)/.exec(stdout)?.[1];
  const gid = /gid=(\d+)/.exec(stdout)?.[1];
  if (uid === undefined || gid === undefined) throw new Error(`no postfix user: ${stdout}`);
  return { uid: Number(uid), gid: Number(gid) };
}

function readMasterPid(queueDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(queueDir, 'pid', 'master.pid'), 'latin1').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves once smtpd answers with a 220 greeting (master binds before smtpd runs). */
async function waitForGreeting(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const greeting = await readGreeting(port);
      if (greeting.startsWith('220')) return;
      last = greeting;
    } catch (error) {
      last = describe(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`smtpd on port ${port} gave no 220 greeting within ${timeoutMs} ms (last: ${last})`);
}

async function readGreeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, LOOPBACK);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no greeting'));
    }, 3000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) {
        clearTimeout(timer);
        socket.end('QUIT\r\n');
        resolve(text.split('\n')[0] ?? '');
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const output = error as Error & { stdout?: string; stderr?: string };
    return [error.message, output.stdout, output.stderr].filter((part) => part).join('\n');
  }
  return String(error);
}
