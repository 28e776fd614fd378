/**
 * ReportStore on PostgreSQL (node-postgres), for volumes beyond one SQLite file. Same tables, keys
 * and answers as the SQLite store (rows.ts is shared; one contract suite tests both). Each item is
 * one transaction; records go in with one INSERT ... SELECT FROM unnest(...) per batch of rows,
 * which is far faster than a statement per record. Migrations run under an advisory lock, so two
 * processes starting at once do not both migrate.
 */
import pg from 'pg';
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
import { latestPostgresVersion, migrate, postgresSchemaVersion } from './postgres-migrations.js';
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
  REPORT_WHERE,
  REPORTS_COUNT_SELECT,
  POLICY_DOMAINS_SELECT,
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
import {
  storedVerdict,
  VERDICT_COLUMNS,
  VERDICT_PAGE,
  VERDICT_WHERE,
  verdictParams,
  verdictRow,
} from './verdict-rows.js';

export interface PostgresStoreOptions {
  /** Schema to use (created when missing); default "public". */
  readonly schema?: string;
  readonly now?: () => number;
  /**
   * Open for reading only: no schema is created or upgraded (the schema must be at the current
   * version) and every transaction is read-only, so a role with SELECT rights only can read.
   */
  readonly readonly?: boolean;
}

/** Placeholder names of the shared queries, with their PostgreSQL types. */
const PARAMETER_TYPES: Readonly<Record<string, string>> = {
  DOMAIN: 'text',
  SINCE: 'bigint',
  UNTIL: 'bigint',
  LIMIT: 'bigint',
  OFFSET: 'bigint',
  ID: 'bigint',
  AFTERBEGIN: 'bigint',
  AFTERREPORT: 'bigint',
  AFTERRECORD: 'bigint',
  AFTER: 'bigint',
};

/**
 * A shared query with named placeholders ($DOMAIN ...) as PostgreSQL text with numbered, typed
 * ones and the values in their order: PostgreSQL refuses values that the text does not use.
 */
function positional(sql: string, named: Readonly<Record<string, unknown>>): { text: string; values: unknown[] } {
  const numbers = new Map<string, number>();
  const values: unknown[] = [];
  const text = sql
    .replaceAll('$DOMAIN_IN_LIST', "position(' ' || $DOMAIN || ' ' in t.policy_domains) > 0")
    .replaceAll('$LENGTH', 'octet_length')
    .replace(/\$([A-Z]+)\b/g, (_, name: string) => {
      let n = numbers.get(name);
      if (n === undefined) {
        values.push(named[name.toLowerCase()] ?? null);
        n = values.length;
        numbers.set(name, n);
      }
      return `$${n}::${PARAMETER_TYPES[name] ?? 'text'}`;
    });
  return { text, values };
}

/** PostgreSQL types of AGGREGATE_RECORD_COLUMNS, for the unnest() arrays. */
const RECORD_TYPES = [
  'text',
  'bigint',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'boolean',
  'boolean',
  'boolean',
  'text',
  'text',
  'text',
  'text',
];
const RECORD_BATCH = 5000;
/** Verdict rows per INSERT: 11 parameters each, far below PostgreSQL's 65,535 per statement. */
const VERDICT_BATCH = 1000;
const MIGRATION_LOCK = 0x6d61696c; // "mail"

export class PostgresReportStore implements ReportStore, VerdictJournal {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
  ) {}

  /** Connects, creates the schema if needed and applies pending migrations. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresReportStore> {
    const schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    const readOnly = options.readonly === true ? ' -c default_transaction_read_only=on' : '';
    const pool = new pg.Pool({ connectionString: url, max: 4, options: `-c search_path=${schema}${readOnly}` });
    // Idle clients can fail when the server goes away; the next query reports it, so only note it here.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      if (options.readonly === true) {
        try {
          const version = await postgresSchemaVersion(client);
          if (version === undefined) throw new Error(`schema ${schema} holds no mailward report store`);
          if (version < latestPostgresVersion()) {
            throw new Error(
              `schema ${schema} has version ${version}, older than ${latestPostgresVersion()}: upgrade it once with "mailward reports upgrade" as a role that may change it`,
            );
          }
        } finally {
          client.release();
        }
        return new PostgresReportStore(pool, options.now ?? Date.now);
      }
      try {
        // The lock first: CREATE SCHEMA IF NOT EXISTS itself races between two processes.
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
        try {
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          await migrate(client, options.now ?? Date.now);
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
        }
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresReportStore(pool, options.now ?? Date.now);
  }

  async save(entries: readonly StoreEntry[], source: string): Promise<SaveOutcome[]> {
    const [outcomes] = await this.saveBatch([{ entries, source }]);
    return outcomes ?? [];
  }

  async saveBatch(
    items: readonly { readonly entries: readonly StoreEntry[]; readonly source: string }[],
  ): Promise<SaveOutcome[][]> {
    const receivedAt = Math.floor(this.now() / 1000);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const all: SaveOutcome[][] = [];
      for (const { entries, source } of items) {
        const outcomes: SaveOutcome[] = [];
        for (const entry of entries) outcomes.push(await saveEntry(client, entry, source, receivedAt));
        all.push(outcomes);
      }
      await client.query('COMMIT');
      return all;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Streams one large report in, on a client of its own holding the transaction open. */
  async beginAggregate(
    header: Omit<AggregateReport, 'records'>,
    source: string,
  ): Promise<AggregateWriter | 'duplicate'> {
    const client = await this.pool.connect();
    let id: string | undefined;
    try {
      await client.query('BEGIN');
      id = await insertReport(client, header, source, Math.floor(this.now() / 1000));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      throw error;
    }
    if (id === undefined) {
      await client.query('ROLLBACK');
      client.release();
      return 'duplicate';
    }
    const reportId = id;
    const counts = emptyVerdictCounts();
    let open = true;
    const end = async (sql: string) => {
      if (!open) return;
      open = false;
      try {
        await client.query(sql);
      } finally {
        client.release();
      }
    };
    return {
      add: async (records) => {
        await insertRecords(client, reportId, records);
        addVerdictCounts(counts, records);
      },
      commit: async (report) => {
        await client.query('UPDATE aggregate_reports SET warnings_json = $1, schema = $2 WHERE id = $3', [
          JSON.stringify(report.warnings),
          report.schema,
          reportId,
        ]);
        await insertDays(client, reportId, report, counts);
        await end('COMMIT');
      },
      abort: () => end('ROLLBACK'),
    };
  }

  private async rows(sql: string, named: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>[]> {
    const { text, values } = positional(sql, named);
    return (await this.pool.query(text, values)).rows as Record<string, unknown>[];
  }

  private async first(sql: string, named: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    return (await this.rows(sql, named))[0] ?? {};
  }

  async totals(filter: SummaryFilter): Promise<Totals> {
    const params = filterParams(filter);
    const [counts, sums, failures, tls, quarantined] = await Promise.all([
      this.first(REPORTS_COUNT_SELECT, params),
      this.first(TOTALS_SELECT, params),
      this.first(FAILURE_COUNT_SELECT, params),
      this.first(TLS_COUNT_SELECT, params),
      this.first(QUARANTINE_COUNT_SELECT, params),
    ]);
    return totalsOf(counts, sums, {
      failureReports: failures['n'],
      tlsReports: tls['n'],
      quarantined: quarantined['n'],
    });
  }

  async sources(filter: SummaryFilter, limit: number): Promise<SourceRow[]> {
    const sql = SOURCES_SELECT.replace(
      'ORDER BY messages DESC, x.source_ip',
      'ORDER BY messages DESC, x.source_ip COLLATE "C"',
    );
    return (await this.rows(sql, { ...filterParams(filter), limit })).map(sourceRow);
  }

  async disagreements(filter: SummaryFilter, limit: number): Promise<DisagreementRow[]> {
    const sql = DISAGREEMENTS_SELECT.replace(
      'ORDER BY messages DESC, x.source_ip',
      'ORDER BY messages DESC, x.source_ip COLLATE "C"',
    );
    return (await this.rows(sql, { ...filterParams(filter), limit })).map(disagreementRow);
  }

  async aggregateReports(
    filter: ListFilter & { readonly withWarnings?: boolean },
    page: Page,
  ): Promise<StoredAggregateSummary[]> {
    const rows = await this.rows(AGGREGATE_LIST_SELECT, {
      ...filterParams(filter),
      warned: filter.withWarnings === true ? 'yes' : null,
      limit: page.limit,
      offset: page.offset ?? 0,
    });
    return rows.map(aggregateSummary);
  }

  async aggregateReport(id: number, recordLimit: number): Promise<StoredAggregateReport | undefined> {
    const [row] = await this.rows(AGGREGATE_ONE_SELECT, { id });
    if (row === undefined) return undefined;
    return storedAggregateReport(row, await this.rows(AGGREGATE_ONE_ROWS_SELECT, { id, limit: recordLimit }));
  }

  async failureReports(filter: ListFilter, page: Page): Promise<StoredFailureSummary[]> {
    return (await this.list(FAILURE_LIST_SELECT, filter, page)).map(failureSummary);
  }

  async failureReport(id: number): Promise<StoredFailureReport | undefined> {
    const [row] = await this.rows(FAILURE_ONE_SELECT, { id });
    return row === undefined ? undefined : storedFailureReport(row);
  }

  async tlsReports(filter: ListFilter, page: Page): Promise<StoredTlsSummary[]> {
    return (await this.list(TLS_LIST_SELECT, filter, page)).map(tlsSummary);
  }

  async tlsReport(id: number): Promise<StoredTlsReport | undefined> {
    const [row] = await this.rows(TLS_ONE_SELECT, { id });
    return row === undefined ? undefined : storedTlsReport(row);
  }

  async quarantinedItems(filter: ListFilter, page: Page): Promise<QuarantinedSummary[]> {
    return (await this.list(QUARANTINE_LIST_SELECT, filter, page)).map(quarantinedSummary);
  }

  async quarantinedItem(id: number): Promise<QuarantinedItem | undefined> {
    const [row] = await this.rows(QUARANTINE_ONE_SELECT, { id });
    return row === undefined ? undefined : quarantinedItem(row);
  }

  private list(sql: string, filter: ListFilter, page: Page): Promise<Record<string, unknown>[]> {
    return this.rows(sql, { ...filterParams(filter), limit: page.limit, offset: page.offset ?? 0 });
  }

  async policyDomains(limit: number): Promise<string[]> {
    return (await this.rows(POLICY_DOMAINS_SELECT, { limit })).map((r) => String(r['domain']));
  }

  async unenrichedSourceIps(limit: number): Promise<string[]> {
    const result = await this.pool.query(
      `SELECT DISTINCT x.source_ip AS ip FROM aggregate_records x
       WHERE NOT EXISTS (SELECT 1 FROM ip_info i WHERE i.ip = x.source_ip) LIMIT $1`,
      [limit],
    );
    return (result.rows as { ip: string }[]).map((r) => r.ip);
  }

  async saveIpInfo(rows: readonly IpEnrichment[], lookedUpAt: number): Promise<void> {
    const columns = IP_INFO_COLUMNS.join(', ');
    const updates = IP_INFO_COLUMNS.slice(1)
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ');
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const row of rows) {
        await client.query(
          `INSERT INTO ip_info (${columns}) VALUES (${placeholders(IP_INFO_COLUMNS.length)}) ON CONFLICT (ip) DO UPDATE SET ${updates}`,
          ipInfoRow(row, lookedUpAt),
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async days(filter: SummaryFilter): Promise<DayRow[]> {
    return (await this.rows(DAYS_SELECT, filterParams(filter))).map(dayRow);
  }

  /** Pages through the rows by record id, so an export of any size holds one page at a time. */
  async *aggregateRows(filter: SummaryFilter): AsyncIterable<StoredAggregateRow> {
    const sql = `${EXPORT_SELECT.replace('SELECT ', 'SELECT r.id AS report_pk, x.id AS record_pk, ')}
      WHERE ${REPORT_WHERE} AND ($AFTERBEGIN IS NULL OR (r.begin_time, r.id, x.id) > ($AFTERBEGIN, $AFTERREPORT, $AFTERRECORD))
      ORDER BY r.begin_time, r.id, x.id LIMIT 10000`;
    let after: { afterbegin: string; afterreport: string; afterrecord: string } | undefined;
    for (;;) {
      const rows = await this.rows(sql, { ...filterParams(filter), ...after });
      for (const row of rows) yield storedAggregateRow(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < 10000) return;
      after = {
        afterbegin: String(last['begin_time']),
        afterreport: String(last['report_pk']),
        afterrecord: String(last['record_pk']),
      };
    }
  }

  /**
   * One INSERT per batch of rows; a single batch (the milter's one verdict) is one statement and
   * so its own transaction, committed (synchronous_commit) before the query returns. More rows
   * than one statement's parameters allow go in several statements inside one transaction.
   */
  async appendVerdicts(records: readonly VerdictRecord[]): Promise<void> {
    const width = VERDICT_COLUMNS.length;
    const insert = (client: pg.Pool | pg.PoolClient, batch: readonly VerdictRecord[]) =>
      client.query(
        `INSERT INTO verdicts (${VERDICT_COLUMNS.join(', ')}) VALUES ${batch.map((_, i) => `(${placeholders(width, i * width + 1)})`).join(', ')}`,
        batch.flatMap(verdictRow),
      );
    if (records.length === 0) return;
    if (records.length <= VERDICT_BATCH) {
      await insert(this.pool, records);
      return;
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (let at = 0; at < records.length; at += VERDICT_BATCH) {
        await insert(client, records.slice(at, at + VERDICT_BATCH));
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async *verdicts(filter: VerdictFilter): AsyncIterable<StoredVerdict> {
    const sql = `SELECT id, record_json FROM verdicts WHERE ${VERDICT_WHERE} AND id > $AFTER ORDER BY id LIMIT ${VERDICT_PAGE}`;
    let after = 0;
    for (;;) {
      const rows = await this.rows(sql, { ...verdictParams(filter), after });
      for (const row of rows) yield storedVerdict(row);
      if (rows.length < VERDICT_PAGE) return;
      after = Number(rows.at(-1)?.['id']);
    }
  }

  async countVerdicts(filter: VerdictFilter): Promise<number> {
    return Number(
      (await this.first(`SELECT COUNT(*) AS n FROM verdicts WHERE ${VERDICT_WHERE}`, verdictParams(filter)))['n'],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function placeholders(count: number, from = 1): string {
  return Array.from({ length: count }, (_, i) => `$${i + from}`).join(', ');
}

async function insertOne(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  row: unknown[],
): Promise<SaveOutcome> {
  const result = await client.query(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${placeholders(columns.length)}) ON CONFLICT DO NOTHING`,
    row,
  );
  return result.rowCount === 1 ? 'stored' : 'duplicate';
}

function saveEntry(client: pg.PoolClient, entry: StoreEntry, source: string, receivedAt: number): Promise<SaveOutcome> {
  switch (entry.kind) {
    case 'aggregate':
      return saveAggregate(client, entry.report, source, receivedAt);
    case 'failure':
      return insertOne(client, 'failure_reports', FAILURE_COLUMNS, failureRow(entry.report, source, receivedAt));
    case 'tls':
      return insertOne(client, 'tls_reports', TLS_COLUMNS, tlsRow(entry.report, source, receivedAt));
    case 'quarantine':
      return insertOne(
        client,
        'quarantine',
        QUARANTINE_COLUMNS,
        quarantineRow(entry.reason, entry.bytes, source, receivedAt),
      );
  }
}

async function insertReport(
  client: pg.PoolClient,
  report: Omit<AggregateReport, 'records'>,
  source: string,
  receivedAt: number,
): Promise<string | undefined> {
  const inserted = await client.query(
    `INSERT INTO aggregate_reports (${AGGREGATE_REPORT_COLUMNS.join(', ')}) VALUES (${placeholders(AGGREGATE_REPORT_COLUMNS.length)})
     ON CONFLICT DO NOTHING RETURNING id`,
    aggregateReportRow(report, source, receivedAt),
  );
  return inserted.rowCount === 1 ? String(inserted.rows[0].id) : undefined;
}

async function saveAggregate(
  client: pg.PoolClient,
  report: AggregateReport,
  source: string,
  receivedAt: number,
): Promise<SaveOutcome> {
  const id = await insertReport(client, report, source, receivedAt);
  if (id === undefined) return 'duplicate';
  await insertRecords(client, id, report.records);
  await insertDays(client, id, report, verdictCounts(report.records));
  return 'stored';
}

async function insertRecords(client: pg.PoolClient, id: string, records: readonly AggregateRecord[]): Promise<void> {
  const rows = aggregateRecordRows(records);
  const unnest = RECORD_TYPES.map((type, i) => `$${i + 2}::${type}[]`).join(', ');
  const sql = `INSERT INTO aggregate_records (report, ${AGGREGATE_RECORD_COLUMNS.join(', ')})
               SELECT $1::bigint, * FROM unnest(${unnest})`;
  for (let at = 0; at < rows.length; at += RECORD_BATCH) {
    const batch = rows.slice(at, at + RECORD_BATCH);
    const columns = AGGREGATE_RECORD_COLUMNS.map((_, c) => batch.map((row) => row[c]));
    await client.query(sql, [id, ...columns]);
  }
}

async function insertDays(
  client: pg.PoolClient,
  id: string,
  report: Pick<AggregateReport, 'metadata' | 'policy'>,
  counts: VerdictCounts,
): Promise<void> {
  for (const day of aggregateDayRows(report, counts)) {
    await client.query(
      `INSERT INTO aggregate_days (report, ${AGGREGATE_DAY_COLUMNS.join(', ')}) VALUES (${placeholders(AGGREGATE_DAY_COLUMNS.length + 1)})`,
      [id, ...day],
    );
  }
}
