/**
 * mailward's side: `mailward milter` (packages/cli, built) as a real process on a loopback inet
 * socket, one process per role:
 * - outbound: `--internal-hosts 127.0.0.0/8,10.0.0.0/8` (every client is internal: sign);
 * - inbound: `--internal-hosts 10.0.0.0/8` (loopback clients are external: verify, DMARC, enforce).
 * Two processes because through Postfix every client is 127.0.0.1, and the milter tells outbound
 * from inbound by client address (or SASL login), not by `{daemon_name}` as OpenDKIM's `MTA`
 * list does. Both sides still get the same work per role; see docs/benchmarks.md.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@mailward/testkit';
import type { BenchDns } from './milter-dns.js';
import type { SocketKind } from './milter-peers.js';
import { startMilterProcess, type MilterProcess } from './milter-process.js';
import { AUTHOR_DOMAIN, type MilterWorld } from './milter-world.js';

export const MAILWARD_AUTHSERV_ID = 'mailward.bench';
/** This checkout's built CLI; BENCH_MAILWARD_MAIN points at another build (say, a branch's). */
const MAIN =
  process.env.BENCH_MAILWARD_MAIN ?? fileURLToPath(new URL('../../../packages/cli/dist/src/main.js', import.meta.url));

export interface MailwardMilters {
  readonly outbound: MilterProcess;
  readonly inbound: MilterProcess;
  stop(): Promise<void>;
}

export async function startMailward(world: MilterWorld, dns: BenchDns, kind: SocketKind): Promise<MailwardMilters> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-bench-ward-'));
  // Postfix's smtpd (the postfix user) must reach the sockets in here.
  await chmod(dir, 0o755);
  const started: MilterProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const milter of started.reverse()) await milter.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const keyFile = join(dir, 'outbound.pem');
    await writeFile(keyFile, world.outboundKey.privatePem, { mode: 0o600 });
    const roles = [
      { name: 'outbound', internal: '127.0.0.0/8,10.0.0.0/8' },
      { name: 'inbound', internal: '10.0.0.0/8' },
    ];
    for (const role of roles) {
      const listen = kind === 'unix' ? { path: join(dir, `${role.name}.sock`) } : { port: await freePort() };
      const args = [
        MAIN,
        'milter',
        '--listen',
        'path' in listen ? `unix:${listen.path}` : `inet:127.0.0.1:${listen.port}`,
        '--authserv-id',
        MAILWARD_AUTHSERV_ID,
        '--dns',
        `${dns.host}:${dns.port}`,
        '--sign',
        `${AUTHOR_DOMAIN}:${world.outboundKey.selector}:${keyFile}`,
        '--internal-hosts',
        role.internal,
        '--enforce',
      ];
      started.push(
        await startMilterProcess({
          name: `mailward milter (${role.name})`,
          // umask 000: the socket must be writable by Postfix's smtpd (the postfix user).
          command: '/bin/sh',
          args: ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, ...args],
          listen,
          logPath: join(dir, `mailward-${role.name}.log`),
        }),
      );
    }
    const [outbound, inbound] = started as [MilterProcess, MilterProcess];
    return { outbound, inbound, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
