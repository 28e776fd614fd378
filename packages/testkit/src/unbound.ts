/**
 * Starts a real validating recursive resolver (Unbound, `unbound -d`) on a free loopback port for
 * integration tests. It knows no root: each zone it serves is a stub zone sent to a test server
 * (Knot), and DNSSEC is validated only below the trust anchors given, so a zone with an anchor
 * is secure or bogus and every other zone is insecure. Nothing is cached for long (cache-max-ttl
 * 1 s), so a test that changes a zone sees the change.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogFile } from './log-file.js';
import { rawQuery } from './dns-client.js';
import { LOOPBACK, freePort } from './ports.js';

export interface StartUnboundOptions {
  /** Zones answered by asking the server at `host:port` (an authoritative test server). */
  readonly stubZones: readonly { readonly zone: string; readonly host: string; readonly port: number }[];
  /** Trust anchors in presentation form, e.g. `example. DNSKEY 257 3 13 <base64>` or a DS. */
  readonly trustAnchors?: readonly string[];
}

export interface UnboundServer {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  log(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startUnbound(options: StartUnboundOptions): Promise<UnboundServer> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-unbound-'));
  const port = await freePort();
  const logPath = join(dir, 'unbound.log');
  const q = (text: string): string => JSON.stringify(text);
  const config = [
    'server:',
    `    interface: ${LOOPBACK}@${port}`,
    `    port: ${port}`,
    `    directory: ${q(dir)}`,
    `    pidfile: ${q(join(dir, 'unbound.pid'))}`,
    '    chroot: ""',
    '    username: ""',
    '    use-syslog: no',
    `    logfile: ${q(logPath)}`,
    '    verbosity: 1',
    '    val-log-level: 2',
    '    num-threads: 1',
    '    do-ip6: no',
    '    do-not-query-localhost: no',
    '    access-control: 127.0.0.0/8 allow',
    '    module-config: "validator iterator"',
    '    qname-minimisation: no',
    '    cache-max-ttl: 1',
    '    cache-max-negative-ttl: 1',
    '    val-bogus-ttl: 1',
    ...(options.trustAnchors ?? []).map((anchor) => `    trust-anchor: ${q(anchor)}`),
    ...options.stubZones.flatMap((stub) => [
      'stub-zone:',
      `    name: ${q(stub.zone)}`,
      `    stub-addr: ${stub.host}@${stub.port}`,
    ]),
    '',
  ].join('\n');
  const configPath = join(dir, 'unbound.conf');
  await writeFile(configPath, config);
  await writeFile(logPath, '');
  const logFd = openSync(logPath, 'a');
  const child = spawn(binary(), ['-d', '-c', configPath], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  running.add(child);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    }),
  );
  const log = (): string => readLogFile(logPath);
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  // Ready when it answers anything (the root is unknown to it: SERVFAIL or REFUSED will do).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      const text = log();
      await stop();
      throw new Error(`unbound exited during startup:\n${text}`);
    }
    if (await rawQuery({ host: LOOPBACK, port, name: 'ready.invalid', type: 'A', timeoutMs: 200 })) break;
    if (Date.now() > deadline) {
      const text = log();
      await stop();
      throw new Error(`unbound did not answer within 10 s:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { host: LOOPBACK, port, dir, log, stop };
}

/** Debian installs unbound in /usr/sbin, which is not on every PATH. */
function binary(): string {
  if (process.env.UNBOUND) return process.env.UNBOUND;
  return existsSync('/usr/sbin/unbound') ? '/usr/sbin/unbound' : 'unbound';
}
