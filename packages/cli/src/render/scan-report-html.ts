/**
 * The HTML page of `mailward scan report`: when and how the scan ran, the statistics with the
 * definition of every share, the grades as a chart, and a table of the domains coloured by grade
 * (sortable and filterable by the static script next to the page; see scan-report-assets.ts).
 * Pure: data in, HTML out; every text from the results file is escaped.
 */
import type { SurveyStatistics } from '@mailward/core';
import type { ScanRun, ScanTableRow } from '@mailward/adapters';
import { SCRIPT_FILE, STYLE_FILE } from './scan-report-assets.js';

export interface ScanReportPage {
  readonly statistics: SurveyStatistics;
  readonly runs: readonly ScanRun[];
  readonly rows: readonly ScanTableRow[];
  /** Domains in the results file (the table may show fewer). */
  readonly total: number;
  readonly generatedAt: string;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
const yes = (value: boolean) => (value ? 'yes' : 'no');

const COLUMNS: readonly { readonly title: string; readonly type: 'text' | 'number' }[] = [
  { title: 'domain', type: 'text' },
  { title: 'status', type: 'text' },
  { title: 'grade', type: 'text' },
  { title: 'SPF all', type: 'text' },
  { title: 'valid SPF', type: 'text' },
  { title: 'DMARC', type: 'text' },
  { title: 'rua', type: 'text' },
  { title: 'DKIM key', type: 'text' },
  { title: 'MTA-STS', type: 'text' },
  { title: 'TLS-RPT', type: 'text' },
  { title: 'DNSSEC', type: 'text' },
  { title: 'null MX', type: 'text' },
  { title: 'errors', type: 'number' },
  { title: 'warnings', type: 'number' },
];

function runsSection(runs: readonly ScanRun[]): string {
  if (runs.length === 0)
    return '<p>The results file does not record when the scan ran (made by an older mailward).</p>';
  const items = runs.map((run) => {
    const settings = Object.entries(run.settings)
      .map(([key, value]) => `${escapeHtml(key)} ${escapeHtml(String(value))}`)
      .join(', ');
    return `<li>${escapeHtml(run.startedAt)}: <code>${escapeHtml(run.list)}</code> (${settings})</li>`;
  });
  return `<ul>\n${items.join('\n')}\n</ul>`;
}

function sharesSection(statistics: SurveyStatistics): string {
  const rows = statistics.shares.map(
    (s) =>
      `<tr><td>${escapeHtml(s.label)}</td><td class="num">${s.count}</td><td class="num">${percent(s.share)}</td></tr>`,
  );
  const definitions = statistics.shares.map(
    (s) => `<dt>${escapeHtml(s.label)}</dt><dd>${escapeHtml(s.definition)}.</dd>`,
  );
  return `<table><thead><tr><th>share of the ${statistics.domains} domains audited</th><th>domains</th><th>share</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<h3>What each share counts</h3>
<p>Every share is a count over the domains audited (status ok) divided by their number. Domains that do not
exist and domains whose DNS lookups failed are left out of every share and of the grades.</p>
<dl class="definitions">
${definitions.join('\n')}
</dl>`;
}

function gradeChart(statistics: SurveyStatistics): string {
  const grades = ['A', 'B', 'C', 'F'];
  const max = Math.max(1, ...grades.map((g) => statistics.grades[g] ?? 0));
  const colours: Record<string, string> = { A: '#5a9e6f', B: '#c9b037', C: '#e08a2c', F: '#c0392b' };
  const bars = grades.map((g, i) => {
    const n = statistics.grades[g] ?? 0;
    const height = Math.round((n / max) * 150);
    return `<rect x="${i * 60 + 10}" y="${170 - height}" width="40" height="${height}" fill="${colours[g]}"/><text x="${i * 60 + 25}" y="188" font-size="13">${g}</text><text x="${i * 60 + 12}" y="${165 - height}" font-size="11">${n}</text>`;
  });
  return `<svg width="260" height="200" role="img" aria-label="domains per grade">${bars.join('\n')}</svg>`;
}

function tableRow(row: ScanTableRow): string {
  const cell = (text: string, value?: string | number, className?: string) =>
    `<td${className === undefined ? '' : ` class="${className}"`}${value === undefined ? '' : ` data-value="${escapeHtml(String(value))}"`}>${escapeHtml(text)}</td>`;
  const graded = row.grade !== '';
  // A domain that does not exist or whose lookups failed has no known facts: shown as a dash.
  const known = row.status === 'ok';
  const fact = (text: string) => (known ? text : '\u2014');
  return `<tr data-status="${escapeHtml(row.status)}" data-grade="${escapeHtml(row.grade)}">${[
    cell(row.domain),
    cell(row.status, undefined, `status-${escapeHtml(row.status)}`),
    cell(
      graded ? row.grade : 'none',
      graded ? row.grade : 'Z',
      graded ? `grade-${escapeHtml(row.grade)}` : `status-${escapeHtml(row.status)}`,
    ),
    cell(fact(row.spfAll === '' ? '' : `${row.spfAll}all`)),
    cell(fact(yes(row.spfValid))),
    cell(fact(row.dmarcPolicy === '' ? 'none applies' : `p=${row.dmarcPolicy}`)),
    cell(fact(yes(row.hasRua))),
    cell(fact(yes(row.dkim))),
    cell(fact(yes(row.mtaSts))),
    cell(fact(yes(row.tlsRpt))),
    cell(fact(yes(row.dnssec))),
    cell(fact(yes(row.nullMx))),
    cell(String(row.errors), row.errors, 'num'),
    cell(String(row.warnings), row.warnings, 'num'),
  ].join('')}</tr>`;
}

function domainTable(page: ScanReportPage): string {
  const head = COLUMNS.map(
    (c, i) => `<th scope="col"><button type="button" data-column="${i}" data-type="${c.type}">${c.title}</button></th>`,
  ).join('');
  const shownNote =
    page.rows.length < page.total
      ? `<p>The table shows the first ${page.rows.length} of the ${page.total} domains, in the order they were scanned (raise the limit with <code>--table-rows</code>; every domain is in the results file and the NDJSON/CSV output).</p>`
      : '';
  return `${shownNote}
<div id="controls" hidden>
<label>Domain contains <input id="filter-text" type="search"></label>
<label>Status <select id="filter-status"><option value="">any</option><option>ok</option><option>nxdomain</option><option>dns-failed</option></select></label>
<label>Grade <select id="filter-grade"><option value="">any</option><option>A</option><option>B</option><option>C</option><option>F</option></select></label>
<span><span id="shown">${page.rows.length}</span> shown; click a column title to sort.</span>
</div>
<div class="table-scroll">
<table id="domains"><thead><tr>${head}</tr></thead>
<tbody>
${page.rows.map(tableRow).join('\n')}
</tbody></table>
</div>`;
}

export function renderScanReport(page: ScanReportPage): string {
  const s = page.statistics;
  const apart = s.nxdomain + s.dnsFailed;
  // Without the viewport line a phone lays the page out 980 px wide and shrinks it; without the
  // empty data: icon the browser asks the server for /favicon.ico, a 404 on most servers.
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>mailward survey of ${s.domains} domains</title>
<link rel="stylesheet" href="${STYLE_FILE}">
<script src="${SCRIPT_FILE}" defer></script></head>
<body><h1>Survey of ${s.domains} domains</h1>
<p>${page.total} domains in the results file: ${s.domains} audited, ${s.nxdomain} do not exist (NXDOMAIN), ${s.dnsFailed} could not be checked (DNS lookups failed).${apart > 0 ? ' The last two are counted apart and left out of every share and grade below.' : ''} Page made ${escapeHtml(page.generatedAt)} by <code>mailward scan report</code>.</p>
<h2>Scan runs</h2>
${runsSection(page.runs)}
<h2>Shares</h2>
${sharesSection(s)}
<h2>Grades</h2>
${gradeChart(s)}
<p>Grade of a domain: its worst area. An area is F with an error, C with two or more warnings, B with one, A otherwise;
optional protections (MTA-STS, TLS-RPT, BIMI, DNSSEC) never below B unless a finding breaks delivery (docs/audit.md).</p>
<h2>Domains</h2>
${domainTable(page)}
</body></html>
`;
}
