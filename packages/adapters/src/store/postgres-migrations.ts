/**
 * PostgreSQL schema: the same tables and indexes as SQLite (sqlite-migrations.ts), with native
 * types (BIGINT times, BOOLEAN flags, BYTEA bytes, DOUBLE PRECISION day shares).
 */
import type pg from 'pg';
import { aggregateDayRows, REPORT_VERDICT_COUNTS_SELECT, reportVerdictCounts } from './rows.js';
import { MULTI_FROM_RECORDS_SELECT, quarantineDomain, realignedRecord } from './upgrade-rows.js';

export const POSTGRES_MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE aggregate_reports (
  id BIGSERIAL PRIMARY KEY,
  reporter TEXT NOT NULL,
  reporter_key TEXT NOT NULL,
  reporter_email TEXT NOT NULL,
  report_id TEXT NOT NULL,
  policy_domain TEXT NOT NULL,
  begin_time BIGINT NOT NULL,
  end_time BIGINT NOT NULL,
  long_range BOOLEAN NOT NULL,
  schema TEXT NOT NULL,
  policy_json TEXT NOT NULL,
  generator TEXT,
  errors_json TEXT NOT NULL,
  warnings_json TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  UNIQUE (reporter_key, report_id, policy_domain, begin_time, end_time)
);
CREATE INDEX aggregate_reports_domain_time ON aggregate_reports (policy_domain, end_time);
CREATE INDEX aggregate_reports_reporter ON aggregate_reports (reporter_key);

CREATE TABLE aggregate_records (
  id BIGSERIAL PRIMARY KEY,
  report BIGINT NOT NULL REFERENCES aggregate_reports (id) ON DELETE CASCADE,
  source_ip TEXT NOT NULL,
  count BIGINT NOT NULL,
  disposition TEXT NOT NULL,
  reporter_dkim TEXT NOT NULL,
  reporter_spf TEXT NOT NULL,
  header_from TEXT NOT NULL,
  envelope_from TEXT,
  envelope_to TEXT,
  dkim_aligned BOOLEAN NOT NULL,
  spf_aligned BOOLEAN NOT NULL,
  dmarc_pass BOOLEAN NOT NULL,
  dkim_domain TEXT,
  reasons_json TEXT NOT NULL,
  dkim_json TEXT NOT NULL,
  spf_json TEXT NOT NULL
);
CREATE INDEX aggregate_records_report ON aggregate_records (report);
CREATE INDEX aggregate_records_source_ip ON aggregate_records (source_ip);

CREATE TABLE aggregate_days (
  report BIGINT NOT NULL REFERENCES aggregate_reports (id) ON DELETE CASCADE,
  policy_domain TEXT NOT NULL,
  day INTEGER NOT NULL,
  messages DOUBLE PRECISION NOT NULL,
  dmarc_pass DOUBLE PRECISION NOT NULL
);
CREATE INDEX aggregate_days_domain_day ON aggregate_days (policy_domain, day);

CREATE TABLE failure_reports (
  id BIGSERIAL PRIMARY KEY,
  reporter TEXT NOT NULL,
  report_key TEXT NOT NULL UNIQUE,
  format TEXT NOT NULL,
  arrival_date BIGINT,
  source_ip TEXT,
  auth_failure TEXT,
  identity_alignment TEXT,
  delivery_result TEXT,
  original_mail_from TEXT,
  original_rcpt_to TEXT,
  reported_domain TEXT,
  header_from TEXT,
  subject TEXT,
  report_json TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX failure_reports_domain ON failure_reports (reported_domain, arrival_date);

CREATE TABLE tls_reports (
  id BIGSERIAL PRIMARY KEY,
  organization_name TEXT NOT NULL,
  report_id TEXT NOT NULL,
  begin_time BIGINT NOT NULL,
  end_time BIGINT NOT NULL,
  policy_domains TEXT NOT NULL,
  successful_sessions BIGINT NOT NULL,
  failed_sessions BIGINT NOT NULL,
  report_json TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  UNIQUE (organization_name, report_id)
);

CREATE TABLE quarantine (
  id BIGSERIAL PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  bytes BYTEA NOT NULL,
  received_at BIGINT NOT NULL
);
`,
  },
  {
    version: 2,
    sql: `
CREATE TABLE ip_info (
  ip TEXT PRIMARY KEY,
  ptr TEXT,
  ptr_confirmed BOOLEAN NOT NULL,
  ptr_domain TEXT,
  asn BIGINT,
  as_name TEXT,
  country TEXT,
  service TEXT,
  note TEXT,
  looked_up_at BIGINT NOT NULL
);
`,
  },
  {
    version: 3,
    sql: `
ALTER TABLE aggregate_days ADD COLUMN recomputed_pass DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE quarantine ADD COLUMN domain TEXT;
CREATE INDEX quarantine_domain ON quarantine (domain, received_at);
CREATE INDEX failure_reports_received ON failure_reports (received_at);
CREATE INDEX tls_reports_time ON tls_reports (end_time);
`,
  },
  {
    // The verdict journal (verdict-rows.ts): one row per message the milter or Exim check evaluated.
    version: 4,
    sql: `
CREATE TABLE verdicts (
  id BIGSERIAL PRIMARY KEY,
  time BIGINT NOT NULL,
  receiver TEXT NOT NULL,
  queue_id TEXT,
  source_ip TEXT NOT NULL,
  envelope_from TEXT NOT NULL,
  header_from TEXT NOT NULL,
  policy_domain TEXT NOT NULL,
  dmarc TEXT NOT NULL,
  disposition TEXT NOT NULL,
  action TEXT NOT NULL,
  record_json TEXT NOT NULL
);
CREATE INDEX verdicts_domain_time ON verdicts (policy_domain, time);
CREATE INDEX verdicts_time ON verdicts (time);
`,
  },
];

export function latestPostgresVersion(): number {
  return POSTGRES_MIGRATIONS.at(-1)?.version ?? 0;
}

/** The applied schema version, or undefined when the schema holds no store. */
export async function postgresSchemaVersion(client: pg.PoolClient): Promise<number | undefined> {
  const exists = await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (exists.rows[0]?.present !== true) return undefined;
  return Number((await client.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0].v);
}

/** Applies the migrations not yet applied, each in its own transaction (the caller holds the lock). */
export async function migrate(client: pg.PoolClient, now: () => number): Promise<void> {
  await client.query(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
  );
  const current = Number(
    (await client.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0].v,
  );
  for (const migration of POSTGRES_MIGRATIONS) {
    if (migration.version <= current) continue;
    await client.query('BEGIN');
    try {
      await client.query(migration.sql);
      if (migration.version === 3) await upgradeToVersion3(client);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
        migration.version,
        now(),
      ]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  }
}

/** Version 3's recomputations (upgrade-rows.ts), inside the migration's transaction. */
async function upgradeToVersion3(client: pg.PoolClient): Promise<void> {
  for (const row of (await client.query(MULTI_FROM_RECORDS_SELECT)).rows as Record<string, unknown>[]) {
    await client.query(
      'UPDATE aggregate_records SET dkim_aligned = $1, spf_aligned = $2, dmarc_pass = $3 WHERE id = $4',
      realignedRecord(row),
    );
  }
  await client.query('DELETE FROM aggregate_days');
  for (const row of (await client.query(REPORT_VERDICT_COUNTS_SELECT)).rows as Record<string, unknown>[]) {
    const { id, report, counts } = reportVerdictCounts(row);
    for (const day of aggregateDayRows(report, counts)) {
      await client.query(
        'INSERT INTO aggregate_days (report, policy_domain, day, messages, dmarc_pass, recomputed_pass) VALUES ($1, $2, $3, $4, $5, $6)',
        [id, ...day],
      );
    }
  }
  const ids = (await client.query('SELECT id FROM quarantine ORDER BY id')).rows as { id: string }[];
  for (const { id } of ids) {
    const row = (await client.query('SELECT source, bytes FROM quarantine WHERE id = $1', [id])).rows[0] as Record<
      string,
      unknown
    >;
    await client.query('UPDATE quarantine SET domain = $1 WHERE id = $2', [quarantineDomain(row), id]);
  }
}
