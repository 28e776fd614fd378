/**
 * Opens the report store named by `--store`: `sqlite:PATH` or a path (the embedded default), or a
 * postgres:// URL.
 */
import type { ReportStore } from '@mailward/reports';
import { SqliteReportStore } from '@mailward/adapters';

export const DEFAULT_STORE = 'sqlite:mailward.db';

export type StoreSetup =
  | { readonly ok: true; readonly store: ReportStore; readonly description: string }
  | { readonly ok: false; readonly usage: boolean; readonly reason: string };

export function openStore(spec: string): StoreSetup {
  if (/^postgres(ql)?:\/\//i.test(spec)) {
    return { ok: false, usage: true, reason: 'the PostgreSQL store is not part of this version yet; use sqlite:PATH' };
  }
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  if (path === '') return { ok: false, usage: true, reason: `--store ${JSON.stringify(spec)}: give sqlite:PATH` };
  try {
    return { ok: true, store: new SqliteReportStore(path), description: `SQLite ${path}` };
  } catch (error) {
    return { ok: false, usage: false, reason: `cannot open the SQLite store ${path}: ${(error as Error).message}` };
  }
}
