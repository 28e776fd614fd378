/**
 * The results file of `mailward scan`: one SQLite file holding a row per scanned domain (the
 * survey columns and the findings), so an interrupted scan resumes where it stopped, and the
 * report is computed with SQL however many domains there are. `exported` tracks which rows have
 * reached the NDJSON/CSV output, so a crash between the two never loses or repeats a line.
 */
import Database from 'better-sqlite3';
import type { DomainAudit, SurveyCounts, SurveyRow } from '@mailward/core';
import { surveyRow } from '@mailward/core';

export interface ScanProblem {
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

export class ScanResults {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly lookup: Database.Statement;
  private readonly exported: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path);
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
`);
    this.insert = this.db.prepare(
      `INSERT INTO scan_results (domain, grade, has_spf, spf_valid, spf_all, dmarc_policy, has_rua, dkim, mta_sts, tls_rpt,
         dnssec, null_mx, errors, warnings, audit_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (domain) DO NOTHING RETURNING seq`,
    );
    this.lookup = this.db.prepare('SELECT 1 FROM scan_results WHERE domain = ?');
    this.exported = this.db.prepare('UPDATE scan_results SET exported = 1 WHERE seq = ?');
  }

  has(domain: string): boolean {
    return this.lookup.get(domain) !== undefined;
  }

  /**
   * Stores several results in one transaction (one commit instead of one per domain); returns
   * those stored, in order, leaving out domains that were already there.
   */
  saveMany(audits: readonly DomainAudit[]): { seq: number; audit: DomainAudit }[] {
    return this.db.transaction(() =>
      audits.flatMap((audit) => {
        const saved = this.save(audit);
        return saved === undefined ? [] : [{ seq: saved.seq, audit }];
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
  save(audit: DomainAudit): { seq: number; row: SurveyRow } | undefined {
    const row = surveyRow(audit);
    const b = (v: boolean) => (v ? 1 : 0);
    const inserted = this.insert.get(
      row.domain,
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
      JSON.stringify(audit),
    ) as { seq: number } | undefined;
    return inserted === undefined ? undefined : { seq: inserted.seq, row };
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
      this.db.prepare('SELECT seq, domain, audit_json FROM scan_results WHERE exported = 0 ORDER BY seq').all() as {
        seq: number;
        domain: string;
        audit_json: string;
      }[]
    ).map((r) => ({ seq: r.seq, domain: r.domain, audit: JSON.parse(r.audit_json) as DomainAudit }));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM scan_results').get() as { n: number }).n;
  }

  /** The counts surveyStatistics needs. */
  counts(): SurveyCounts {
    const one = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    const grouped = (column: string) =>
      Object.fromEntries(
        (
          this.db.prepare(`SELECT ${column} AS k, COUNT(*) AS n FROM scan_results GROUP BY ${column}`).all() as {
            k: string;
            n: number;
          }[]
        ).map((r) => [r.k, r.n]),
      );
    return {
      domains: one('SELECT COUNT(*) AS n FROM scan_results'),
      withSpf: one('SELECT COUNT(*) AS n FROM scan_results WHERE has_spf = 1'),
      validSpf: one('SELECT COUNT(*) AS n FROM scan_results WHERE spf_valid = 1'),
      spfAll: grouped('spf_all'),
      dmarc: grouped('dmarc_policy'),
      withRua: one('SELECT COUNT(*) AS n FROM scan_results WHERE has_rua = 1'),
      dkim: one('SELECT COUNT(*) AS n FROM scan_results WHERE dkim = 1'),
      mtaSts: one('SELECT COUNT(*) AS n FROM scan_results WHERE mta_sts = 1'),
      tlsRpt: one('SELECT COUNT(*) AS n FROM scan_results WHERE tls_rpt = 1'),
      dnssec: one('SELECT COUNT(*) AS n FROM scan_results WHERE dnssec = 1'),
      nullMx: one('SELECT COUNT(*) AS n FROM scan_results WHERE null_mx = 1'),
      grades: grouped('grade'),
    };
  }

  problems(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM scan_problems').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
