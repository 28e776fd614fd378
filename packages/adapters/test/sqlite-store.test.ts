/** The ReportStore contract on SQLite, plus what is SQLite's own: the file, WAL and migrations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteReportStore } from '../src/index.js';
import { aggregate, storeContract } from './support/store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'mailward-sqlite-'));
let counter = 0;
const fresh = () => join(dir, `store-${(counter += 1)}.db`);

storeContract('SQLite', () => Promise.resolve(new SqliteReportStore(fresh())));

test('SQLite: one file in WAL mode; migrations run once and reopening keeps the data', async () => {
  const path = fresh();
  const store = new SqliteReportStore(path);
  assert.equal(store.schemaVersion(), 2);
  await store.save([{ kind: 'aggregate', report: aggregate({}) }], 'a.xml');
  await store.close();
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.deepEqual(raw.prepare('SELECT version FROM schema_migrations').all(), [{ version: 1 }, { version: 2 }]);
  raw.close();
  const again = new SqliteReportStore(path);
  assert.equal((await again.totals({})).reports, 1);
  assert.deepEqual(await again.save([{ kind: 'aggregate', report: aggregate({}) }], 'a.xml'), ['duplicate']);
  await again.close();
});

test('SQLite: a path that cannot be opened is an error, not a crash later', () => {
  assert.throws(
    () => new SqliteReportStore(join(dir, 'missing-dir', 'x.db')),
    /directory does not exist|unable to open/i,
  );
});
