/**
 * ReportStore on PostgreSQL (node-postgres), for volumes beyond one SQLite file. Same tables, keys
 * and answers as the SQLite store (rows.ts is shared; one contract suite tests both). Each item is
 * one transaction; records go in with one INSERT ... SELECT FROM unnest(...) per batch of rows,
 * which is far faster than a statement per record. Migrations run under an advisory lock, so two
 * processes starting at once do not both migrate.
 */
import pg from 'pg';
import type {
  AggregateReport,
  DayRow,
  ReportStore,
  SaveOutcome,
  SourceRow,
  StoreEntry,
  StoredAggregateRow,
  SummaryFilter,
  Totals,
} from '@mailward/reports';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
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
  filterParams,
  quarantineRow,
  storedAggregateRow,
  tlsRow,
} from './rows.js';

export interface PostgresStoreOptions {
  /** Schema to use (created when missing); default "public". */
  readonly schema?: string;
  readonly now?: () => number;
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
const MIGRATION_LOCK = 0x6d61696c; // "mail"

export class PostgresReportStore implements ReportStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
  ) {}

  /** Connects, creates the schema if needed and applies pending migrations. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresReportStore> {
    const schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    const pool = new pg.Pool({ connectionString: url, max: 4, options: `-c search_path=${schema}` });
    // Idle clients can fail when the server goes away; the next query reports it, so only note it here.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
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
    const receivedAt = Math.floor(this.now() / 1000);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const outcomes: SaveOutcome[] = [];
      for (const entry of entries) {
        switch (entry.kind) {
          case 'aggregate':
            outcomes.push(await saveAggregate(client, entry.report, source, receivedAt));
            break;
          case 'failure':
            outcomes.push(
              await insertOne(client, 'failure_reports', FAILURE_COLUMNS, failureRow(entry.report, source, receivedAt)),
            );
            break;
          case 'tls':
            outcomes.push(
              await insertOne(client, 'tls_reports', TLS_COLUMNS, tlsRow(entry.report, source, receivedAt)),
            );
            break;
          case 'quarantine':
            outcomes.push(
              await insertOne(
                client,
                'quarantine',
                QUARANTINE_COLUMNS,
                quarantineRow(entry.reason, entry.bytes, source, receivedAt),
              ),
            );
        }
      }
      await client.query('COMMIT');
      return outcomes;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async totals(filter: SummaryFilter): Promise<Totals> {
    const p = [filter.domain?.toLowerCase() ?? null, filter.since ?? null];
    const where = '($1::text IS NULL OR r.policy_domain = $1) AND ($2::bigint IS NULL OR r.end_time >= $2)';
    const reports = await this.pool.query(`SELECT COUNT(*)::bigint AS n FROM aggregate_reports r WHERE ${where}`, p);
    const sums = await this.pool.query(
      `SELECT COALESCE(SUM(x.count), 0)::bigint AS messages,
              COALESCE(SUM(x.count) FILTER (WHERE x.dmarc_pass), 0)::bigint AS pass,
              COALESCE(SUM(x.count) FILTER (WHERE x.dkim_aligned), 0)::bigint AS dkim,
              COALESCE(SUM(x.count) FILTER (WHERE x.spf_aligned), 0)::bigint AS spf
       FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report WHERE ${where}`,
      p,
    );
    const failures = await this.pool.query(
      `SELECT COUNT(*)::bigint AS n FROM failure_reports
       WHERE ($1::text IS NULL OR reported_domain = $1) AND ($2::bigint IS NULL OR arrival_date >= $2)`,
      p,
    );
    const tls = await this.pool.query(
      `SELECT COUNT(*)::bigint AS n FROM tls_reports
       WHERE ($1::text IS NULL OR position(' ' || $1 || ' ' in policy_domains) > 0) AND ($2::bigint IS NULL OR end_time >= $2)`,
      p,
    );
    const quarantined = await this.pool.query('SELECT COUNT(*)::bigint AS n FROM quarantine');
    const s = sums.rows[0] as Record<string, string>;
    const messages = Number(s['messages']);
    return {
      reports: Number(reports.rows[0].n),
      messages,
      dmarcPass: Number(s['pass']),
      dmarcFail: messages - Number(s['pass']),
      dkimAligned: Number(s['dkim']),
      spfAligned: Number(s['spf']),
      failureReports: Number(failures.rows[0].n),
      tlsReports: Number(tls.rows[0].n),
      quarantined: Number(quarantined.rows[0].n),
    };
  }

  async sources(filter: SummaryFilter, limit: number): Promise<SourceRow[]> {
    const { domain, since } = filterParams(filter);
    const result = await this.pool.query(
      `SELECT x.source_ip, x.header_from, SUM(x.count)::bigint AS messages,
              COALESCE(SUM(x.count) FILTER (WHERE x.dmarc_pass), 0)::bigint AS dmarc_pass,
              COALESCE(SUM(x.count) FILTER (WHERE x.dkim_aligned), 0)::bigint AS dkim_aligned,
              COALESCE(SUM(x.count) FILTER (WHERE x.spf_aligned), 0)::bigint AS spf_aligned,
              COALESCE(SUM(x.count) FILTER (WHERE x.disposition = 'quarantine'), 0)::bigint AS quarantined,
              COALESCE(SUM(x.count) FILTER (WHERE x.disposition = 'reject'), 0)::bigint AS rejected,
              MAX(x.dkim_domain) AS dkim_domain,
              COUNT(DISTINCT r.reporter_key)::bigint AS reporters
       FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report
       WHERE ($1::text IS NULL OR r.policy_domain = $1) AND ($2::bigint IS NULL OR r.end_time >= $2)
       GROUP BY x.source_ip, x.header_from
       ORDER BY messages DESC, x.source_ip COLLATE "C"
       LIMIT $3`,
      [domain, since, limit],
    );
    return result.rows.map((row: Record<string, unknown>) => ({
      sourceIp: String(row['source_ip']),
      headerFrom: String(row['header_from']),
      messages: Number(row['messages']),
      dmarcPass: Number(row['dmarc_pass']),
      dkimAligned: Number(row['dkim_aligned']),
      spfAligned: Number(row['spf_aligned']),
      quarantined: Number(row['quarantined']),
      rejected: Number(row['rejected']),
      ...(row['dkim_domain'] !== null && { dkimDomain: String(row['dkim_domain']) }),
      reporters: Number(row['reporters']),
    }));
  }

  async days(filter: SummaryFilter): Promise<DayRow[]> {
    const { domain, since } = filterParams(filter);
    const result = await this.pool.query(
      `SELECT d.day, SUM(d.messages) AS messages, SUM(d.dmarc_pass) AS dmarc_pass
       FROM aggregate_days d JOIN aggregate_reports r ON r.id = d.report
       WHERE ($1::text IS NULL OR r.policy_domain = $1) AND ($2::bigint IS NULL OR r.end_time >= $2)
       GROUP BY d.day ORDER BY d.day`,
      [domain, since],
    );
    return result.rows.map((row: Record<string, unknown>) => ({
      day: Number(row['day']),
      messages: Number(row['messages']),
      dmarcPass: Number(row['dmarc_pass']),
    }));
  }

  /** Pages through the rows by record id, so an export of any size holds one page at a time. */
  async *aggregateRows(filter: SummaryFilter): AsyncIterable<StoredAggregateRow> {
    const { domain, since } = filterParams(filter);
    let after: { begin: string; report: string; record: string } | undefined;
    for (;;) {
      const result = await this.pool.query(
        `${EXPORT_SELECT.replace('SELECT ', 'SELECT r.id AS report_pk, x.id AS record_pk, ')}
         WHERE ($1::text IS NULL OR r.policy_domain = $1) AND ($2::bigint IS NULL OR r.end_time >= $2)
           AND ($3::bigint IS NULL OR (r.begin_time, r.id, x.id) > ($3, $4::bigint, $5::bigint))
         ORDER BY r.begin_time, r.id, x.id LIMIT 10000`,
        [domain, since, after?.begin ?? null, after?.report ?? null, after?.record ?? null],
      );
      for (const row of result.rows as Record<string, unknown>[]) yield storedAggregateRow(row);
      const last = result.rows.at(-1) as Record<string, unknown> | undefined;
      if (last === undefined || result.rows.length < 10000) return;
      after = {
        begin: String(last['begin_time']),
        report: String(last['report_pk']),
        record: String(last['record_pk']),
      };
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

async function migrate(client: pg.PoolClient, now: () => number): Promise<void> {
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

async function saveAggregate(
  client: pg.PoolClient,
  report: AggregateReport,
  source: string,
  receivedAt: number,
): Promise<SaveOutcome> {
  const inserted = await client.query(
    `INSERT INTO aggregate_reports (${AGGREGATE_REPORT_COLUMNS.join(', ')}) VALUES (${placeholders(AGGREGATE_REPORT_COLUMNS.length)})
     ON CONFLICT DO NOTHING RETURNING id`,
    aggregateReportRow(report, source, receivedAt),
  );
  if (inserted.rowCount !== 1) return 'duplicate';
  const id = String(inserted.rows[0].id);
  const rows = aggregateRecordRows(report);
  const unnest = RECORD_TYPES.map((type, i) => `$${i + 2}::${type}[]`).join(', ');
  const sql = `INSERT INTO aggregate_records (report, ${AGGREGATE_RECORD_COLUMNS.join(', ')})
               SELECT $1::bigint, * FROM unnest(${unnest})`;
  for (let at = 0; at < rows.length; at += RECORD_BATCH) {
    const batch = rows.slice(at, at + RECORD_BATCH);
    const columns = AGGREGATE_RECORD_COLUMNS.map((_, c) => batch.map((row) => row[c]));
    await client.query(sql, [id, ...columns]);
  }
  for (const day of aggregateDayRows(report)) {
    await client.query(
      'INSERT INTO aggregate_days (report, policy_domain, day, messages, dmarc_pass) VALUES ($1, $2, $3, $4, $5)',
      [id, ...day],
    );
  }
  return 'stored';
}
