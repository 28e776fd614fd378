/**
 * The results file of `mailward scan`: one SQLite file holding a row per scanned domain (the
 * survey columns and the findings), so an interrupted scan resumes where it stopped, and the
 * report is computed with SQL however many domains there are. `exported` tracks which rows have
 * reached the NDJSON/CSV output, so a crash between the two never loses or repeats a line.
 * `status` (ok, nxdomain, dns-failed) keeps domains that do not exist and domains whose lookups
 * failed out of the statistics; `scan_runs` records when each run started and with what settings,
 * and `run` in a row is the run that last audited the domain, so a resumed scan retries a domain
 * whose lookups failed in an earlier run once, not again each time the list repeats it.
 */
import Database from 'better-sqlite3';
import type { AuditStatus, DomainAudit, SurveyCounts, SurveyRow } from '@mailward/core';
import { surveyRow } from '@mailward/core';

export interface ScanProblem {
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

/** One run of `mailward scan` over the results file (a resumed scan adds a run). */
export interface ScanRun {
  readonly startedAt: string;
  readonly list: string;
  readonly settings: Readonly<Record<string, string | number>>;
}

/** What the results file holds about a domain: its status and the run that audited it. */
export interface StoredDomain {
  readonly status: AuditStatus;
  readonly run: number;
}

/**
 * Values of `exported`: not yet written to the output, written, or written and then replaced by a
 * new audit (a retry), so the line in the output is outdated and the output must be rewritten.
 */
const NOT_EXPORTED = 0;
const EXPORTED = 1;
const EXPORT_OUTDATED = 2;

/** The columns of one domain, for the report's table. */
export interface ScanTableRow {
  readonly domain: string;
  readonly status: string;
  readonly grade: string;
  readonly spfAll: string;
  readonly spfValid: boolean;
  readonly dmarcPolicy: string;
  readonly hasRua: boolean;
  readonly dkim: boolean;
  readonly mtaSts: boolean;
  readonly tlsRpt: boolean;
  readonly dnssec: boolean;
  readonly nullMx: boolean;
  readonly errors: number;
  readonly warnings: number;
}

/** The survey columns of a row, in the order of the INSERT and the UPDATE (status to warnings). */
function columnValues(row: SurveyRow): (string | number)[] {
  const b = (v: boolean) => (v ? 1 : 0);
  return [
    row.status,
    row.grade,
    b(row.hasSpf),
    b(row.spfValid),
    row.spfAll,
    row.dmarcPolicy,
    b(row.hasRua),
    b(row.dkimFound),
    b(row.mtaSts),
    b(row.tlsRpt),
    b(row.dnssec),
    b(row.nullMx),
    row.errors,
    row.warnings,
  ];
}

export class ScanResults {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly lookup: Database.Statement;
  private readonly exported: Database.Statement;
  private readonly replace: Database.Statement;

  /**
   * `mustExist`: for reading (scan report), the file must already be a results file; nothing is
   * created in a file that is not one.
   */
  constructor(path: string, options: { readonly mustExist?: boolean } = {}) {
    this.db = new Database(path, { fileMustExist: options.mustExist === true });
    const tables = new Set(
      (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
        (t) => t.name,
      ),
    );
    // A report store (or another program's database) must not get scan tables mixed into it.
    const foreign = [...tables].filter((t) => !t.startsWith('scan_') && !t.startsWith('sqlite_'));
    if (foreign.length > 0 || (options.mustExist === true && !tables.has('scan_results'))) {
      this.db.close();
      throw new Error(
        `${path} is not a mailward scan results file${foreign.length > 0 ? ` (it holds ${foreign.slice(0, 3).join(', ')})` : ''}`,
      );
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
CREATE TABLE IF NOT EXISTS scan_results (
  seq INTEGER PRIMARY KEY,
  domain TEXT NOT NULL UNIQUE,
  grade TEXT NOT NULL,
  has_spf INTEGER NOT NULL, spf_valid INTEGER NOT NULL, spf_all TEXT NOT NULL,
  dmarc_policy TEXT NOT NULL, has_rua INTEGER NOT NULL, dkim INTEGER NOT NULL,
  mta_sts INTEGER NOT NULL, tls_rpt INTEGER NOT NULL, dnssec INTEGER NOT NULL, null_mx INTEGER NOT NULL,
  errors INTEGER NOT NULL, warnings INTEGER NOT NULL,
  audit_json TEXT NOT NULL,
  exported INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS scan_problems (line INTEGER NOT NULL, text TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scan_runs (started_at TEXT NOT NULL, list TEXT NOT NULL, settings_json TEXT NOT NULL);
`);
    // Results files of earlier versions have no status: every row there was graded as audited.
    const columns = this.db.prepare('PRAGMA table_info(scan_results)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'status'))
      this.db.exec("ALTER TABLE scan_results ADD COLUMN status TEXT NOT NULL DEFAULT 'ok'");
    // Rows of earlier versions were audited before any run of this one (run 0).
    if (!columns.some((c) => c.name === 'run'))
      this.db.exec('ALTER TABLE scan_results ADD COLUMN run INTEGER NOT NULL DEFAULT 0');
    this.insert = this.db.prepare(
      `INSERT INTO scan_results (domain, status, grade, has_spf, spf_valid, spf_all, dmarc_policy, has_rua, dkim, mta_sts,
         tls_rpt, dnssec, null_mx, errors, warnings, audit_json, run)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (domain) DO NOTHING RETURNING seq`,
    );
    // A retry keeps the row's seq (its place in the output); only a failed row of an earlier run
    // is replaced, so a domain the list repeats is not replaced twice in one run.
    this.replace = this.db.prepare(
      `UPDATE scan_results SET status = ?, grade = ?, has_spf = ?, spf_valid = ?, spf_all = ?, dmarc_policy = ?,
         has_rua = ?, dkim = ?, mta_sts = ?, tls_rpt = ?, dnssec = ?, null_mx = ?, errors = ?, warnings = ?,
         audit_json = ?, run = ?, exported = ${EXPORT_OUTDATED}
       WHERE domain = ? AND status = 'dns-failed' AND run < ? RETURNING seq`,
    );
    this.lookup = this.db.prepare('SELECT status, run FROM scan_results WHERE domain = ?');
    this.exported = this.db.prepare(`UPDATE scan_results SET exported = ${EXPORTED} WHERE seq = ?`);
  }

  /** The stored status of a domain and the run that audited it; undefined when it is not there. */
  stored(domain: string): StoredDomain | undefined {
    return this.lookup.get(domain) as StoredDomain | undefined;
  }

  /**
   * Stores several results in one transaction (one commit instead of one per domain); returns
   * those stored, in order, leaving out domains that were already there. A result marked `retry`
   * replaces the row of a domain whose lookups failed in an earlier run (`replaced: true`); its
   * line in the output is then outdated (see `outdatedExports`).
   */
  saveMany(
    audits: readonly { readonly audit: DomainAudit; readonly retry?: boolean }[],
    run: number,
  ): { seq: number; audit: DomainAudit; replaced: boolean }[] {
    return this.db.transaction(() =>
      audits.flatMap(({ audit, retry }) => {
        const saved = retry === true ? this.replaceFailed(audit, run) : this.save(audit, run);
        return saved === undefined ? [] : [{ seq: saved.seq, audit, replaced: retry === true }];
      }),
    )();
  }

  /** Marks rows as written to the output, in one transaction. */
  markExportedMany(seqs: readonly number[]): void {
    this.db.transaction(() => {
      for (const seq of seqs) this.exported.run(seq);
    })();
  }

  /** Stores a result; undefined when the domain was already there. */
  save(audit: DomainAudit, run: number): { seq: number; row: SurveyRow } | undefined {
    const row = surveyRow(audit);
    const inserted = this.insert.get(row.domain, ...columnValues(row), JSON.stringify(audit), run) as
      { seq: number } | undefined;
    return inserted === undefined ? undefined : { seq: inserted.seq, row };
  }

  /**
   * Replaces the row of a domain whose lookups failed in a run before `run`, in place; undefined
   * when there is no such row (the domain was checked, or already retried by this run).
   */
  replaceFailed(audit: DomainAudit, run: number): { seq: number; row: SurveyRow } | undefined {
    const row = surveyRow(audit);
    const replaced = this.replace.get(...columnValues(row), JSON.stringify(audit), run, row.domain, run) as
      { seq: number } | undefined;
    return replaced === undefined ? undefined : { seq: replaced.seq, row };
  }

  /** Rows replaced by a retry: their line in the output (if written) is outdated, so the output is rewritten. */
  outdatedExports(): number {
    return (
      this.db.prepare(`SELECT COUNT(*) AS n FROM scan_results WHERE exported = ${EXPORT_OUTDATED}`).get() as {
        n: number;
      }
    ).n;
  }

  /** Every stored audit in scan order (the order of the output), read a row at a time. */
  *audits(): Generator<DomainAudit> {
    const rows = this.db.prepare('SELECT audit_json FROM scan_results ORDER BY seq').iterate() as Iterable<{
      audit_json: string;
    }>;
    for (const row of rows) yield JSON.parse(row.audit_json) as DomainAudit;
  }

  /** After the output was rewritten from `audits()`: every row is in it, as stored. */
  markAllExported(): void {
    this.db.prepare(`UPDATE scan_results SET exported = ${EXPORTED} WHERE exported <> ${EXPORTED}`).run();
  }

  problem(problem: ScanProblem): void {
    this.db
      .prepare('INSERT INTO scan_problems (line, text, reason) VALUES (?, ?, ?)')
      .run(problem.line, problem.text.slice(0, 300), problem.reason);
  }

  markExported(seq: number): void {
    this.exported.run(seq);
  }

  /** Rows saved but not yet confirmed in the output (at most the scan's concurrency after a crash). */
  unexported(): { seq: number; domain: string; audit: DomainAudit }[] {
    return (
      this.db
        .prepare(`SELECT seq, domain, audit_json FROM scan_results WHERE exported = ${NOT_EXPORTED} ORDER BY seq`)
        .all() as {
        seq: number;
        domain: string;
        audit_json: string;
      }[]
    ).map((r) => ({ seq: r.seq, domain: r.domain, audit: JSON.parse(r.audit_json) as DomainAudit }));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM scan_results').get() as { n: number }).n;
  }

  countWithStatus(status: AuditStatus): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM scan_results WHERE status = ?').get(status) as { n: number }).n;
  }

  /** The counts surveyStatistics needs: over the domains audited (status ok), the others apart. */
  counts(): SurveyCounts {
    const one = (where: string) =>
      (this.db.prepare(`SELECT COUNT(*) AS n FROM scan_results WHERE ${where}`).get() as { n: number }).n;
    const ok = (where: string) => one(`status = 'ok' AND ${where}`);
    const grouped = (column: string) =>
      Object.fromEntries(
        (
          this.db
            .prepare(`SELECT ${column} AS k, COUNT(*) AS n FROM scan_results WHERE status = 'ok' GROUP BY ${column}`)
            .all() as { k: string; n: number }[]
        ).map((r) => [r.k, r.n]),
      );
    return {
      domains: one(`status = 'ok'`),
      nxdomain: one(`status = 'nxdomain'`),
      dnsFailed: one(`status = 'dns-failed'`),
      withSpf: ok('has_spf = 1'),
      validSpf: ok('spf_valid = 1'),
      spfAll: grouped('spf_all'),
      dmarc: grouped('dmarc_policy'),
      withRua: ok('has_rua = 1'),
      dkim: ok('dkim = 1'),
      mtaSts: ok('mta_sts = 1'),
      tlsRpt: ok('tls_rpt = 1'),
      dnssec: ok('dnssec = 1'),
      nullMx: ok('null_mx = 1'),
      grades: grouped('grade'),
    };
  }

  /** Records a run of the scan: when, over which list, with which settings; returns its number (from 1). */
  run(run: ScanRun): number {
    const inserted = this.db
      .prepare('INSERT INTO scan_runs (started_at, list, settings_json) VALUES (?, ?, ?)')
      .run(run.startedAt, run.list, JSON.stringify(run.settings));
    return Number(inserted.lastInsertRowid);
  }

  runs(): ScanRun[] {
    return (
      this.db.prepare('SELECT started_at, list, settings_json FROM scan_runs ORDER BY rowid').all() as {
        started_at: string;
        list: string;
        settings_json: string;
      }[]
    ).map((r) => ({
      startedAt: r.started_at,
      list: r.list,
      settings: JSON.parse(r.settings_json) as Record<string, string | number>,
    }));
  }

  /** The first `limit` domains in the order they were scanned, for the report's table. */
  tableRows(limit: number): ScanTableRow[] {
    const rows = this.db
      .prepare(
        `SELECT domain, status, grade, spf_all, spf_valid, dmarc_policy, has_rua, dkim, mta_sts, tls_rpt, dnssec, null_mx,
           errors, warnings FROM scan_results ORDER BY seq LIMIT ?`,
      )
      .all(limit) as Record<string, string | number>[];
    return rows.map((r) => ({
      domain: String(r['domain']),
      status: String(r['status']),
      grade: String(r['grade']),
      spfAll: String(r['spf_all']),
      spfValid: r['spf_valid'] === 1,
      dmarcPolicy: String(r['dmarc_policy']),
      hasRua: r['has_rua'] === 1,
      dkim: r['dkim'] === 1,
      mtaSts: r['mta_sts'] === 1,
      tlsRpt: r['tls_rpt'] === 1,
      dnssec: r['dnssec'] === 1,
      nullMx: r['null_mx'] === 1,
      errors: Number(r['errors']),
      warnings: Number(r['warnings']),
    }));
  }

  problems(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM scan_problems').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
