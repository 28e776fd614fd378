/**
 * `mailward scan FILE`: audits a list of domains for a survey. The list is read as a stream; at
 * most `concurrency` domains are audited at once, each within a time budget; every result goes to
 * the SQLite results file first and then to the NDJSON or CSV output, so an interrupted scan
 * resumes where it stopped with no domain lost or repeated, in memory that does not grow with the
 * list. Bad lines (garbage, names too long) are reported with their line number and skipped.
 * `mailward scan report DB` prints the survey statistics and writes an HTML page with charts.
 */
import {
  createReadStream,
  existsSync,
  openSync,
  closeSync,
  ftruncateSync,
  fstatSync,
  readSync,
  writeSync,
} from 'node:fs';
import { createInterface } from 'node:readline';
import { domainToASCII } from 'node:url';
import { Buffer } from 'node:buffer';
import type { DomainAudit, MtaStsFetcher, Resolver, SurveyStatistics } from '@mailward/core';
import { BudgetResolver, CachingResolver, auditDomain, surveyRow, surveyStatistics } from '@mailward/core';
import { ScanResults } from '@mailward/adapters';
import type { CommandResult } from './result.js';
import { runError, usageError } from './result.js';
import { countLines, progressLine } from './scan-progress.js';

export interface ScanArgs {
  readonly list: string;
  readonly db: string;
  readonly out?: string;
  readonly concurrency: number;
  readonly timeBudgetMs: number;
}

export interface ScanDeps {
  readonly resolver: Resolver;
  readonly fetcher?: (timeoutMs: number) => MtaStsFetcher;
  /** Rewrites one status line (a terminal's progress bar); absent when not on a terminal. */
  readonly status?: (text: string) => void;
  readonly now: () => number;
  /** DNS queries sent so far, for the summary (network resolvers only). */
  readonly queriesSent?: () => number;
}

/** A domain from a list line, in A-label form, or why the line is not one. */
export function domainOfLine(line: string): { domain: string } | { reason: string } | undefined {
  const text = line.trim().replace(/\.$/, '');
  if (text === '' || text.startsWith('#')) return undefined;
  if (text.length > 253) return { reason: `${text.length} characters (a name has at most 253)` };
  const ascii = domainToASCII(text.toLowerCase());
  if (ascii === '' || !/^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})+$/.test(ascii) || ascii.length > 253) {
    return { reason: 'not a domain name' };
  }
  return { domain: ascii };
}

const CSV_COLUMNS = [
  'domain',
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

function outputLine(audit: DomainAudit, csv: boolean): string {
  if (!csv)
    return `${JSON.stringify({ domain: audit.domain, grade: audit.grade, findings: audit.findings.map(({ code, severity, area, message, fix }) => ({ code, severity, area, message, ...(fix !== undefined && { fix }) })) })}\n`;
  const row = surveyRow(audit);
  return `${CSV_COLUMNS.map((c) => String(row[c])).join(',')}\n`;
}

/** Appends lines to the output; on resume first cuts a half-written last line and completes what the crash left out. */
class Output {
  private readonly fd: number;

  constructor(
    path: string,
    private readonly csv: boolean,
    results: ScanResults,
  ) {
    const fresh = !existsSync(path);
    this.fd = openSync(path, fresh ? 'w+' : 'r+');
    const size = fstatSync(this.fd).size;
    // Keep only complete lines.
    const tailSize = Math.min(size, 4 * 1024 * 1024);
    const tail = Buffer.alloc(tailSize);
    if (tailSize > 0) readSync(this.fd, tail, 0, tailSize, size - tailSize);
    const lastNewline = tail.lastIndexOf(10);
    const keep = lastNewline < 0 ? (size === tailSize ? 0 : size - tailSize) : size - tailSize + lastNewline + 1;
    if (keep < size) ftruncateSync(this.fd, keep);
    if (keep === 0 && csv) writeSync(this.fd, `${CSV_COLUMNS.join(',')}\n`, 0);
    // Rows stored but maybe not written (the crash came between the two): write those missing.
    const tailText = tail.subarray(0, Math.max(0, lastNewline + 1)).toString('utf8');
    for (const pending of results.unexported()) {
      const present = csv
        ? tailText.includes(`\n${pending.domain},`) || tailText.startsWith(`${pending.domain},`)
        : tailText.includes(`{"domain":${JSON.stringify(pending.domain)},`);
      if (!present) this.write(pending.audit);
      results.markExported(pending.seq);
    }
  }

  write(audit: DomainAudit): void {
    this.writeMany([audit]);
  }

  /** Appends the lines of several results in one write. */
  writeMany(audits: readonly DomainAudit[]): void {
    if (audits.length === 0) return;
    const bytes = Buffer.from(audits.map((audit) => outputLine(audit, this.csv)).join(''));
    writeSync(this.fd, bytes, 0, bytes.length, fstatSync(this.fd).size);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Results stored and written together. */
const PERSIST_BATCH = 100;

export async function scanCommand(args: ScanArgs, deps: ScanDeps): Promise<CommandResult> {
  if (!existsSync(args.list)) return usageError('scan', `${args.list}: no such file`);
  let results: ScanResults;
  try {
    results = new ScanResults(args.db);
  } catch (error) {
    return runError('scan', `cannot open ${args.db}: ${(error as Error).message}`);
  }
  const output = args.out === undefined ? undefined : new Output(args.out, args.out.endsWith('.csv'), results);
  const started = deps.now();
  const queriesBefore = deps.queriesSent?.() ?? 0;
  let lineNumber = 0;
  let scanned = 0;
  let skipped = 0;
  const problems: string[] = [];
  const inFlight = new Set<Promise<void>>();
  // Results are stored, written and marked in batches: one commit and one write per batch instead
  // of per domain. The order (store, write, mark) keeps a crash from losing or repeating a line; a
  // crash loses at most the unsaved batch, whose domains the next run scans again.
  const finished: DomainAudit[] = [];
  const persist = () => {
    const batch = finished.splice(0);
    if (batch.length === 0) return;
    const saved = results.saveMany(batch);
    output?.writeMany(saved.map((s) => s.audit));
    results.markExportedMany(saved.map((s) => s.seq));
    scanned += saved.length;
    skipped += batch.length - saved.length;
  };
  // A slow scan still stores its results within a second.
  const persistTimer = setInterval(persist, 1000).unref();
  const auditOne = async (domain: string) => {
    // The time budget sits under a cache of this domain's own answers (the MX, the DMARC record and
    // the MX host's address are each asked for by several checks), so when the budget runs out the
    // queries the cache shares are aborted too and free their place for other domains. Both are
    // dropped with the domain, so memory stays flat.
    const budget = new BudgetResolver(deps.resolver, { now: deps.now }, { timeBudgetMs: args.timeBudgetMs });
    const cached = new CachingResolver(budget, { now: deps.now });
    try {
      const audit = await auditDomain(domain, {
        resolver: cached,
        dkimStopAtNxdomain: true,
        ...(deps.fetcher !== undefined && { mtaStsFetcher: deps.fetcher(Math.min(10_000, args.timeBudgetMs)) }),
      });
      finished.push(audit);
      if (finished.length >= PERSIST_BATCH) persist();
    } finally {
      budget.dispose();
    }
    showProgress();
  };
  // On a terminal: the list's length first (for the bar and the time left), then a status line at
  // most ten times a second.
  const linesTotal = deps.status === undefined ? 0 : await countLines(args.list);
  let shownAt = 0;
  const showProgress = (force = false, end = '') => {
    if (deps.status === undefined) return;
    const now = deps.now();
    if (!force && now - shownAt < 100) return;
    shownAt = now;
    deps.status(
      progressLine({
        linesDone: lineNumber - inFlight.size,
        linesTotal,
        scanned,
        skipped,
        badLines: problems.length,
        seconds: (now - started) / 1000,
      }) + end,
    );
  };
  const lines = createInterface({ input: createReadStream(args.list), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNumber += 1;
    const parsed = domainOfLine(line);
    if (parsed === undefined) continue;
    if ('reason' in parsed) {
      if (problems.length < 1000)
        problems.push(`line ${lineNumber}: ${parsed.reason}: ${JSON.stringify(line.slice(0, 80))}`);
      results.problem({ line: lineNumber, text: line, reason: parsed.reason });
      continue;
    }
    if (results.has(parsed.domain)) {
      skipped += 1;
      continue;
    }
    const task: Promise<void> = auditOne(parsed.domain).finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= args.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  clearInterval(persistTimer);
  persist();
  // The last status line stays on the screen above the summary.
  showProgress(true, '\n');
  output?.close();
  const total = results.count();
  results.close();
  const seconds = (deps.now() - started) / 1000;
  const summary = [
    `Scanned ${scanned} domain${scanned === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (${(scanned / Math.max(seconds, 0.001)).toFixed(0)}/s); ${skipped} already in ${args.db} or repeated; ${total} in all`,
    ...(deps.queriesSent === undefined || scanned === 0
      ? []
      : [`${((deps.queriesSent() - queriesBefore) / scanned).toFixed(1)} DNS queries per domain scanned`]),
    ...(problems.length === 0
      ? []
      : [
          `${problems.length} line${problems.length === 1 ? '' : 's'} skipped:`,
          ...problems.slice(0, 20).map((p) => `  ${p}`),
        ]),
  ];
  return { exitCode: 0, stdout: `${summary.join('\n')}\n`, stderr: '' };
}

export function scanReportCommand(
  args: { readonly db: string; readonly html: string },
  deps: { readonly writeFile: (path: string, text: string) => void },
): CommandResult {
  if (!existsSync(args.db)) return usageError('scan report', `${args.db}: no such file`);
  const results = new ScanResults(args.db);
  const statistics = surveyStatistics(results.counts());
  results.close();
  deps.writeFile(args.html, renderHtml(statistics));
  const lines = [`Survey of ${statistics.domains} domains`, ''];
  for (const s of statistics.shares)
    lines.push(`  ${s.label.padEnd(34)} ${String(s.count).padStart(8)}  ${(s.share * 100).toFixed(1).padStart(5)}%`);
  lines.push(
    '',
    `Grades: ${['A', 'B', 'C', 'F'].map((g) => `${g} ${statistics.grades[g] ?? 0}`).join(', ')}`,
    `Charts: ${args.html}`,
  );
  return { exitCode: 0, stdout: `${lines.join('\n')}\n`, stderr: '' };
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A self-contained page: an SVG bar per question, no script, nothing fetched. */
function renderHtml(statistics: SurveyStatistics): string {
  const rowHeight = 26;
  const bars = statistics.shares
    .map((s, i) => {
      const y = i * rowHeight;
      const width = Math.round(s.share * 400);
      return `<text x="0" y="${y + 17}" font-size="13">${escapeHtml(s.label)}</text><rect x="260" y="${y + 4}" width="${width}" height="18" fill="#3b6ea5"/><text x="${266 + width}" y="${y + 17}" font-size="12">${(s.share * 100).toFixed(1)}% (${s.count})</text>`;
    })
    .join('\n');
  const grades = ['A', 'B', 'C', 'F'];
  const maxGrade = Math.max(1, ...grades.map((g) => statistics.grades[g] ?? 0));
  const gradeBars = grades
    .map((g, i) => {
      const n = statistics.grades[g] ?? 0;
      const height = Math.round((n / maxGrade) * 150);
      return `<rect x="${i * 60 + 10}" y="${170 - height}" width="40" height="${height}" fill="#5a9e6f"/><text x="${i * 60 + 25}" y="188" font-size="13">${g}</text><text x="${i * 60 + 12}" y="${165 - height}" font-size="11">${n}</text>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mailward survey of ${statistics.domains} domains</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}</style></head>
<body><h1>Survey of ${statistics.domains} domains</h1>
<svg width="760" height="${statistics.shares.length * rowHeight}" role="img" aria-label="shares of domains">${bars}</svg>
<h2>Grades</h2>
<svg width="260" height="200" role="img" aria-label="grades">${gradeBars}</svg>
<p>Made by <code>mailward scan report</code>. Grades: A no warning, B one warning, C several, F an error.</p>
</body></html>
`;
}
