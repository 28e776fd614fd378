/**
 * Opens the report store named by `--store`: `sqlite:PATH` or a plain path (the embedded
 * default), or a PostgreSQL URL `postgres://user@host:port/db[?schema=name]`.
 */
import type { ReportStore } from '@mailward/reports';
import { PostgresReportStore, SqliteReportStore } from '@mailward/adapters';

export const DEFAULT_STORE = 'sqlite:mailward.db';

export type StoreSetup =
  | { readonly ok: true; readonly store: ReportStore; readonly description: string }
  | { readonly ok: false; readonly usage: boolean; readonly reason: string };

export async function openStore(spec: string): Promise<StoreSetup> {
  if (/^postgres(ql)?:\/\//i.test(spec)) return openPostgres(spec);
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  if (path === '') return { ok: false, usage: true, reason: `--store ${JSON.stringify(spec)}: give sqlite:PATH` };
  try {
    return { ok: true, store: new SqliteReportStore(path), description: `SQLite ${path}` };
  } catch (error) {
    return { ok: false, usage: false, reason: `cannot open the SQLite store ${path}: ${(error as Error).message}` };
  }
}

async function openPostgres(spec: string): Promise<StoreSetup> {
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
    const store = await PostgresReportStore.open(url.toString(), schema === undefined ? {} : { schema });
    return { ok: true, store, description: `PostgreSQL ${shown}` };
  } catch (error) {
    return {
      ok: false,
      usage: false,
      reason: `cannot open the PostgreSQL store ${shown}: ${(error as Error).message}`,
    };
  }
}
