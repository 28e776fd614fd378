/**
 * ReportStore on SQLite (better-sqlite3 12.x): one file, WAL journal, synchronous=FULL so that a
 * committed item survives a crash or power loss before its source is acknowledged. All entries of
 * one item are written in one transaction; reports already stored are recognised by their natural
 * key (reporter, report id, policy domain, date range) and skipped, so ingest is idempotent.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type {
  AggregateReport,
  DayRow,
  FailureReport,
  ReportStore,
  SaveOutcome,
  SourceRow,
  StoreEntry,
  StoredAggregateRow,
  SummaryFilter,
  TlsReport,
  Totals,
} from '@mailward/reports';
import { dayShares, isLongRange } from '@mailward/reports';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';

export interface SqliteStoreOptions {
  /** Milliseconds since the epoch, for received_at (default Date.now). */
  readonly now?: () => number;
}

type Row = Record<string, unknown>;

export class SqliteReportStore implements ReportStore {
  private readonly db: Database.Database;
  private readonly now: () => number;

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
    const receivedAt = Math.floor(this.now() / 1000);
    const run = this.db.transaction((): SaveOutcome[] =>
      entries.map((entry) => {
        switch (entry.kind) {
          case 'aggregate':
            return this.saveAggregate(entry.report, source, receivedAt);
          case 'failure':
            return this.saveFailure(entry.report, source, receivedAt);
          case 'tls':
            return this.saveTls(entry.report, source, receivedAt);
          case 'quarantine':
            return this.saveQuarantine(entry.reason, entry.bytes, source, receivedAt);
        }
      }),
    );
    return run();
  }

  private saveAggregate(report: AggregateReport, source: string, receivedAt: number): SaveOutcome {
    const { metadata: m, policy } = report;
    const inserted = this.db
      .prepare(
        `INSERT INTO aggregate_reports (reporter, reporter_key, reporter_email, report_id, policy_domain, begin_time,
           end_time, long_range, schema, policy_json, generator, errors_json, warnings_json, source, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING RETURNING id`,
      )
      .get(
        m.orgName,
        m.orgName.toLowerCase(),
        m.email,
        m.reportId,
        policy.domain,
        m.begin,
        m.end,
        isLongRange(m.begin, m.end) ? 1 : 0,
        report.schema,
        JSON.stringify(policy),
        m.generator ?? null,
        JSON.stringify(m.errors),
        JSON.stringify(report.warnings),
        source,
        receivedAt,
      ) as { id: number } | undefined;
    if (inserted === undefined) return 'duplicate';
    const insertRecord = this.db.prepare(
      `INSERT INTO aggregate_records (report, source_ip, count, disposition, reporter_dkim, reporter_spf, header_from,
         envelope_from, envelope_to, dkim_aligned, spf_aligned, dmarc_pass, dkim_domain, reasons_json, dkim_json, spf_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    let messages = 0;
    let passing = 0;
    for (const r of report.records) {
      messages += r.count;
      if (r.alignment.dmarc) passing += r.count;
      insertRecord.run(
        inserted.id,
        r.sourceIp,
        r.count,
        r.disposition,
        r.policyDkim,
        r.policySpf,
        r.headerFrom,
        r.envelopeFrom ?? null,
        r.envelopeTo ?? null,
        r.alignment.dkim ? 1 : 0,
        r.alignment.spf ? 1 : 0,
        r.alignment.dmarc ? 1 : 0,
        r.dkim.find((d) => d.result === 'pass')?.domain ?? null,
        JSON.stringify(r.reasons),
        JSON.stringify(r.dkim),
        JSON.stringify(r.spf),
      );
    }
    const insertDay = this.db.prepare(
      'INSERT INTO aggregate_days (report, policy_domain, day, messages, dmarc_pass) VALUES (?, ?, ?, ?, ?)',
    );
    for (const { day, share } of dayShares(m.begin, m.end)) {
      insertDay.run(inserted.id, policy.domain, day, messages * share, passing * share);
    }
    return 'stored';
  }

  private saveFailure(report: FailureReport, source: string, receivedAt: number): SaveOutcome {
    const key = `${report.reporter.toLowerCase()} ${report.reportId}`;
    const result = this.db
      .prepare(
        `INSERT INTO failure_reports (reporter, report_key, format, arrival_date, source_ip, auth_failure, identity_alignment,
           delivery_result, original_mail_from, original_rcpt_to, reported_domain, header_from, subject, report_json,
           source, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(
        report.reporter,
        key,
        report.format,
        report.arrivalDate ?? null,
        report.sourceIp ?? null,
        report.authFailure ?? null,
        report.identityAlignment ?? null,
        report.deliveryResult ?? null,
        report.originalMailFrom ?? null,
        report.originalRcptTo ?? null,
        report.reportedDomain?.toLowerCase() ?? null,
        report.headerFrom ?? null,
        report.subject ?? null,
        JSON.stringify(report),
        source,
        receivedAt,
      );
    return result.changes === 1 ? 'stored' : 'duplicate';
  }

  private saveTls(report: TlsReport, source: string, receivedAt: number): SaveOutcome {
    const domains = ` ${[...new Set(report.policies.map((p) => p.policyDomain.toLowerCase()))].join(' ')} `;
    const result = this.db
      .prepare(
        `INSERT INTO tls_reports (organization_name, report_id, begin_time, end_time, policy_domains, successful_sessions,
           failed_sessions, report_json, source, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(
        report.organizationName,
        report.reportId,
        report.begin,
        report.end,
        domains,
        report.policies.reduce((sum, p) => sum + p.totalSuccessfulSessionCount, 0),
        report.policies.reduce((sum, p) => sum + p.totalFailureSessionCount, 0),
        JSON.stringify(report),
        source,
        receivedAt,
      );
    return result.changes === 1 ? 'stored' : 'duplicate';
  }

  private saveQuarantine(reason: string, bytes: Uint8Array, source: string, receivedAt: number): SaveOutcome {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const result = this.db
      .prepare(
        'INSERT INTO quarantine (sha256, source, reason, bytes, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      )
      .run(sha256, source, reason, Buffer.from(bytes), receivedAt);
    return result.changes === 1 ? 'stored' : 'duplicate';
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
    const where = reportFilter(filter);
    const rows = this.db
      .prepare(
        `SELECT x.source_ip AS sourceIp, x.header_from AS headerFrom, SUM(x.count) AS messages,
                SUM(CASE WHEN x.dmarc_pass = 1 THEN x.count ELSE 0 END) AS dmarcPass,
                SUM(CASE WHEN x.dkim_aligned = 1 THEN x.count ELSE 0 END) AS dkimAligned,
                SUM(CASE WHEN x.spf_aligned = 1 THEN x.count ELSE 0 END) AS spfAligned,
                SUM(CASE WHEN x.disposition = 'quarantine' THEN x.count ELSE 0 END) AS quarantined,
                SUM(CASE WHEN x.disposition = 'reject' THEN x.count ELSE 0 END) AS rejected,
                MAX(x.dkim_domain) AS dkimDomain,
                COUNT(DISTINCT r.reporter_key) AS reporters
         FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report
         WHERE ${where.sql}
         GROUP BY x.source_ip, x.header_from
         ORDER BY messages DESC, x.source_ip
         LIMIT @limit`,
      )
      .all({ ...where.params, limit }) as (Omit<SourceRow, 'dkimDomain'> & { dkimDomain: string | null })[];
    return Promise.resolve(
      rows.map(({ dkimDomain, ...row }) => ({ ...row, ...(dkimDomain !== null && { dkimDomain }) })),
    );
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
    const statement = this.db.prepare(
      `SELECT r.reporter, r.report_id, r.policy_domain, r.begin_time, r.end_time, x.source_ip, x.count, x.disposition,
              x.header_from, x.envelope_from, x.dkim_aligned, x.spf_aligned, x.dmarc_pass, x.reporter_dkim, x.reporter_spf
       FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report
       WHERE ${where.sql} ORDER BY r.begin_time, r.id, x.id`,
    );
    for (const row of statement.iterate(where.params) as Iterable<Row>) {
      yield {
        reporter: String(row['reporter']),
        reportId: String(row['report_id']),
        policyDomain: String(row['policy_domain']),
        begin: Number(row['begin_time']),
        end: Number(row['end_time']),
        sourceIp: String(row['source_ip']),
        count: Number(row['count']),
        disposition: String(row['disposition']),
        headerFrom: String(row['header_from']),
        envelopeFrom: row['envelope_from'] === null ? null : String(row['envelope_from']),
        dkimAligned: row['dkim_aligned'] === 1,
        spfAligned: row['spf_aligned'] === 1,
        dmarcPass: row['dmarc_pass'] === 1,
        reporterDkim: String(row['reporter_dkim']),
        reporterSpf: String(row['reporter_spf']),
      };
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
    params: { domain: filter.domain?.toLowerCase() ?? null, since: filter.since ?? null },
  };
}
