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
  IpEnrichment,
  ReportStore,
  SaveOutcome,
  SourceRow,
  StoreEntry,
  StoredAggregateRow,
  SummaryFilter,
  Totals,
} from '@mailward/reports';
import { migrate } from './postgres-migrations.js';
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
    const counts = { messages: 0, passing: 0 };
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
        const more = recordCounts(records);
        counts.messages += more.messages;
        counts.passing += more.passing;
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
    const sql = SOURCES_SELECT.replaceAll('$DOMAIN', '$1::text')
      .replaceAll('$SINCE', '$2::bigint')
      .replace('$LIMIT', '$3')
      .replace('ORDER BY messages DESC, x.source_ip', 'ORDER BY messages DESC, x.source_ip COLLATE "C"');
    const result = await this.pool.query(sql, [domain, since, limit]);
    return (result.rows as Record<string, unknown>[]).map(sourceRow);
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
  await insertDays(client, id, report, recordCounts(report.records));
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
  counts: { messages: number; passing: number },
): Promise<void> {
  for (const day of aggregateDayRows(report, counts)) {
    await client.query(
      'INSERT INTO aggregate_days (report, policy_domain, day, messages, dmarc_pass) VALUES ($1, $2, $3, $4, $5)',
      [id, ...day],
    );
  }
}
