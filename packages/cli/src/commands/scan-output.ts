/**
 * The NDJSON or CSV output of `mailward scan`: one line per domain, in scan order. Lines are
 * appended as results are stored; on resume a half-written last line is cut and what a crash left
 * out is completed. When a retry replaced a row whose line was already written, the whole output is
 * rewritten from the results file (to a temporary file, then renamed over it), so each domain
 * keeps one line, at its place, with its latest audit.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import type { DomainAudit } from '@mailward/core';
import { surveyRow } from '@mailward/core';
import type { ScanResults } from '@mailward/adapters';

const CSV_COLUMNS = [
  'domain',
  'status',
  'grade',
  'hasSpf',
  'spfValid',
  'spfAll',
  'dmarcPolicy',
  'hasRua',
  'dkimFound',
  'mtaSts',
  'tlsRpt',
  'dnssec',
  'nullMx',
  'errors',
  'warnings',
] as const;

const CSV_HEADER = `${CSV_COLUMNS.join(',')}\n`;

function outputLine(audit: DomainAudit, csv: boolean): string {
  if (!csv)
    return `${JSON.stringify({ domain: audit.domain, status: audit.status, grade: audit.grade, findings: audit.findings.map(({ code, severity, area, message, fix }) => ({ code, severity, area, message, ...(fix !== undefined && { fix }) })) })}\n`;
  const row = surveyRow(audit);
  return `${CSV_COLUMNS.map((c) => String(row[c])).join(',')}\n`;
}

/** Bytes gathered before one write when the output is rewritten. */
const REWRITE_CHUNK = 1024 * 1024;

/** Appends lines to the output; on resume first cuts a half-written last line and completes what the crash left out. */
export class ScanOutput {
  private fd: number | undefined;
  private readonly csv: boolean;

  constructor(
    private readonly path: string,
    results: ScanResults,
  ) {
    this.csv = path.endsWith('.csv');
    const fresh = !existsSync(path);
    const fd = openSync(path, fresh ? 'w+' : 'r+');
    this.fd = fd;
    const size = fstatSync(fd).size;
    // Keep only complete lines.
    const tailSize = Math.min(size, 4 * 1024 * 1024);
    const tail = Buffer.alloc(tailSize);
    if (tailSize > 0) readSync(fd, tail, 0, tailSize, size - tailSize);
    const lastNewline = tail.lastIndexOf(10);
    const keep = lastNewline < 0 ? (size === tailSize ? 0 : size - tailSize) : size - tailSize + lastNewline + 1;
    if (keep < size) ftruncateSync(fd, keep);
    if (keep === 0 && this.csv) writeSync(fd, CSV_HEADER, 0);
    // Rows stored but maybe not written (the crash came between the two): write those missing.
    const tailText = tail.subarray(0, Math.max(0, lastNewline + 1)).toString('utf8');
    for (const pending of results.unexported()) {
      const present = this.csv
        ? tailText.includes(`\n${pending.domain},`) || tailText.startsWith(`${pending.domain},`)
        : tailText.includes(`{"domain":${JSON.stringify(pending.domain)},`);
      if (!present) this.writeMany([pending.audit]);
      results.markExported(pending.seq);
    }
  }

  /** Appends the lines of several results in one write. */
  writeMany(audits: readonly DomainAudit[]): void {
    if (audits.length === 0 || this.fd === undefined) return;
    const bytes = Buffer.from(audits.map((audit) => outputLine(audit, this.csv)).join(''));
    writeSync(this.fd, bytes, 0, bytes.length, fstatSync(this.fd).size);
  }

  /**
   * Writes the output again from the results file, in scan order, and closes it. The new text goes
   * to a temporary file renamed over the old one, and rows are marked exported only after the
   * rename: a crash at any point leaves the old output whole and the rows still outdated, so the
   * next run rewrites it again.
   */
  rewriteFrom(results: ScanResults): void {
    this.close();
    const temporary = `${this.path}.rewrite`;
    const fd = openSync(temporary, 'w');
    try {
      let pending = this.csv ? CSV_HEADER : '';
      for (const audit of results.audits()) {
        pending += outputLine(audit, this.csv);
        if (pending.length >= REWRITE_CHUNK) {
          writeSync(fd, pending);
          pending = '';
        }
      }
      writeSync(fd, pending);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
    results.markAllExported();
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
