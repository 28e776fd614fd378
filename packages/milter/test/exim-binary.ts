/**
 * A real Exim for the integration tests, without making it the system MTA (Debian's exim4
 * packages conflict with postfix): `apt-get download` of exim4-daemon-heavy (light lacks
 * Content_Scanning, hence the `spam` condition) and libidn12 (its one library missing here),
 * unpacked with `dpkg-deb -x` into a cache directory once. Exim looks up its compiled-in user
 * `Debian-exim` at start, so that system user is created when missing (tests run as root).
 *
 * Stop-gap until packages/testkit/src/exim.ts (branch postfix-harness) lands; then this goes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CACHE = join(tmpdir(), 'mailward-exim-debs');

export interface EximBinary {
  readonly path: string;
  /** Environment for running it (LD_LIBRARY_PATH to the unpacked library). */
  readonly env: NodeJS.ProcessEnv;
}

export async function eximBinary(): Promise<EximBinary> {
  const root = join(CACHE, 'root');
  const path = join(root, 'usr/sbin/exim4');
  if (!existsSync(path)) {
    await mkdir(CACHE, { recursive: true });
    await run('apt-get', ['download', 'exim4-daemon-heavy', 'libidn12'], { cwd: CACHE }).catch(async () => {
      await run('apt-get', ['update'], { cwd: CACHE });
      await run('apt-get', ['download', 'exim4-daemon-heavy', 'libidn12'], { cwd: CACHE });
    });
    for (const deb of (await readdir(CACHE)).filter((name) => name.endsWith('.deb'))) {
      await run('dpkg-deb', ['-x', join(CACHE, deb), root]);
    }
  }
  const user = await run('getent', ['passwd', 'Debian-exim']).catch(() => undefined);
  if (user === undefined) {
    await run('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      'Debian-exim',
    ]);
  }
  const env = { ...process.env, LD_LIBRARY_PATH: join(root, 'usr/lib/x86_64-linux-gnu') };
  const version = await run(path, ['-C', '/dev/null', '-bV'], { env }).catch((error: { stdout?: string }) => ({
    stdout: error.stdout ?? '',
  }));
  if (!/Content_Scanning/.test(version.stdout))
    throw new Error(`${path} -bV: no Content_Scanning support:\n${version.stdout}`);
  return { path, env };
}
