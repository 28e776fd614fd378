/**
 * ReportStore on SQLite (better-sqlite3 12.x): one file, WAL journal, synchronous=FULL so that a
 * committed item survives a crash or power loss before its source is acknowledged. All entries of
 * one item are written in one transaction; reports already stored are recognised by their natural
 * key (reporter, report id, policy domain, date range) and skipped, so ingest is idempotent.
 */
import Database from 'better-sqlite3';
import type {
  AggregateRecord,
  AggregateReport,
  AggregateWriter,
  DayRow,
  IpEnrichment,
  ReportStore,
  SaveOutcome,
  SourceRow,
  StoreEntry,
  StoredAggregateRow,
  SummaryFilter,
  Totals,
} from '@mailward/reports';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import {
  AGGREGATE_RECORD_COLUMNS,
  AGGREGATE_REPORT_COLUMNS,
  EXPORT_SELECT,
  FAILURE_COLUMNS,
  QUARANTINE_COLUMNS,
  TLS_COLUMNS,
  aggregateDayRows,
  aggregateRecordRows,
  aggregateReportRow,
  failureRow,
  recordCounts,
  filterParams,
  IP_INFO_COLUMNS,
  ipInfoRow,
  SOURCES_SELECT,
  sourceRow,
  quarantineRow,
  storedAggregateRow,
  tlsRow,
} from './rows.js';

export interface SqliteStoreOptions {
  /** Milliseconds since the epoch, for received_at (default Date.now). */
  readonly now?: () => number;
}

export class SqliteReportStore implements ReportStore {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.db = new Database(path);
    this.now = options.now ?? Date.now;
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  /** Applies the migrations not yet applied; returns the schema version. */
  private migrate(): number {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    const current =
      (this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    for (const migration of SQLITE_MIGRATIONS) {
      if (migration.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
          .run(migration.version, this.now());
      })();
    }
    return SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
  }

  schemaVersion(): number {
    return (this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  // async, so that a failed transaction (already rolled back) surfaces as a rejection.
  async save(entries: readonly StoreEntry[], source: string): Promise<SaveOutcome[]> {
    const [outcomes] = await this.saveBatch([{ entries, source }]);
    return outcomes ?? [];
  }

  // async, so that a failed transaction (already rolled back) surfaces as a rejection.
  async saveBatch(
    items: readonly { readonly entries: readonly StoreEntry[]; readonly source: string }[],
  ): Promise<SaveOutcome[][]> {
    const receivedAt = Math.floor(this.now() / 1000);
    const run = this.db.transaction((): SaveOutcome[][] =>
      items.map(({ entries, source }) => entries.map((entry) => this.saveEntry(entry, source, receivedAt))),
    );
    return run();
  }

  private saveEntry(entry: StoreEntry, source: string, receivedAt: number): SaveOutcome {
    switch (entry.kind) {
      case 'aggregate':
        return this.saveAggregate(entry.report, source, receivedAt);
      case 'failure':
        return this.saveOne('failure_reports', FAILURE_COLUMNS, failureRow(entry.report, source, receivedAt));
      case 'tls':
        return this.saveOne('tls_reports', TLS_COLUMNS, tlsRow(entry.report, source, receivedAt));
      case 'quarantine':
        return this.saveOne(
          'quarantine',
          QUARANTINE_COLUMNS,
          quarantineRow(entry.reason, entry.bytes, source, receivedAt),
        );
    }
  }

  /** A cached INSERT ... ON CONFLICT DO NOTHING statement. */
  private insert(table: string, columns: readonly string[], returning = ''): Database.Statement {
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING ${returning}`;
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private saveAggregate(report: AggregateReport, source: string, receivedAt: number): SaveOutcome {
    const reportRow = sqliteValues(aggregateReportRow(report, source, receivedAt));
    const inserted = this.insert('aggregate_reports', AGGREGATE_REPORT_COLUMNS, 'RETURNING id').get(reportRow) as
      { id: number } | undefined;
    if (inserted === undefined) return 'duplicate';
    this.insertRecords(inserted.id, report.records);
    this.insertDays(inserted.id, report, recordCounts(report.records));
    return 'stored';
  }

  private insertRecords(reportId: number, records: readonly AggregateRecord[]): void {
    const statement = this.insert('aggregate_records', ['report', ...AGGREGATE_RECORD_COLUMNS]);
    for (const row of aggregateRecordRows(records)) {
      // In place: booleans to 1/0, the report id in front (this loop runs once per record).
      for (let i = 0; i < row.length; i += 1) if (typeof row[i] === 'boolean') row[i] = row[i] ? 1 : 0;
      row.unshift(reportId);
      statement.run(row);
    }
  }

  private insertDays(
    reportId: number,
    report: Pick<AggregateReport, 'metadata' | 'policy'>,
    counts: { messages: number; passing: number },
  ): void {
    const statement = this.insert('aggregate_days', ['report', 'policy_domain', 'day', 'messages', 'dmarc_pass']);
    for (const row of aggregateDayRows(report, counts)) statement.run([reportId, ...row]);
  }

  /**
   * Streams one large report in: a write transaction stays open from here to commit or abort
   * (ingest is sequential, so nothing else writes meanwhile).
   */
  async beginAggregate(
    header: Omit<AggregateReport, 'records'>,
    source: string,
  ): Promise<AggregateWriter | 'duplicate'> {
    const receivedAt = Math.floor(this.now() / 1000);
    this.db.exec('BEGIN IMMEDIATE');
    let id: number;
    try {
      const row = sqliteValues(aggregateReportRow(header, source, receivedAt));
      const inserted = this.insert('aggregate_reports', AGGREGATE_REPORT_COLUMNS, 'RETURNING id').get(row) as
        { id: number } | undefined;
      if (inserted === undefined) {
        this.db.exec('ROLLBACK');
        return 'duplicate';
      }
      id = inserted.id;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    const counts = { messages: 0, passing: 0 };
    const finish = (sql: string) => {
      if (this.db.inTransaction) this.db.exec(sql);
    };
    return {
      add: async (records) => {
        this.insertRecords(id, records);
        const more = recordCounts(records);
        counts.messages += more.messages;
        counts.passing += more.passing;
        return Promise.resolve();
      },
      commit: async (report) => {
        this.db
          .prepare('UPDATE aggregate_reports SET warnings_json = ?, schema = ? WHERE id = ?')
          .run(JSON.stringify(report.warnings), report.schema, id);
        this.insertDays(id, report, counts);
        finish('COMMIT');
        return Promise.resolve();
      },
      abort: async () => {
        finish('ROLLBACK');
        return Promise.resolve();
      },
    };
  }

  private saveOne(table: string, columns: readonly string[], row: unknown[]): SaveOutcome {
    const values = sqliteValues(row);
    return this.insert(table, columns).run(values).changes === 1 ? 'stored' : 'duplicate';
  }

  totals(filter: SummaryFilter): Promise<Totals> {
    const where = reportFilter(filter);
    const reports = this.db
      .prepare(`SELECT COUNT(*) AS n FROM aggregate_reports r WHERE ${where.sql}`)
      .get(where.params) as {
      n: number;
    };
    const sums = this.db
      .prepare(
        `SELECT COALESCE(SUM(x.count), 0) AS messages,
                COALESCE(SUM(CASE WHEN x.dmarc_pass = 1 THEN x.count ELSE 0 END), 0) AS pass,
                COALESCE(SUM(CASE WHEN x.dkim_aligned = 1 THEN x.count ELSE 0 END), 0) AS dkim,
                COALESCE(SUM(CASE WHEN x.spf_aligned = 1 THEN x.count ELSE 0 END), 0) AS spf
         FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report WHERE ${where.sql}`,
      )
      .get(where.params) as { messages: number; pass: number; dkim: number; spf: number };
    const failures = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM failure_reports
         WHERE (@domain IS NULL OR reported_domain = @domain) AND (@since IS NULL OR arrival_date >= @since)`,
      )
      .get(where.params) as { n: number };
    const tls = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM tls_reports
         WHERE (@domain IS NULL OR instr(policy_domains, ' ' || @domain || ' ') > 0) AND (@since IS NULL OR end_time >= @since)`,
      )
      .get(where.params) as { n: number };
    const quarantined = this.db.prepare('SELECT COUNT(*) AS n FROM quarantine').get() as { n: number };
    return Promise.resolve({
      reports: reports.n,
      messages: sums.messages,
      dmarcPass: sums.pass,
      dmarcFail: sums.messages - sums.pass,
      dkimAligned: sums.dkim,
      spfAligned: sums.spf,
      failureReports: failures.n,
      tlsReports: tls.n,
      quarantined: quarantined.n,
    });
  }

  sources(filter: SummaryFilter, limit: number): Promise<SourceRow[]> {
    const sql = SOURCES_SELECT.replaceAll('$DOMAIN', '@domain')
      .replaceAll('$SINCE', '@since')
      .replace('$LIMIT', '@limit');
    const rows = this.db.prepare(sql).all({ ...filterParams(filter), limit }) as Record<string, unknown>[];
    return Promise.resolve(rows.map(sourceRow));
  }

  unenrichedSourceIps(limit: number): Promise<string[]> {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT x.source_ip AS ip FROM aggregate_records x
         WHERE NOT EXISTS (SELECT 1 FROM ip_info i WHERE i.ip = x.source_ip) LIMIT ?`,
      )
      .all(limit) as { ip: string }[];
    return Promise.resolve(rows.map((r) => r.ip));
  }

  async saveIpInfo(rows: readonly IpEnrichment[], lookedUpAt: number): Promise<void> {
    const columns = IP_INFO_COLUMNS.join(', ');
    const statement = this.db.prepare(
      `INSERT OR REPLACE INTO ip_info (${columns}) VALUES (${IP_INFO_COLUMNS.map(() => '?').join(', ')})`,
    );
    this.db.transaction(() => {
      for (const row of rows) statement.run(sqliteValues(ipInfoRow(row, lookedUpAt)));
    })();
    return Promise.resolve();
  }

  days(filter: SummaryFilter): Promise<DayRow[]> {
    const rows = this.db
      .prepare(
        `SELECT d.day AS day, SUM(d.messages) AS messages, SUM(d.dmarc_pass) AS dmarcPass
         FROM aggregate_days d JOIN aggregate_reports r ON r.id = d.report
         WHERE ${reportFilter(filter).sql}
         GROUP BY d.day ORDER BY d.day`,
      )
      .all(reportFilter(filter).params) as DayRow[];
    return Promise.resolve(rows);
  }

  async *aggregateRows(filter: SummaryFilter): AsyncIterable<StoredAggregateRow> {
    const where = reportFilter(filter);
    const statement = this.db.prepare(`${EXPORT_SELECT} WHERE ${where.sql} ORDER BY r.begin_time, r.id, x.id`);
    for (const row of statement.iterate(where.params) as Iterable<Record<string, unknown>>) {
      yield storedAggregateRow(row);
    }
  }

  /** Quarantined inputs, newest first (reason and size; the bytes stay in the store). */
  quarantined(limit: number): { source: string; reason: string; size: number; receivedAt: number }[] {
    return this.db
      .prepare(
        `SELECT source, reason, length(bytes) AS size, received_at AS receivedAt FROM quarantine ORDER BY id DESC LIMIT ?`,
      )
      .all(limit) as { source: string; reason: string; size: number; receivedAt: number }[];
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

function reportFilter(filter: SummaryFilter): { sql: string; params: { domain: string | null; since: number | null } } {
  return {
    sql: '(@domain IS NULL OR r.policy_domain = @domain) AND (@since IS NULL OR r.end_time >= @since)',
    params: filterParams(filter),
  };
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null: booleans become 1 and 0. */
function sqliteValues(row: readonly unknown[]): unknown[] {
  return row.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value));
}
