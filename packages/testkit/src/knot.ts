/**
 * Starts a real authoritative server (Knot DNS 3.2, `knotd`) on a free loopback port for
 * integration tests, with everything (config, zones, databases, control socket, log) in a fresh
 * temporary directory.
 *
 * What Knot 3.2.6 does, checked by hand and by test/knot.int.test.ts:
 * - A zone whose file fails to load (syntax error) answers SERVFAIL, with no records, for its
 *   apex and every name below it, over UDP and TCP. The rest of the server keeps working.
 * - But a zone that had loaded keeps serving its old contents when a reload finds a broken file
 *   (knotc reports an error, queries still get NOERROR). `reload` therefore purges such a zone
 *   (`knotc zone-purge -f`, which expires it: SERVFAIL) before writing the broken file.
 * - Knot follows a CNAME only inside the zone it is answering from. Its other zones are not
 *   consulted: without a delegation, a root zone answers NXDOMAIN for a CNAME target that lives
 *   in a child zone. With a delegation it answers the CNAME plus a referral, and the resolver
 *   asks again for the target. So `startKnot` adds an NS delegation (to ns.invalid.) to the
 *   closest enclosing zone for every zone nested in another one.
 * - Reloading a zone file with an unchanged SOA serial still loads the new contents
 *   (zonefile-load: whole, no journal), so callers need not bump serials.
 * - Names that exist only as parents of other names (empty non-terminals) answer NOERROR with
 *   no records (NODATA), where core's MemoryResolver answers NXDOMAIN.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readLogFile } from './log-file.js';
import { rawQuery, rcodeOf } from './dns-client.js';
import { LOOPBACK, freePort } from './ports.js';

export type KnotZone =
  /** `dnssec`: Knot signs the zone as it loads it (automatic signing, default policy: ECDSA P-256). */
  | { readonly origin: string; readonly text: string; readonly dnssec?: boolean }
  /** Served from a zone file with a syntax error: Knot answers SERVFAIL for the whole zone. */
  | { readonly origin: string; readonly broken: true };

export interface StartKnotOptions {
  readonly zones: readonly KnotZone[];
  /** How long to wait for every zone to answer (default 10 s). */
  readonly readyTimeoutMs?: number;
}

export interface KnotServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** Replaces the served zones (added, changed, removed, broken) and waits until they answer. */
  reload(zones: readonly KnotZone[]): Promise<void>;
  /** Stops knotd (SIGTERM, then SIGKILL to its process group) and deletes the directory. */
  stop(): Promise<void>;
  /** The server's log so far, for failure messages. */
  log(): string;
}

const BROKEN_ZONE_TEXT = '; deliberately unparsable: Knot must fail to load this zone\n@ 3600 IN SOA (((\n';
const DELEGATION_TARGET = 'ns.invalid.';
const execFileAsync = promisify(execFile);

/** Process groups still running, killed if the test process exits without stopping them. */
const running = new Set<number>();
process.on('exit', () => {
  for (const pid of running) killGroup(pid, 'SIGKILL');
});

export async function startKnot(options: StartKnotOptions): Promise<KnotServer> {
  let lastError: unknown;
  // Another process may take the port between freePort() and knotd's bind: try a few ports.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(options, await freePort());
    } catch (error) {
      lastError = error;
      if (!(error instanceof KnotBindError)) throw error;
    }
  }
  throw lastError;
}

class KnotBindError extends Error {}

async function startOnce(options: StartKnotOptions, port: number): Promise<KnotServer> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-knot-'));
  await Promise.all(['run', 'db', 'zones'].map((sub) => mkdir(join(dir, sub))));
  const confPath = join(dir, 'knot.conf');
  const logPath = join(dir, 'knotd.log');
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  let zones = prepareZones(options.zones);
  await writeZones(dir, zones);
  await writeFile(confPath, renderConfig(dir, port, zones));

  const logFd = openSync(logPath, 'a');
  // detached: knotd leads its own process group, so stop() can signal the group as a whole.
  const child: ChildProcess = spawn(binary('knotd'), ['-c', confPath], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('knotd did not start (is the knot package installed?)');
  running.add(pid);
  child.unref();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(pid);
      resolve();
    });
  });
  const log = (): string => readLogFile(logPath);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const knotc = async (...args: string[]): Promise<void> => {
    try {
      await execFileAsync(binary('knotc'), ['-c', confPath, ...args], { timeout: 10_000 });
    } catch (error) {
      throw new Error(`knotc ${args.join(' ')} failed: ${String(error)}\n--- knotd log ---\n${log()}`);
    }
  };

  try {
    await waitUntilServing(port, zones, readyTimeoutMs, () => exited);
  } catch (error) {
    const text = log();
    await stop();
    if (/Address already in use|cannot bind/i.test(text)) throw new KnotBindError(`port ${port} taken:\n${text}`);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- knotd log ---\n${text}`);
  }

  return {
    host: LOOPBACK,
    port,
    pid,
    dir,
    log,
    stop,
    async reload(next: readonly KnotZone[]): Promise<void> {
      const nextZones = prepareZones(next);
      // A loaded zone survives a failed reload with its old data; purge it so it answers SERVFAIL.
      const previous = new Map(zones.map((zone) => [zone.origin, zone]));
      for (const zone of nextZones) {
        if (zone.text === undefined && previous.get(zone.origin)?.text !== undefined) {
          await knotc('-b', 'zone-purge', '-f', zone.origin);
        }
      }
      zones = nextZones;
      await writeZones(dir, zones);
      await writeFile(confPath, renderConfig(dir, port, zones));
      await knotc('reload');
      for (const zone of zones) if (zone.text !== undefined) await knotc('-b', 'zone-reload', zone.origin);
      await waitUntilServing(port, zones, readyTimeoutMs, () => exited);
    },
  };
}

interface PreparedZone {
  /** Absolute, lower-case, with the final dot (`.` for the root). */
  readonly origin: string;
  /** Zone file text, undefined for a broken zone. */
  readonly text: string | undefined;
  readonly file: string;
  readonly dnssec: boolean;
}

function prepareZones(zones: readonly KnotZone[]): PreparedZone[] {
  const prepared = zones.map((zone) => {
    const origin = absolute(zone.origin);
    const file = `${createHash('sha256').update(origin).digest('hex').slice(0, 20)}.zone`;
    return {
      origin,
      text: 'text' in zone ? zone.text : undefined,
      file,
      dnssec: 'dnssec' in zone && zone.dnssec === true,
    };
  });
  const origins = new Set<string>();
  for (const zone of prepared) {
    if (origins.has(zone.origin)) throw new Error(`zone ${zone.origin} given twice`);
    origins.add(zone.origin);
  }
  // Delegate every nested zone from its closest enclosing zone (see the note at the top).
  return prepared.map((zone) => {
    if (zone.text === undefined) return zone;
    const children = prepared.filter((other) => parentOf(other.origin, prepared) === zone.origin);
    if (children.length === 0) return zone;
    const delegations = children.map((child) => `${child.origin} 3600 IN NS ${DELEGATION_TARGET}`).join('\n');
    return { ...zone, text: `${zone.text}\n; delegations added by startKnot\n${delegations}\n` };
  });
}

function parentOf(origin: string, zones: readonly PreparedZone[]): string | undefined {
  let best: string | undefined;
  for (const zone of zones) {
    if (zone.origin !== origin && isWithin(origin, zone.origin) && (!best || zone.origin.length > best.length)) {
      best = zone.origin;
    }
  }
  return best;
}

function isWithin(name: string, origin: string): boolean {
  return origin === '.' || name === origin || name.endsWith(`.${origin}`);
}

function absolute(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

async function writeZones(dir: string, zones: readonly PreparedZone[]): Promise<void> {
  for (const zone of zones) await writeFile(join(dir, 'zones', zone.file), zone.text ?? BROKEN_ZONE_TEXT);
}

function renderConfig(dir: string, port: number, zones: readonly PreparedZone[]): string {
  const q = (text: string): string => JSON.stringify(text);
  return [
    'server:',
    `    rundir: ${q(join(dir, 'run'))}`,
    `    listen: [ ${q(`${LOOPBACK}@${port}`)} ]`,
    '    udp-workers: 1',
    '    tcp-workers: 1',
    '    background-workers: 1',
    'log:',
    '  - target: stderr',
    '    any: info',
    'database:',
    `    storage: ${q(join(dir, 'db'))}`,
    `    journal-db: ${q(join(dir, 'db', 'journal'))}`,
    `    timer-db: ${q(join(dir, 'db', 'timers'))}`,
    `    kasp-db: ${q(join(dir, 'db', 'keys'))}`,
    'control:',
    `    listen: ${q(join(dir, 'run', 'knot.sock'))}`,
    'template:',
    '  - id: default',
    `    storage: ${q(join(dir, 'zones'))}`,
    // Never write zones back, keep no journal: the files are the whole truth on every load.
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    '    journal-content: none',
    // Fixtures are not production zones (missing glue, odd names); load what is mandatory-valid.
    '    semantic-checks: off',
    zones.length > 0 ? 'zone:' : '',
    ...zones.flatMap((zone) => [
      `  - domain: ${q(zone.origin)}`,
      `    file: ${q(zone.file)}`,
      ...(zone.dnssec ? ['    dnssec-signing: on'] : []),
    ]),
    '',
  ].join('\n');
}

/** Polls until every good zone answers its SOA and every broken one answers SERVFAIL. */
async function waitUntilServing(
  port: number,
  zones: readonly PreparedZone[],
  timeoutMs: number,
  hasExited: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probes = zones.length > 0 ? zones : [{ origin: '.', text: undefined, file: '', dnssec: false }];
  for (;;) {
    if (hasExited()) throw new Error('knotd exited during startup');
    const answers = await Promise.all(
      probes.map((zone) => rawQuery({ host: LOOPBACK, port, name: zone.origin, type: 'SOA', timeoutMs: 200 })),
    );
    const ready = answers.every((packet, index) => {
      if (!packet) return false;
      if (zones.length === 0) return true;
      return probes[index]?.text === undefined
        ? rcodeOf(packet) === 2
        : rcodeOf(packet) === 0 && (packet.answers ?? []).some((record) => record.type === 'SOA');
    });
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`Knot zones not served within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Debian installs Knot in /usr/sbin, which is not on every PATH (e.g. a non-login shell). */
function binary(name: 'knotd' | 'knotc'): string {
  const env = process.env[name.toUpperCase()];
  if (env) return env;
  return existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : name;
}
