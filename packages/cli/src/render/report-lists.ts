/** Text rendering of stored failure reports, TLS reports and quarantined items: pure, values in, lines out. */
import type {
  ListFilter,
  StoredAggregateReport,
  StoredAggregateSummary,
  Page,
  QuarantinedItem,
  QuarantinedSummary,
  StoredFailureReport,
  StoredFailureSummary,
  StoredTlsReport,
  StoredTlsSummary,
} from '@mailward/reports';
import { terminalSafe } from './terminal-safe.js';

const safe = (text: string | undefined): string => (text === undefined || text === '' ? '-' : terminalSafe(text));
const time = (seconds: number | undefined): string =>
  seconds === undefined ? '-' : new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
const day = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10);

/** Columns padded to their widest cell, so the list reads as a table in a terminal. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

function scopeOf(filter: ListFilter): string {
  return [
    filter.domain ?? 'all domains',
    ...(filter.since === undefined ? [] : [`since ${day(filter.since)}`]),
    ...(filter.until === undefined ? [] : [`until ${day(filter.until - 1)}`]),
  ].join(', ');
}

function heading(what: string, shown: number, total: number, args: { filter: ListFilter; page: Page }): string {
  const scope = scopeOf(args.filter);
  const first = (args.page.offset ?? 0) + 1;
  const range = shown === total ? '' : shown === 0 ? ', none shown' : `, ${first}-${first + shown - 1} shown`;
  return `${what} (${scope}): ${total} stored${range}`;
}

function more(shown: number, total: number, page: Page): string[] {
  const next = (page.offset ?? 0) + shown;
  return next < total ? [`  ... ${total - next} more: add --offset ${next}`] : [];
}

export function renderAggregateList(
  items: readonly StoredAggregateSummary[],
  total: number | undefined,
  args: { filter: ListFilter; page: Page; withWarnings?: boolean },
): string {
  const rows = items.map((r) => [
    String(r.id),
    `${day(r.begin)}..${day(Math.max(r.begin, r.end - 1))}`,
    safe(r.reporter),
    safe(r.policyDomain),
    String(r.messages),
    r.messages === 0 ? '-' : `${((r.dmarcPass / r.messages) * 100).toFixed(1)}%`,
    String(r.warnings.length),
  ]);
  const what = args.withWarnings === true ? 'Aggregate reports parsed with warnings' : 'Aggregate reports';
  const lines = [
    total === undefined
      ? `${what} (${scopeOf(args.filter)}): ${items.length} shown`
      : heading(what, items.length, total, args),
  ];
  if (rows.length > 0) lines.push(...table(['ID', 'DAYS', 'REPORTER', 'DOMAIN', 'MESSAGES', 'PASS', 'WARNINGS'], rows));
  if (total !== undefined) lines.push(...more(items.length, total, args.page));
  return `${lines.join('\n')}\n`;
}

export function renderAggregateReport(r: StoredAggregateReport): string {
  const policy = Object.entries(r.policy)
    .filter(([key]) => key !== 'domain')
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
  const lines = [
    `Aggregate report ${r.id} (${safe(r.schema)}), stored ${time(r.receivedAt)} from ${safe(r.source)}`,
    `  Reporter: ${safe(r.reporter)} <${safe(r.reporterEmail)}>`,
    `  Report-ID: ${safe(r.reportId)}`,
    `  Period: ${time(r.begin)} to ${time(r.end)}`,
    `  Policy published for ${safe(r.policyDomain)}: ${safe(policy)}`,
    `  Records: ${r.records}; messages: ${r.messages}; passed by the reporter: ${r.dmarcPass}`,
    ...r.errors.map((e) => `  error (from the reporter): ${safe(e)}`),
    ...r.warnings.map((w) => `  warning: ${safe(w)}`),
  ];
  if (r.rows.length > 0) {
    lines.push('', 'Records:');
    lines.push(
      ...table(
        ['SOURCE IP', 'COUNT', 'DISPOSITION', 'FROM', 'DKIM', 'SPF', 'RECOMPUTED'],
        r.rows.map((x) => [
          safe(x.sourceIp),
          String(x.count),
          safe(x.disposition),
          safe(x.headerFrom),
          safe(x.reporterDkim),
          safe(x.reporterSpf),
          x.dmarcPass ? 'pass' : 'fail',
        ]),
      ),
    );
    if (r.rows.length < r.records) {
      lines.push(`  ... ${r.records - r.rows.length} more records: --json, or reports export, has them all`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderFailureList(
  items: readonly StoredFailureSummary[],
  total: number,
  args: { filter: ListFilter; page: Page },
): string {
  const rows = items.map((f) => [
    String(f.id),
    time(f.arrivalDate ?? f.receivedAt),
    safe(f.reporter),
    safe(f.reportedDomain),
    safe(f.authFailure),
    safe(f.sourceIp),
    safe(f.headerFrom),
  ]);
  const lines = [heading('Failure reports', items.length, total, args)];
  if (rows.length > 0)
    lines.push(...table(['ID', 'ARRIVED', 'REPORTER', 'DOMAIN', 'FAILED', 'SOURCE IP', 'FROM'], rows));
  lines.push(...more(items.length, total, args.page));
  return `${lines.join('\n')}\n`;
}

export function renderFailureReport(stored: StoredFailureReport): string {
  const r = stored.report;
  const field = (name: string, value: string | undefined) => (value === undefined ? [] : [`  ${name}: ${safe(value)}`]);
  const lines = [
    `Failure report ${stored.id} (${r.format === 'arf' ? 'ARF, RFC 6591' : 'not ARF'}), stored ${time(stored.receivedAt)} from ${safe(stored.source)}`,
    ...field('Reporter', r.reporter),
    ...field('Report-ID', r.reportId),
    ...field('Arrival-Date', r.arrivalDate === undefined ? undefined : time(r.arrivalDate)),
    ...field('Source-IP', r.sourceIp),
    ...field('Reported-Domain', r.reportedDomain),
    ...field('Auth-Failure', r.authFailure),
    ...field('Identity-Alignment', r.identityAlignment),
    ...field('Delivery-Result', r.deliveryResult),
    ...field('Original-Mail-From', r.originalMailFrom),
    ...field('Original-Rcpt-To', r.originalRcptTo),
    ...field('DKIM-Domain', r.dkimDomain),
    ...field('DKIM-Selector', r.dkimSelector),
    ...field('Authentication-Results', r.authenticationResults),
    ...field('From', r.headerFrom),
    ...field('Subject', r.subject),
    ...r.warnings.map((w) => `  warning: ${safe(w)}`),
    '',
    'Reported message header:',
    terminalSafe(r.reportedHeaders, true).trimEnd(),
  ];
  if (r.reportedBody !== undefined)
    lines.push('', 'Reported message body:', terminalSafe(r.reportedBody, true).trimEnd());
  return `${lines.join('\n')}\n`;
}

export function renderTlsList(
  items: readonly StoredTlsSummary[],
  total: number,
  args: { filter: ListFilter; page: Page },
): string {
  const rows = items.map((t) => [
    String(t.id),
    `${day(t.begin)}..${day(t.end - 1)}`,
    safe(t.organizationName),
    String(t.successfulSessions),
    String(t.failedSessions),
    safe(t.policyDomains.join(' ')),
  ]);
  const lines = [heading('SMTP TLS reports', items.length, total, args)];
  if (rows.length > 0) lines.push(...table(['ID', 'DAYS', 'REPORTER', 'OK', 'FAILED', 'POLICY DOMAINS'], rows));
  lines.push(...more(items.length, total, args.page));
  return `${lines.join('\n')}\n`;
}

export function renderTlsReport(stored: StoredTlsReport): string {
  const r = stored.report;
  const lines = [
    `SMTP TLS report ${stored.id} (RFC 8460), stored ${time(stored.receivedAt)} from ${safe(stored.source)}`,
    `  Organization: ${safe(r.organizationName)}${r.contactInfo === undefined ? '' : ` <${safe(r.contactInfo)}>`}`,
    `  Report-ID: ${safe(r.reportId)}`,
    `  Period: ${time(r.begin)} to ${time(r.end)}`,
    ...r.warnings.map((w) => `  warning: ${safe(w)}`),
  ];
  for (const p of r.policies) {
    lines.push(
      '',
      `Policy ${safe(p.policyType)} for ${safe(p.policyDomain)}: ${p.totalSuccessfulSessionCount} successful, ${p.totalFailureSessionCount} failed sessions`,
    );
    if (p.mxHosts.length > 0) lines.push(`  MX: ${safe(p.mxHosts.join(', '))}`);
    for (const s of p.policyStrings) lines.push(`  policy: ${safe(s)}`);
    for (const f of p.failureDetails) {
      const where = [
        f.receivingMxHostname === undefined ? undefined : `MX ${safe(f.receivingMxHostname)}`,
        f.receivingIp === undefined ? undefined : `at ${safe(f.receivingIp)}`,
        f.sendingMtaIp === undefined ? undefined : `from ${safe(f.sendingMtaIp)}`,
      ].filter((x) => x !== undefined);
      lines.push(
        `  ${f.failedSessionCount} x ${safe(f.resultType)}${where.length > 0 ? ` (${where.join(' ')})` : ''}${f.failureReasonCode === undefined ? '' : `: ${safe(f.failureReasonCode)}`}`,
      );
      if (f.additionalInformation !== undefined) lines.push(`    ${safe(f.additionalInformation)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderQuarantineList(
  items: readonly QuarantinedSummary[],
  total: number,
  args: { filter: ListFilter; page: Page },
): string {
  const rows = items.map((q) => [
    String(q.id),
    time(q.receivedAt),
    String(q.size),
    safe(q.domain),
    safe(q.source),
    safe(q.reason),
  ]);
  const lines = [heading('Quarantined inputs', items.length, total, args)];
  if (rows.length > 0) lines.push(...table(['ID', 'RECEIVED', 'BYTES', 'DOMAIN', 'SOURCE', 'REASON'], rows));
  lines.push(...more(items.length, total, args.page));
  return `${lines.join('\n')}\n`;
}

export function renderQuarantineItem(item: QuarantinedItem, storeSpec: string): string {
  const lines = [
    `Quarantined item ${item.id}, stored ${time(item.receivedAt)}`,
    `  Source: ${safe(item.source)}`,
    `  Reason: ${safe(item.reason)}`,
    `  Domain: ${safe(item.domain)}`,
    `  Size: ${item.size} bytes; sha256 ${item.sha256}`,
    `  The bytes as they arrived: mailward reports quarantine show ${item.id} --store ${storeSpec} --raw > item-${item.id}`,
  ];
  return `${lines.join('\n')}\n`;
}
