/**
 * ReportStore on SQLite (better-sqlite3 12.x): one file, WAL journal, synchronous=FULL so that a
 * committed item survives a crash or power loss before its source is acknowledged. All entries of
 * one item are written in one transaction; reports already stored are recognised by their natural
 * key (reporter, report id, policy domain, date range) and skipped, so ingest is idempotent.
 * Also the VerdictJournal (the verdicts table), opened by the milter with synchronous=NORMAL.
 */
import Database from 'better-sqlite3';
import type {
  AggregateRecord,
  AggregateReport,
  AggregateWriter,
  DayRow,
  DisagreementRow,
  IpEnrichment,
  ListFilter,
  Page,
  QuarantinedItem,
  QuarantinedSummary,
  ReportStore,
  SaveOutcome,
  SourceRow,
  StoreEntry,
  StoredAggregateRow,
  StoredAggregateReport,
  StoredAggregateSummary,
  StoredFailureReport,
  StoredFailureSummary,
  StoredTlsReport,
  StoredTlsSummary,
  SummaryFilter,
  Totals,
  VerdictCounts,
  StoredVerdict,
  VerdictFilter,
  VerdictJournal,
  VerdictRecord,
} from '@mailward/reports';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { openReadonlyDatabase, SqliteStoreProblem } from './sqlite-readonly.js';

export { SqliteStoreProblem } from './sqlite-readonly.js';
import {
  AGGREGATE_DAY_COLUMNS,
  AGGREGATE_RECORD_COLUMNS,
  AGGREGATE_REPORT_COLUMNS,
  addVerdictCounts,
  DAYS_SELECT,
  dayRow,
  DISAGREEMENTS_SELECT,
  disagreementRow,
  emptyVerdictCounts,
  EXPORT_SELECT,
  FAILURE_COLUMNS,
  QUARANTINE_COLUMNS,
  REPORT_VERDICT_COUNTS_SELECT,
  REPORT_WHERE,
  REPORTS_COUNT_SELECT,
  POLICY_DOMAINS_SELECT,
  reportVerdictCounts,
  TLS_COLUMNS,
  TOTALS_SELECT,
  totalsOf,
  aggregateDayRows,
  aggregateRecordRows,
  aggregateReportRow,
  failureRow,
  verdictCounts,
  filterParams,
  IP_INFO_COLUMNS,
  ipInfoRow,
  SOURCES_SELECT,
  sourceRow,
  quarantineRow,
  storedAggregateRow,
  tlsRow,
} from './rows.js';
import {
  AGGREGATE_LIST_SELECT,
  AGGREGATE_ONE_ROWS_SELECT,
  AGGREGATE_ONE_SELECT,
  aggregateSummary,
  storedAggregateReport,
  FAILURE_COUNT_SELECT,
  FAILURE_LIST_SELECT,
  FAILURE_ONE_SELECT,
  QUARANTINE_COUNT_SELECT,
  QUARANTINE_LIST_SELECT,
  QUARANTINE_ONE_SELECT,
  TLS_COUNT_SELECT,
  TLS_LIST_SELECT,
  TLS_ONE_SELECT,
  failureSummary,
  quarantinedItem,
  quarantinedSummary,
  storedFailureReport,
  storedTlsReport,
  tlsSummary,
} from './list-rows.js';
import { MULTI_FROM_RECORDS_SELECT, quarantineDomain, realignedRecord } from './upgrade-rows.js';
import {
  storedVerdict,
  VERDICT_COLUMNS,
  VERDICT_PAGE,
  VERDICT_WHERE,
  verdictParams,
  verdictRow,
} from './verdict-rows.js';

export interface SqliteStoreOptions {
  /** Milliseconds since the epoch, for received_at (default Date.now). */
  readonly now?: () => number;
  /**
   * Open for reading only (commands that only read): the file must exist, nothing is written, and
   * a database owned by another user (the report receiver's) can be read. A database whose schema
   * is older than this version cannot be read this way: open it once for writing to upgrade.
   */
  readonly readonly?: boolean;
  /**
   * `full` (default): every commit is fsynced, so it survives power loss too (report ingest
   * acknowledges its source after commit). `normal`: in WAL mode a commit is in the WAL file before
   * it returns, so it survives the process being killed (kill -9, a crash) but the last commits
   * may be lost on power loss; no fsync per commit, which is what a milter answering every
   * message wants for its verdict journal (docs/verdicts.md).
   */
  readonly synchronous?: 'full' | 'normal';
}

export class SqliteReportStore implements ReportStore, VerdictJournal {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    if (options.readonly === true) {
      this.db = openReadonlyDatabase(path);
      this.db.pragma('busy_timeout = 5000');
      this.checkReadable(path);
      return;
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.refuseForeignDatabase(path);
    this.migrate();
  }

  /** A read-only store must be a mailward store at the current schema version. */
  private checkReadable(path: string): void {
    const latest = SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
    let version: number;
    try {
      version =
        (this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    } catch (error) {
      this.db.close();
      const message = (error as Error).message;
      throw new SqliteStoreProblem(
        /no such table/.test(message) ? `${path} is not a mailward report store (no schema_migrations table)` : message,
      );
    }
    if (version < latest) {
      this.db.close();
      throw new SqliteStoreProblem(
        `${path} has schema version ${version}, older than ${latest}: upgrade it once with "mailward reports upgrade --store sqlite:${path}" as a user who may write it`,
      );
    }
  }

  /**
   * A database that holds tables but no schema_migrations is someone else's (a scan results file,
   * another program's): turning it into a report store would mix the two.
   */
  private refuseForeignDatabase(path: string): void {
    const tables = (
      this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    if (tables.length > 0 && !tables.includes('schema_migrations')) {
      this.db.close();
      throw new SqliteStoreProblem(
        `${path} is not a mailward report store (it holds ${tables.slice(0, 3).join(', ')}${tables.length > 3 ? ', ...' : ''}): give --store another file`,
      );
    }
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
        if (migration.version === 3) this.upgradeToVersion3();
        this.db
          .prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
          .run(migration.version, this.now());
      })();
    }
    return SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
  }

  /** Version 3's recomputations (upgrade-rows.ts), inside the migration's transaction. */
  private upgradeToVersion3(): void {
    const realign = this.db.prepare(
      'UPDATE aggregate_records SET dkim_aligned = ?, spf_aligned = ?, dmarc_pass = ? WHERE id = ?',
    );
    const multi = this.db.prepare(MULTI_FROM_RECORDS_SELECT).all() as Record<string, unknown>[];
    for (const row of multi) realign.run(sqliteValues(realignedRecord(row)));
    this.db.exec('DELETE FROM aggregate_days');
    const reports = this.db.prepare(REPORT_VERDICT_COUNTS_SELECT).all() as Record<string, unknown>[];
    for (const row of reports) {
      const { id, report, counts } = reportVerdictCounts(row);
      this.insertDays(id, report, counts);
    }
    const update = this.db.prepare('UPDATE quarantine SET domain = ? WHERE id = ?');
    const ids = this.db.prepare('SELECT id FROM quarantine ORDER BY id').all() as { id: number }[];
    const one = this.db.prepare('SELECT source, bytes FROM quarantine WHERE id = ?');
    for (const { id } of ids) update.run(quarantineDomain(one.get(id) as Record<string, unknown>), id);
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
    this.insertDays(inserted.id, report, verdictCounts(report.records));
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

  private insertDays(reportId: number, report: Parameters<typeof aggregateDayRows>[0], counts: VerdictCounts): void {
    const statement = this.insert('aggregate_days', ['report', ...AGGREGATE_DAY_COLUMNS]);
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
    const counts = emptyVerdictCounts();
    const finish = (sql: string) => {
      if (this.db.inTransaction) this.db.exec(sql);
    };
    return {
      add: async (records) => {
        this.insertRecords(id, records);
        addVerdictCounts(counts, records);
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

  /** A cached prepared statement of a shared query, with the placeholders in SQLite's syntax. */
  private query(sql: string): Database.Statement {
    const text = sql
      .replaceAll('$DOMAIN_IN_LIST', "instr(t.policy_domains, ' ' || @domain || ' ') > 0")
      .replaceAll('$DOMAIN', '@domain')
      .replaceAll('$SINCE', '@since')
      .replaceAll('$UNTIL', '@until')
      .replaceAll('$LIMIT', '@limit')
      .replaceAll('$OFFSET', '@offset')
      .replaceAll('$ID', '@id')
      .replaceAll('$WARNED', '@warned')
      .replaceAll('$LENGTH', 'length');
    let statement = this.statements.get(text);
    if (statement === undefined) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  totals(filter: SummaryFilter): Promise<Totals> {
    const params = filterParams(filter);
    const counts = this.query(REPORTS_COUNT_SELECT).get(params) as Record<string, unknown>;
    const sums = this.query(TOTALS_SELECT).get(params) as Record<string, unknown>;
    const count = (sql: string) => (this.query(sql).get(params) as { n: number }).n;
    return Promise.resolve(
      totalsOf(counts, sums, {
        failureReports: count(FAILURE_COUNT_SELECT),
        tlsReports: count(TLS_COUNT_SELECT),
        quarantined: count(QUARANTINE_COUNT_SELECT),
      }),
    );
  }

  sources(filter: SummaryFilter, limit: number): Promise<SourceRow[]> {
    const rows = this.query(SOURCES_SELECT).all({ ...filterParams(filter), limit }) as Record<string, unknown>[];
    return Promise.resolve(rows.map(sourceRow));
  }

  disagreements(filter: SummaryFilter, limit: number): Promise<DisagreementRow[]> {
    const rows = this.query(DISAGREEMENTS_SELECT).all({ ...filterParams(filter), limit }) as Record<string, unknown>[];
    return Promise.resolve(rows.map(disagreementRow));
  }

  aggregateReports(
    filter: ListFilter & { readonly withWarnings?: boolean },
    page: Page,
  ): Promise<StoredAggregateSummary[]> {
    const rows = this.query(AGGREGATE_LIST_SELECT).all({
      ...filterParams(filter),
      warned: filter.withWarnings === true ? 'yes' : null,
      limit: page.limit,
      offset: page.offset ?? 0,
    }) as Record<string, unknown>[];
    return Promise.resolve(rows.map(aggregateSummary));
  }

  aggregateReport(id: number, recordLimit: number): Promise<StoredAggregateReport | undefined> {
    const row = this.query(AGGREGATE_ONE_SELECT).get({ id }) as Record<string, unknown> | undefined;
    if (row === undefined) return Promise.resolve(undefined);
    const records = this.query(AGGREGATE_ONE_ROWS_SELECT).all({ id, limit: recordLimit }) as Record<string, unknown>[];
    return Promise.resolve(storedAggregateReport(row, records));
  }

  failureReports(filter: ListFilter, page: Page): Promise<StoredFailureSummary[]> {
    return Promise.resolve(this.list(FAILURE_LIST_SELECT, filter, page).map(failureSummary));
  }

  failureReport(id: number): Promise<StoredFailureReport | undefined> {
    const row = this.query(FAILURE_ONE_SELECT).get({ id }) as Record<string, unknown> | undefined;
    return Promise.resolve(row === undefined ? undefined : storedFailureReport(row));
  }

  tlsReports(filter: ListFilter, page: Page): Promise<StoredTlsSummary[]> {
    return Promise.resolve(this.list(TLS_LIST_SELECT, filter, page).map(tlsSummary));
  }

  tlsReport(id: number): Promise<StoredTlsReport | undefined> {
    const row = this.query(TLS_ONE_SELECT).get({ id }) as Record<string, unknown> | undefined;
    return Promise.resolve(row === undefined ? undefined : storedTlsReport(row));
  }

  quarantinedItems(filter: ListFilter, page: Page): Promise<QuarantinedSummary[]> {
    return Promise.resolve(this.list(QUARANTINE_LIST_SELECT, filter, page).map(quarantinedSummary));
  }

  quarantinedItem(id: number): Promise<QuarantinedItem | undefined> {
    const row = this.query(QUARANTINE_ONE_SELECT).get({ id }) as Record<string, unknown> | undefined;
    return Promise.resolve(row === undefined ? undefined : quarantinedItem(row));
  }

  private list(sql: string, filter: ListFilter, page: Page): Record<string, unknown>[] {
    return this.query(sql).all({ ...filterParams(filter), limit: page.limit, offset: page.offset ?? 0 }) as Record<
      string,
      unknown
    >[];
  }

  policyDomains(limit: number): Promise<string[]> {
    const rows = this.query(POLICY_DOMAINS_SELECT).all({ limit }) as { domain: string }[];
    return Promise.resolve(rows.map((r) => r.domain));
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
    const rows = this.query(DAYS_SELECT).all(filterParams(filter)) as Record<string, unknown>[];
    return Promise.resolve(rows.map(dayRow));
  }

  async *aggregateRows(filter: SummaryFilter): AsyncIterable<StoredAggregateRow> {
    const statement = this.query(`${EXPORT_SELECT} WHERE ${REPORT_WHERE} ORDER BY r.begin_time, r.id, x.id`);
    for (const row of statement.iterate(filterParams(filter)) as Iterable<Record<string, unknown>>) {
      yield storedAggregateRow(row);
    }
  }

  // async, so that a failed transaction (already rolled back) surfaces as a rejection.
  async appendVerdicts(records: readonly VerdictRecord[]): Promise<void> {
    const statement = this.insert('verdicts', VERDICT_COLUMNS);
    this.db.transaction(() => {
      for (const record of records) statement.run(verdictRow(record));
    })();
    return Promise.resolve();
  }

  async *verdicts(filter: VerdictFilter): AsyncIterable<StoredVerdict> {
    // Pages by id rather than one open iterator: the milter may append between two pages.
    const statement = this.query(
      `SELECT id, record_json FROM verdicts WHERE ${VERDICT_WHERE} AND id > @after ORDER BY id LIMIT ${VERDICT_PAGE}`,
    );
    let after = 0;
    for (;;) {
      const rows = statement.all({ ...verdictParams(filter), after }) as Record<string, unknown>[];
      for (const row of rows) yield storedVerdict(row);
      if (rows.length < VERDICT_PAGE) return;
      after = Number(rows.at(-1)?.['id']);
    }
  }

  countVerdicts(filter: VerdictFilter): Promise<number> {
    const row = this.query(`SELECT COUNT(*) AS n FROM verdicts WHERE ${VERDICT_WHERE}`).get(verdictParams(filter)) as {
      n: number;
    };
    return Promise.resolve(row.n);
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null: booleans become 1 and 0. */
function sqliteValues(row: readonly unknown[]): unknown[] {
  return row.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value));
}
