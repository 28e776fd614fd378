/**
 * A private Postfix 3.7 instance for the milter bench (`postfix -c DIR start-fg`, everything under
 * one temporary directory). The bench needs several smtpd listeners with their own milters and a
 * sink that costs the bench process nothing, which testkit's postfix.ts (one listener, an
 * in-process Node sink, for tests) does not offer; the settings follow it and
 * /work/shared/research/anchors-milter.md §(e): chroot off, loopback only, relayhost = the sink
 * with DNS off, no header rewriting for local clients, `maillog_file` under
 * `maillog_file_prefixes` (otherwise `postfix` exits 1 without a word).
 *
 * One smtpd listener per (side, role), each with its own `smtpd_milters` and, for the outbound
 * role, `milter_macro_daemon_name=ORIGINATING` (what a submission service sets, and what
 * OpenDKIM's `MTA` list and mailward read). Mail is relayed to Postfix's own smtp-sink.
 *
 * Settings that would otherwise measure something else than the milters:
 * - in_flow_delay = 0: smtpd otherwise sleeps up to 1 s per message when the queue manager falls
 *   behind (the bench waits for the queue to drain between rounds instead);
 * - smtpd_peername_lookup = no: no reverse DNS for 127.0.0.1 through the machine's resolver;
 * - milter_default_action = tempfail: a milter that fails shows as a failure, never as a pass.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@mailward/testkit';
import { killGroup, killGroupAtExit } from './milter-process.js';

export interface ListenerSpec {
  readonly name: string;
  /** Milter addresses in order (Postfix notation, inet:HOST:PORT). */
  readonly milters: readonly string[];
  /** milter_macro_daemon_name; Postfix's default is $myhostname. */
  readonly daemonName?: string;
}

export interface PostfixInstance {
  readonly dir: string;
  /** Listener name → port. */
  readonly ports: ReadonlyMap<string, number>;
  /** Messages still in the queue (incoming, active, deferred, ...). */
  queued(): Promise<number>;
  /** Resolves when the queue is empty (or rejects after timeoutMs). */
  drain(timeoutMs: number): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

const SERVICES = [
  // service type private unpriv chroot wakeup maxproc command
  'pickup    unix  n - n 60 1 pickup',
  'cleanup   unix  n - n -  0 cleanup',
  'qmgr      unix  n - n 300 1 qmgr',
  'rewrite   unix  - - n -  - trivial-rewrite',
  'bounce    unix  - - n -  0 bounce',
  'defer     unix  - - n -  0 bounce',
  'trace     unix  - - n -  0 bounce',
  'verify    unix  - - n -  1 verify',
  'flush     unix  n - n 1000? 0 flush',
  'proxymap  unix  - - n -  - proxymap',
  'smtp      unix  - - n -  - smtp',
  'relay     unix  - - n -  - smtp',
  'showq     unix  n - n -  - showq',
  'error     unix  - - n -  - error',
  'retry     unix  - - n -  - error',
  'discard   unix  - - n -  - discard',
  'anvil     unix  - - n -  1 anvil',
  'scache    unix  - - n -  1 scache',
  'postlog   unix-dgram n - n - 1 postlogd',
];

/** The postfix user's ids (Debian creates the user with the package). */
function postfixIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postfix']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postfix']).toString().trim());
  return { uid, gid };
}

async function countFiles(dir: string): Promise<number> {
  let count = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) count += await countFiles(join(dir, entry.name));
    else count++;
  }
  return count;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startPostfix(listeners: readonly ListenerSpec[], sinkPort: number): Promise<PostfixInstance> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-bench-postfix-'));
  const conf = join(dir, 'conf');
  const queue = join(dir, 'queue');
  const logPath = join(dir, 'postfix.log');
  // Postfix's daemons run as the postfix user: they must reach the queue and data directories.
  await chmod(dir, 0o755);
  await mkdir(conf);
  await mkdir(queue);
  await mkdir(join(dir, 'data'));
  await chown(join(dir, 'data'), postfixIds().uid, postfixIds().gid);
  const ports = new Map<string, number>();
  const smtpd: string[] = [];
  for (const listener of listeners) {
    const port = await freePort();
    ports.set(listener.name, port);
    const options = [
      `-o syslog_name=postfix/${listener.name}`,
      `-o smtpd_milters=${listener.milters.join(',')}`,
      ...(listener.daemonName ? [`-o milter_macro_daemon_name=${listener.daemonName}`] : []),
    ];
    smtpd.push(`127.0.0.1:${port} inet n - n - - smtpd\n  ${options.join('\n  ')}`);
  }
  const main = [
    'compatibility_level = 3.6',
    `queue_directory = ${queue}`,
    `data_directory = ${join(dir, 'data')}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'myhostname = mx.receiver.test',
    'mydestination =',
    'mynetworks = 127.0.0.0/8',
    `relayhost = [127.0.0.1]:${sinkPort}`,
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    'smtpd_peername_lookup = no',
    'smtp_dns_support_level = disabled',
    // Otherwise mail from 127.0.0.1 gets Message-ID/Date added and addresses rewritten.
    'local_header_rewrite_clients =',
    'in_flow_delay = 0',
    'milter_protocol = 6',
    'milter_default_action = tempfail',
    'smtp_tls_security_level = none',
    'smtpd_tls_security_level = none',
    'smtputf8_enable = no',
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    'biff = no',
    `maillog_file = ${logPath}`,
    `maillog_file_prefixes = ${dir}`,
    'default_process_limit = 200',
    'relay_destination_concurrency_limit = 40',
    'smtp_destination_concurrency_limit = 40',
    '',
  ].join('\n');
  await writeFile(join(conf, 'main.cf'), main);
  await writeFile(join(conf, 'master.cf'), `${[...smtpd, ...SERVICES].join('\n')}\n`);
  const run = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn('/usr/sbin/postfix', ['-c', conf, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) =>
        code === 0 ? resolve(output) : reject(new Error(`postfix ${args.join(' ')}: ${output}`)),
      );
    });
  // `check` creates the queue directories with Postfix's ownership and modes (post-install).
  await run(['check']);
  const logFd = openSync(join(dir, 'master.out'), 'a');
  const child: ChildProcess = spawn('/usr/sbin/postfix', ['-c', conf, 'start-fg'], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('postfix did not start');
  child.unref();
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const forget = killGroupAtExit(pid);
  const log = (): string => {
    const read = (path: string): string => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '';
      }
    };
    return `${read(join(dir, 'master.out'))}${read(logPath)}`;
  };
  const stop = async (): Promise<void> => {
    forget();
    if (!exited) {
      await run(['stop']).catch(() => killGroup(pid, 'SIGTERM'));
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const queued = async (): Promise<number> => {
    let total = 0;
    for (const sub of ['maildrop', 'incoming', 'active', 'deferred', 'hold', 'corrupt'])
      total += await countFiles(join(queue, sub));
    return total;
  };
  const deadline = Date.now() + 20_000;
  for (const port of ports.values()) {
    while (!(await accepts(port))) {
      if (exited || Date.now() > deadline) {
        const text = log();
        await stop();
        throw new Error(`postfix did not listen on ${port}:\n${text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    dir,
    ports,
    queued,
    async drain(timeoutMs: number) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const left = await queued();
        if (left === 0) return;
        if (Date.now() > until) throw new Error(`postfix queue still holds ${left} messages after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    log,
    stop,
  };
}
