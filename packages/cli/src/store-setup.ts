/**
 * Opens the report store named by `--store`: `sqlite:PATH` or a plain path (the embedded
 * default), or a PostgreSQL URL `postgres://user@host:port/db[?schema=name]`.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ReportStore, VerdictJournal } from '@mailward/reports';
import { PostgresReportStore, SqliteReportStore, SqliteStoreProblem } from '@mailward/adapters';

export const DEFAULT_STORE = 'sqlite:mailward.db';

export const STORE_SCHEMES = 'sqlite:PATH (or a plain path), postgres://USER@HOST[:PORT]/DB[?schema=NAME]';

export type StoreSetup =
  | { readonly ok: true; readonly store: ReportStore & VerdictJournal; readonly description: string }
  | { readonly ok: false; readonly usage: boolean; readonly reason: string };

export interface OpenStoreOptions {
  /**
   * For commands that only read: the store must exist already (a wrong path is an error, not a
   * new empty database) and is opened read-only, so a store owned by another user can be read.
   */
  readonly readonly?: boolean;
  /**
   * For commands that write but only change what is stored (enrich, upgrade): the store must
   * exist already, so a mistyped path is an error and not a new empty database.
   */
  readonly mustExist?: boolean;
  /**
   * For the verdict journal of a mail server integration (milter, Exim): SQLite commits without
   * an fsync each (synchronous=NORMAL; durable against a killed process, see docs/verdicts.md).
   */
  readonly journal?: boolean;
}

export async function openStore(spec: string, options: OpenStoreOptions = {}): Promise<StoreSetup> {
  if (/^postgres(ql)?:\/\//i.test(spec)) return openPostgres(spec, options);
  // "C:\..." is a path, not a scheme; anything else of the form "name:" or "name://" is a scheme.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(spec)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'sqlite') {
    return {
      ok: false,
      usage: true,
      reason: `--store ${JSON.stringify(spec)}: ${scheme} is not a supported store (supported: ${STORE_SCHEMES})`,
    };
  }
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  if (path === '') return { ok: false, usage: true, reason: `--store ${JSON.stringify(spec)}: give sqlite:PATH` };
  if (options.mustExist === true && !existsSync(path)) {
    return {
      ok: false,
      usage: false,
      reason: `the store ${path} does not exist (give --store the path of an existing store; reports ingest creates one)`,
    };
  }
  if (options.readonly !== true && !writable(path)) {
    return {
      ok: false,
      usage: false,
      reason: `the store ${path} is read-only for this user, and this command writes: run it as the store's owner (reading commands such as reports summary work as any user who may read it)`,
    };
  }
  try {
    const store = new SqliteReportStore(path, {
      readonly: options.readonly === true,
      ...(options.journal === true && { synchronous: 'normal' as const }),
    });
    return { ok: true, store, description: `SQLite ${path}` };
  } catch (error) {
    if (error instanceof SqliteStoreProblem && /does not exist$/.test(error.message)) {
      return {
        ok: false,
        usage: false,
        reason: `the store ${path} does not exist (give --store the path of an existing store; reports ingest creates one)`,
      };
    }
    return { ok: false, usage: false, reason: `cannot open the SQLite store ${path}: ${sqliteMessage(error)}` };
  }
}

/** A store file that exists must be writable (with its directory, for the WAL) by a writing command. */
function writable(path: string): boolean {
  if (!existsSync(path)) return true;
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(resolve(path)), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** better-sqlite3's messages, made to say what the user can do about them. */
function sqliteMessage(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  if (code === 'SQLITE_CANTOPEN') return `${message} (check that its directory exists and may be written)`;
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_READONLY_DIRECTORY') {
    return `${message} (this command writes: run it as a user who may write the file and its directory)`;
  }
  if (code === 'SQLITE_NOTADB') return 'the file is not a SQLite database';
  return message;
}

async function openPostgres(spec: string, options: OpenStoreOptions): Promise<StoreSetup> {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return { ok: false, usage: true, reason: `--store: ${JSON.stringify(spec)} is not a valid URL` };
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  const shown = `${url.protocol}//${url.host}${url.pathname}${schema === undefined ? '' : ` (schema ${schema})`}`;
  try {
    const store = await PostgresReportStore.open(url.toString(), {
      ...(schema === undefined ? {} : { schema }),
      readonly: options.readonly === true,
    });
    return { ok: true, store, description: `PostgreSQL ${shown}` };
  } catch (error) {
    return {
      ok: false,
      usage: false,
      reason: `cannot open the PostgreSQL store ${shown}: ${(error as Error).message}`,
    };
  }
}
