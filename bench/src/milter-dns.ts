/**
 * The bench's DNS: Knot (testkit's startKnot, free loopback port) serving the bench zone, and in
 * front of it one Unbound forwarder on port 53 of a spare loopback address (127.77.X.1), which
 * every side uses, so all of them get the same answers by the same path:
 * - OpenDMARC (libopendmarc's DMARC lookups and libspf2's SPF lookups) resolves with the libc
 *   resolver, which reads /etc/resolv.conf and cannot take a port. It therefore runs in its own
 *   mount namespace (`unshare -m`) with a resolv.conf naming the forwarder bind-mounted over
 *   /etc/resolv.conf (see milter-peers.ts); the machine's own file is never touched. Port 53 is
 *   why the forwarder exists.
 * - OpenDKIM resolves with libunbound: `Nameservers 127.77.X.1` (port 53 implied).
 * - mailward's milter gets `--dns 127.77.X.1:53`.
 * Unbound caches normally (answers are local and constant, so each side's steady state is cache
 * hits, as in production with a local resolver).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { startKnot, type KnotServer } from '@mailward/testkit';
import { killGroupAtExit } from './milter-process.js';
import { AUTHOR_DOMAIN, ZONE_ORIGIN } from './milter-world.js';

export interface BenchDns {
  /** The forwarder every side uses (port 53). */
  readonly host: string;
  readonly port: 53;
  readonly knot: KnotServer;
  stop(): Promise<void>;
}

const UNBOUND = '/usr/sbin/unbound';

export async function startBenchDns(zoneText: string): Promise<BenchDns> {
  const knot = await startKnot({ zones: [{ origin: ZONE_ORIGIN, text: zoneText }] });
  try {
    let lastError = '';
    // Another process may hold port 53 on one address: try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      const host = `127.77.${(process.pid + attempt * 37) % 250}.1`;
      const started = await startForwarder(host, knot);
      if ('stop' in started) {
        return {
          host,
          port: 53,
          knot,
          async stop() {
            await started.stop();
            await knot.stop();
          },
        };
      }
      lastError = started.error;
    }
    throw new Error(`no Unbound forwarder on port 53 of a 127.77.X.1 address: ${lastError}`);
  } catch (error) {
    await knot.stop();
    throw error;
  }
}

async function startForwarder(
  host: string,
  knot: KnotServer,
): Promise<{ stop: () => Promise<void> } | { error: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-bench-unbound-'));
  const logPath = join(dir, 'unbound.log');
  const q = (text: string): string => JSON.stringify(text);
  const config = [
    'server:',
    `    interface: ${host}@53`,
    `    directory: ${q(dir)}`,
    `    pidfile: ${q(join(dir, 'unbound.pid'))}`,
    '    chroot: ""',
    '    username: ""',
    '    use-syslog: no',
    `    logfile: ${q(logPath)}`,
    '    verbosity: 1',
    '    num-threads: 1',
    '    do-ip6: no',
    '    do-not-query-localhost: no',
    '    access-control: 127.0.0.0/8 allow',
    '    module-config: "iterator"',
    '    qname-minimisation: no',
    'forward-zone:',
    '    name: "."',
    `    forward-addr: ${knot.host}@${knot.port}`,
    '',
  ].join('\n');
  const configPath = join(dir, 'unbound.conf');
  await writeFile(configPath, config);
  await writeFile(logPath, '');
  const logFd = openSync(logPath, 'a');
  const child: ChildProcess = spawn(UNBOUND, ['-d', '-c', configPath], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const forget = child.pid === undefined ? () => undefined : killGroupAtExit(child.pid);
  const stop = async (): Promise<void> => {
    forget();
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      const text = readFileSync(logPath, 'utf8');
      await stop();
      return { error: text.trim().split('\n').slice(-3).join(' | ') };
    }
    if (await answersDmarc(host)) return { stop };
    if (Date.now() > deadline) {
      const text = readFileSync(logPath, 'utf8');
      await stop();
      return { error: `no answer within 10 s: ${text}` };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A recursive question (RD set, as the sides' resolvers ask) that the forwarder must answer. */
async function answersDmarc(host: string): Promise<boolean> {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([host]);
  try {
    return (await resolver.resolveTxt(`_dmarc.${AUTHOR_DOMAIN}`)).length > 0;
  } catch {
    return false;
  }
}
