/**
 * Starts a real IMAP server (Dovecot 2.3, `dovecot -F`) on a free loopback port for integration
 * tests: plain-text login allowed on loopback, no TLS, one user from a passwd file, Maildir mail in
 * a fresh temporary directory. Dovecot refuses to give mail access as root, so the user's mail
 * belongs to `nobody` (uid and gid looked up, 65534 on Debian); the directory is made traversable.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOOPBACK, freePort } from './ports.js';

export interface DovecotServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dir: string;
  /** The user's Maildir root. */
  readonly maildir: string;
  log(): Promise<string>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function nobody(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('nobody:'));
  const fields = line?.split(':') ?? [];
  return { uid: Number(fields[2] ?? 65534), gid: Number(fields[3] ?? 65534) };
}

/** `port`: listen there (to restart a server where clients expect it); default a free port. */
export async function startDovecot(options: { readonly port?: number } = {}): Promise<DovecotServer> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-dovecot-'));
  await chmod(dir, 0o755);
  const user = 'reports';
  const password = 'test-password';
  const owner = await nobody();
  const home = join(dir, 'home', user);
  const maildir = join(home, 'Maildir');
  for (const sub of ['run', 'state']) await mkdir(join(dir, sub));
  await mkdir(maildir, { recursive: true });
  await chown(join(dir, 'home'), owner.uid, owner.gid);
  await chown(home, owner.uid, owner.gid);
  await chown(maildir, owner.uid, owner.gid);
  await writeFile(join(dir, 'passwd'), `${user}:{PLAIN}${password}:${owner.uid}:${owner.gid}::${home}\n`);
  const port = options.port ?? (await freePort());
  const config = `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = ${LOOPBACK}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = ${dir}/passwd
}
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  inet_listener imap {
    address = ${LOOPBACK}
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
`;
  await writeFile(join(dir, 'dovecot.conf'), config);
  const child = spawn('/usr/sbin/dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const log = async () => `${output}${await readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '')}`;
  const stop = async () => {
    running.delete(child);
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(undefined);
        }, 3000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForGreeting(port, child, 10_000);
  } catch (error) {
    const text = await log();
    await stop();
    throw new Error(`Dovecot did not start: ${(error as Error).message}\n${text}`);
  }
  return { host: LOOPBACK, port, user, password, dir, maildir, log, stop };
}

async function waitForGreeting(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dovecot exited with ${child.exitCode}`);
    const greeting = await new Promise<string>((resolve) => {
      const socket = connect(port, LOOPBACK);
      let data = '';
      socket.setTimeout(1000, () => socket.destroy());
      socket.on('data', (chunk) => {
        data += chunk.toString();
        if (data.includes('\n')) socket.end();
      });
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(''));
    });
    if (greeting.startsWith('* OK')) return;
    if (Date.now() > deadline) throw new Error('no IMAP greeting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
