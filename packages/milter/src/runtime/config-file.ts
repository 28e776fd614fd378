/**
 * Reads `mailward.yaml` from disk for the services and `mailward config check`: finds it, reads
 * it (bounded), parses it (config/parse.ts) and, unless asked not to, checks that every key file
 * it names exists and holds a private key DKIM can use, as a mail admin expects a check to catch
 * a key that is missing before the milter starts without it, and that the directory of each
 * SQLite store exists and is writable (the store file itself is created on first use).
 */
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { hostname as systemHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { describeSystemError, readPrivateKeyFile } from '@mailward/adapters';
import type { ConfigError } from '../config/errors.js';
import type { LocatedKeyFile } from '../config/parse.js';
import { parseConfig } from '../config/parse.js';
import type { MailwardConfig } from '../config/resolve.js';

/** Where the services look when no `--config` is given, in this order. */
export const DEFAULT_CONFIG_PATHS: readonly string[] = ['mailward.yaml', '/etc/mailward/mailward.yaml'];

/** A configuration file is a page or two; anything this large is the wrong file. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface LoadConfigOptions {
  /** The authserv-id and receiver when the file names none; default: this machine's host name. */
  readonly hostname?: string;
  /** Check that key files exist and hold usable private keys (default true). */
  readonly checkKeys?: boolean;
  /** Directory relative `path`s are taken from (default: the process's). */
  readonly cwd?: string;
}

export type ConfigFileLoad =
  | {
      readonly ok: true;
      /** Absolute path of the file that was read. */
      readonly file: string;
      readonly config: MailwardConfig;
      readonly keyFiles: readonly LocatedKeyFile[];
    }
  | { readonly ok: false; readonly file: string; readonly errors: readonly ConfigError[] };

export async function loadConfigFile(path: string, options: LoadConfigOptions = {}): Promise<ConfigFileLoad> {
  const file = resolve(options.cwd ?? process.cwd(), path);
  const read = await readConfigText(file);
  if (!read.ok) return { ok: false, file, errors: [{ source: path, path: '', message: read.reason }] };
  const parsed = parseConfig(read.text, path, {
    baseDir: dirname(file),
    hostname: options.hostname ?? systemHostname(),
  });
  // The files the configuration names are checked even when the checks across keys failed, so
  // one run reports every problem (the schema's own errors come first: without a valid shape the
  // file names nothing reliably).
  const named =
    options.checkKeys === false
      ? []
      : [
          ...(await checkKeyFiles(parsed.keyFiles ?? [], path)),
          ...(await checkStoreDirectories(parsed.storeFiles ?? [], path)),
        ];
  if (!parsed.ok) return { ok: false, file, errors: byPlace([...parsed.errors, ...named]) };
  if (named.length > 0) return { ok: false, file, errors: byPlace(named) };
  return { ok: true, file, config: parsed.config, keyFiles: parsed.keyFiles };
}

/**
 * The first of `candidates` that exists (relative ones from `cwd`), or a reason naming where it
 * looked. A candidate that exists but cannot be read is still chosen, so its error is reported.
 */
export async function findConfigFile(
  candidates: readonly string[] = DEFAULT_CONFIG_PATHS,
  cwd: string = process.cwd(),
): Promise<{ readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string }> {
  for (const candidate of candidates) {
    try {
      const handle = await open(resolve(cwd, candidate), 'r');
      await handle.close();
      return { ok: true, path: candidate };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { ok: true, path: candidate };
    }
  }
  const places = candidates.map((candidate) => resolve(cwd, candidate)).join(' nor ');
  return { ok: false, reason: `no configuration file: neither ${places} exists; give one with --config FILE` };
}

async function readConfigText(
  file: string,
): Promise<{ readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string }> {
  let bytes: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const info = await handle.stat();
      if (info.isDirectory()) return { ok: false, reason: `${file} is a directory, not a configuration file` };
      if (info.size > MAX_CONFIG_BYTES) {
        return {
          ok: false,
          reason: `${file} is ${info.size} bytes, too large for a configuration file (at most 1 MiB)`,
        };
      }
      bytes = await readAtMost(handle, MAX_CONFIG_BYTES + 1);
    } finally {
      await handle.close();
    }
  } catch (error) {
    return {
      ok: false,
      reason: describeSystemError(error, file) ?? `cannot read ${file}: ${(error as Error).message}`,
    };
  }
  // A special file (a pipe, /dev/zero) has no size to stat: the limit is on what was read.
  if (bytes.length > MAX_CONFIG_BYTES)
    return { ok: false, reason: `${file} is too large for a configuration file (at most 1 MiB)` };
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, reason: `${file} is not UTF-8 text` };
  }
}

/** Reads up to `limit` bytes, so a file without end cannot fill the memory. */
async function readAtMost(handle: FileHandle, limit: number): Promise<Buffer> {
  const buffer = Buffer.alloc(limit);
  let filled = 0;
  while (filled < limit) {
    const { bytesRead } = await handle.read(buffer, filled, limit - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

function byPlace(errors: ConfigError[]): ConfigError[] {
  return errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** A SQLite store is created on first use, but not its directory: that must exist and be writable. */
async function checkStoreDirectories(stores: readonly LocatedKeyFile[], source: string): Promise<ConfigError[]> {
  const errors: ConfigError[] = [];
  for (const ref of stores) {
    const directory = dirname(ref.file);
    const problem = await directoryProblem(directory);
    if (problem !== undefined)
      errors.push({
        source,
        path: ref.path,
        line: ref.line,
        column: ref.column,
        message: `the store's directory ${directory} ${problem}`,
      });
  }
  return errors;
}

async function directoryProblem(directory: string): Promise<string | undefined> {
  try {
    if (!(await stat(directory)).isDirectory()) return 'is not a directory';
    await access(directory, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist: create it (the store file is created on first use)';
    if (code === 'EACCES') return 'is not writable for this user: the service must be able to create the store there';
    return `cannot be used: ${describeSystemError(error) ?? (error as Error).message}`;
  }
}

async function checkKeyFiles(keyFiles: readonly LocatedKeyFile[], source: string): Promise<ConfigError[]> {
  const errors: ConfigError[] = [];
  for (const ref of keyFiles) {
    const key = await readPrivateKeyFile(ref.file);
    if (!key.ok) errors.push({ source, path: ref.path, line: ref.line, column: ref.column, message: key.reason });
  }
  return errors;
}
