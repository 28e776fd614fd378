/** The ReportStore contract on SQLite, plus what is SQLite's own: the file, WAL and migrations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import Database from 'better-sqlite3';
import { SqliteReportStore } from '../src/index.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite-migrations.js';
import { aggregate, storeContract } from './support/store-contract.js';
import { verdict } from './support/verdict-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'mailward-sqlite-'));
let counter = 0;
const fresh = () => join(dir, `store-${(counter += 1)}.db`);

storeContract('SQLite', () => Promise.resolve(new SqliteReportStore(fresh())));

test('SQLite: one file in WAL mode; migrations run once and reopening keeps the data', async () => {
  const path = fresh();
  const store = new SqliteReportStore(path);
  assert.equal(store.schemaVersion(), 4);
  await store.save([{ kind: 'aggregate', report: aggregate({}) }], 'a.xml');
  await store.close();
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.deepEqual(raw.prepare('SELECT version FROM schema_migrations').all(), [
    { version: 1 },
    { version: 2 },
    { version: 3 },
    { version: 4 },
  ]);
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

test('SQLite: a version-2 database is upgraded in place: whole-message days with both verdicts, multi-valued From realigned, quarantine domains', async () => {
  const path = fresh();
  // A database as version 2 left it: fractional day shares of the recomputed verdict only, and a
  // record whose "a, b" header_from was compared as one name (so it failed).
  const old = new Database(path);
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= 2)) {
    old.exec(migration.sql);
    old.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(migration.version);
  }
  old
    .prepare(
      `INSERT INTO aggregate_reports (id, reporter, reporter_key, reporter_email, report_id, policy_domain, begin_time, end_time,
        long_range, schema, policy_json, errors_json, warnings_json, source, received_at)
       VALUES (1, 'google.com', 'google.com', 'r@x', 'r1', 'example.com', 1800000000, 1800086399, 0, 'rfc7489', '{"domain":"example.com"}', '[]', '[]', 'a.xml', 0)`,
    )
    .run();
  const record = old.prepare(
    `INSERT INTO aggregate_records (report, source_ip, count, disposition, reporter_dkim, reporter_spf, header_from,
      dkim_aligned, spf_aligned, dmarc_pass, dkim_domain, reasons_json, dkim_json, spf_json)
     VALUES (1, ?, ?, 'none', ?, 'fail', ?, ?, 0, ?, 'example.com', '[]', '[{"domain":"example.com","result":"pass"}]', '[]')`,
  );
  record.run('192.0.2.1', 20, 'pass', 'example.com', 1, 1);
  record.run('192.0.2.2', 10, 'pass', 'pages.example.com, example.com', 0, 0);
  old.prepare('INSERT INTO aggregate_days VALUES (1, ?, ?, ?, ?)').run('example.com', 20833, 20.0004, 13.3336);
  old.prepare('INSERT INTO aggregate_days VALUES (1, ?, ?, ?, ?)').run('example.com', 20834, 9.9996, 6.6664);
  old
    .prepare('INSERT INTO quarantine (sha256, source, reason, bytes, received_at) VALUES (?, ?, ?, ?, 0)')
    .run('x', 'in/broken.xml', 'XML: bad', Buffer.from('<feedback><policy_published><domain>example.org</domain>'));
  old.close();

  const store = new SqliteReportStore(path);
  assert.equal(store.schemaVersion(), 4);
  const totals = await store.totals({});
  assert.deepEqual([totals.messages, totals.dmarcPass, totals.recomputed.dmarcPass], [30, 30, 30]);
  const days = await store.days({});
  assert.deepEqual(
    days.map((d) => [d.messages, d.dmarcPass, d.recomputedPass]),
    [
      [20, 20, 20],
      [10, 10, 10],
    ],
  );
  assert.equal((await store.totals({ domain: 'example.org' })).quarantined, 1);
  await store.close();
});

test('SQLite: read-only opening reads a store it may not write, and refuses what is not a current store', async () => {
  const path = fresh();
  const writer = new SqliteReportStore(path);
  await writer.save([{ kind: 'aggregate', report: aggregate({}) }], 'a.xml');
  await writer.close();
  const reader = new SqliteReportStore(path, { readonly: true });
  assert.equal((await reader.totals({})).reports, 1);
  await assert.rejects(reader.save([{ kind: 'aggregate', report: aggregate({ id: 'new' }) }], 'b.xml'), /readonly/);
  await reader.close();
  assert.throws(() => new SqliteReportStore(join(dir, 'does-not-exist.db'), { readonly: true }), /does not exist/);
  const other = join(dir, 'other.db');
  new Database(other).exec('CREATE TABLE t (x)');
  assert.throws(() => new SqliteReportStore(other, { readonly: true }), /not a mailward report store/);
});

test('SQLite: a version-3 database is upgraded to version 4: its reports kept, the verdict journal added', async () => {
  const path = fresh();
  const old = new Database(path);
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= 3)) {
    old.exec(migration.sql);
    old.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(migration.version);
  }
  old.close();
  // A version-3 store is refused read-only (the reading commands say to upgrade) ...
  assert.throws(() => new SqliteReportStore(path, { readonly: true }), /schema version 3, older than 4/);
  // ... and upgraded by a writing open, as "mailward reports upgrade" does.
  const writer = new SqliteReportStore(path);
  await writer.save([{ kind: 'aggregate', report: aggregate({}) }], 'a.xml');
  await writer.close();
  const store = new SqliteReportStore(path);
  try {
    assert.equal(store.schemaVersion(), 4);
    assert.equal((await store.totals({})).reports, 1);
    await store.appendVerdicts([verdict()]);
    assert.equal(await store.countVerdicts({ policyDomain: 'example.org' }), 1);
  } finally {
    await store.close();
  }
  const raw = new Database(path, { readonly: true });
  const plan = raw
    .prepare(
      "EXPLAIN QUERY PLAN SELECT id FROM verdicts WHERE policy_domain = 'example.org' AND time >= 0 AND time < 1",
    )
    .all() as { detail: string }[];
  raw.close();
  assert.match(plan.map((p) => p.detail).join(' '), /verdicts_domain_time/);
});

test('SQLite: synchronous=NORMAL on request (the milter journal), FULL by default', async () => {
  const full = new SqliteReportStore(fresh());
  const normalPath = fresh();
  const normal = new SqliteReportStore(normalPath, { synchronous: 'normal' });
  // Read through the stores' own connections: synchronous is per connection.
  const level = (store: SqliteReportStore) =>
    (store as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
  assert.equal(level(full), 2);
  assert.equal(level(normal), 1);
  await full.close();
  await normal.close();
});
