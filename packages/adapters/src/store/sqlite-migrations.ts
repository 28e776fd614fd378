/**
 * SQLite schema, as numbered migrations applied in order inside one transaction each; the applied
 * version is kept in `schema_migrations`. Indexes serve the queries a dashboard needs: by policy
 * domain and day, by source address, by reporter.
 */
export const SQLITE_MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE aggregate_reports (
  id INTEGER PRIMARY KEY,
  reporter TEXT NOT NULL,
  reporter_key TEXT NOT NULL,
  reporter_email TEXT NOT NULL,
  report_id TEXT NOT NULL,
  policy_domain TEXT NOT NULL,
  begin_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  long_range INTEGER NOT NULL,
  schema TEXT NOT NULL,
  policy_json TEXT NOT NULL,
  generator TEXT,
  errors_json TEXT NOT NULL,
  warnings_json TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (reporter_key, report_id, policy_domain, begin_time, end_time)
);
CREATE INDEX aggregate_reports_domain_time ON aggregate_reports (policy_domain, end_time);
CREATE INDEX aggregate_reports_reporter ON aggregate_reports (reporter_key);

CREATE TABLE aggregate_records (
  id INTEGER PRIMARY KEY,
  report INTEGER NOT NULL REFERENCES aggregate_reports (id) ON DELETE CASCADE,
  source_ip TEXT NOT NULL,
  count INTEGER NOT NULL,
  disposition TEXT NOT NULL,
  reporter_dkim TEXT NOT NULL,
  reporter_spf TEXT NOT NULL,
  header_from TEXT NOT NULL,
  envelope_from TEXT,
  envelope_to TEXT,
  dkim_aligned INTEGER NOT NULL,
  spf_aligned INTEGER NOT NULL,
  dmarc_pass INTEGER NOT NULL,
  dkim_domain TEXT,
  reasons_json TEXT NOT NULL,
  dkim_json TEXT NOT NULL,
  spf_json TEXT NOT NULL
);
CREATE INDEX aggregate_records_report ON aggregate_records (report);
CREATE INDEX aggregate_records_source_ip ON aggregate_records (source_ip);

CREATE TABLE aggregate_days (
  report INTEGER NOT NULL REFERENCES aggregate_reports (id) ON DELETE CASCADE,
  policy_domain TEXT NOT NULL,
  day INTEGER NOT NULL,
  messages REAL NOT NULL,
  dmarc_pass REAL NOT NULL
);
CREATE INDEX aggregate_days_domain_day ON aggregate_days (policy_domain, day);

CREATE TABLE failure_reports (
  id INTEGER PRIMARY KEY,
  reporter TEXT NOT NULL,
  report_key TEXT NOT NULL UNIQUE,
  format TEXT NOT NULL,
  arrival_date INTEGER,
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
  received_at INTEGER NOT NULL
);
CREATE INDEX failure_reports_domain ON failure_reports (reported_domain, arrival_date);

CREATE TABLE tls_reports (
  id INTEGER PRIMARY KEY,
  organization_name TEXT NOT NULL,
  report_id TEXT NOT NULL,
  begin_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  policy_domains TEXT NOT NULL,
  successful_sessions INTEGER NOT NULL,
  failed_sessions INTEGER NOT NULL,
  report_json TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (organization_name, report_id)
);

CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  bytes BLOB NOT NULL,
  received_at INTEGER NOT NULL
);
`,
  },
  {
    version: 2,
    sql: `
CREATE TABLE ip_info (
  ip TEXT PRIMARY KEY,
  ptr TEXT,
  ptr_confirmed INTEGER NOT NULL,
  ptr_domain TEXT,
  asn INTEGER,
  as_name TEXT,
  country TEXT,
  service TEXT,
  note TEXT,
  looked_up_at INTEGER NOT NULL
);
`,
  },
  {
    // Day rows in whole messages with the reporters' and the recomputed verdict (rebuilt from the
    // records by sqlite-store's upgrade step), and the domain of quarantined items.
    version: 3,
    sql: `
ALTER TABLE aggregate_days ADD COLUMN recomputed_pass REAL NOT NULL DEFAULT 0;
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
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
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
