/**
 * Report → table rows, shared by the SQLite and PostgreSQL stores so both store exactly the same
 * values under the same natural keys. Column order follows the INSERT statements of the stores.
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type {
  AggregateRecord,
  AggregateReport,
  DayRow,
  DisagreementRow,
  DkimAuthResult,
  FailureReport,
  IpEnrichment,
  ListFilter,
  PolicyOverrideReason,
  PolicyPublished,
  SourceEnrichment,
  SourceRow,
  SpfAuthResult,
  StoredAggregateRow,
  SummaryFilter,
  TlsReport,
  Totals,
  VerdictCounts,
} from '@mailward/reports';
import { dayCounts, isLongRange, isoDay, reportedDomainOf } from '@mailward/reports';

export const AGGREGATE_REPORT_COLUMNS = [
  'reporter',
  'reporter_key',
  'reporter_email',
  'report_id',
  'policy_domain',
  'begin_time',
  'end_time',
  'long_range',
  'schema',
  'policy_json',
  'generator',
  'errors_json',
  'warnings_json',
  'source',
  'received_at',
] as const;

export function aggregateReportRow(
  report: Omit<AggregateReport, 'records'>,
  source: string,
  receivedAt: number,
): unknown[] {
  const { metadata: m, policy } = report;
  return [
    m.orgName,
    m.orgName.toLowerCase(),
    m.email,
    m.reportId,
    policy.domain,
    m.begin,
    m.end,
    isLongRange(m.begin, m.end),
    report.schema,
    JSON.stringify(policy),
    m.generator ?? null,
    JSON.stringify(m.errors),
    JSON.stringify(report.warnings),
    source,
    receivedAt,
  ];
}

export const AGGREGATE_RECORD_COLUMNS = [
  'source_ip',
  'count',
  'disposition',
  'reporter_dkim',
  'reporter_spf',
  'header_from',
  'envelope_from',
  'envelope_to',
  'dkim_aligned',
  'spf_aligned',
  'dmarc_pass',
  'dkim_domain',
  'reasons_json',
  'dkim_json',
  'spf_json',
] as const;

/** One row per record (without the report id, which the store prepends). */
export function aggregateRecordRows(records: readonly AggregateRecord[]): unknown[][] {
  return records.map((r) => [
    r.sourceIp,
    r.count,
    r.disposition,
    r.policyDkim,
    r.policySpf,
    r.headerFrom,
    r.envelopeFrom ?? null,
    r.envelopeTo ?? null,
    r.alignment.dkim,
    r.alignment.spf,
    r.alignment.dmarc,
    r.dkim.find((d) => d.result === 'pass')?.domain ?? null,
    r.reasons.length === 0 ? '[]' : JSON.stringify(r.reasons),
    JSON.stringify(r.dkim),
    JSON.stringify(r.spf),
  ]);
}

/** Messages of some records by verdict: the reporter's and the recomputed one. */
export function verdictCounts(records: readonly AggregateRecord[]): MutableVerdictCounts {
  const counts = emptyVerdictCounts();
  addVerdictCounts(counts, records);
  return counts;
}

type MutableVerdictCounts = { -readonly [K in keyof VerdictCounts]: number };

export function emptyVerdictCounts(): MutableVerdictCounts {
  return { bothPass: 0, reporterOnly: 0, recomputedOnly: 0, neither: 0 };
}

export function addVerdictCounts(counts: MutableVerdictCounts, records: readonly AggregateRecord[]): void {
  for (const r of records) {
    const reporter = r.policyDkim === 'pass' || r.policySpf === 'pass';
    if (reporter && r.alignment.dmarc) counts.bothPass += r.count;
    else if (reporter) counts.reporterOnly += r.count;
    else if (r.alignment.dmarc) counts.recomputedOnly += r.count;
    else counts.neither += r.count;
  }
}

export const AGGREGATE_DAY_COLUMNS = ['policy_domain', 'day', 'messages', 'dmarc_pass', 'recomputed_pass'] as const;

/** Per-day rows in whole messages: [policy domain, day, messages, reporter pass, recomputed pass]. */
export function aggregateDayRows(
  report: {
    readonly metadata: { readonly begin: number; readonly end: number };
    readonly policy: { readonly domain: string };
  },
  counts: VerdictCounts,
): [string, number, number, number, number][] {
  // Days that got no whole message are left out: a chart shows a gap there, not a zero.
  return dayCounts(report.metadata.begin, report.metadata.end, counts)
    .filter((d) => d.messages > 0)
    .map((d) => [report.policy.domain, d.day, d.messages, d.dmarcPass, d.recomputedPass]);
}

/**
 * The reports filter, shared: `$DOMAIN`, `$SINCE` and `$UNTIL` are replaced by each store's
 * parameter syntax (NULL when not filtered).
 */
/**
 * A report is in the range when its own range overlaps it. Its end is compared strictly: many
 * reporters end a day at the next midnight (00:00:00), which belongs to the next day.
 */
export const REPORT_WHERE =
  '($DOMAIN IS NULL OR r.policy_domain = $DOMAIN) AND ($SINCE IS NULL OR r.end_time > $SINCE) AND ($UNTIL IS NULL OR r.begin_time < $UNTIL)';

/** The reporter's verdict (policy_evaluated) of a record row x, as SQL. */
export const REPORTER_PASS = "(x.reporter_dkim = 'pass' OR x.reporter_spf = 'pass')";

/** Per-report verdict counts, for rebuilding the day rows (migration). */
export const REPORT_VERDICT_COUNTS_SELECT = `SELECT r.id, r.policy_domain, r.begin_time, r.end_time,
  COALESCE(SUM(CASE WHEN ${REPORTER_PASS} AND x.dmarc_pass THEN x.count ELSE 0 END), 0) AS both_pass,
  COALESCE(SUM(CASE WHEN ${REPORTER_PASS} AND NOT x.dmarc_pass THEN x.count ELSE 0 END), 0) AS reporter_only,
  COALESCE(SUM(CASE WHEN NOT ${REPORTER_PASS} AND x.dmarc_pass THEN x.count ELSE 0 END), 0) AS recomputed_only,
  COALESCE(SUM(CASE WHEN NOT ${REPORTER_PASS} AND NOT x.dmarc_pass THEN x.count ELSE 0 END), 0) AS neither
FROM aggregate_reports r LEFT JOIN aggregate_records x ON x.report = r.id
GROUP BY r.id, r.policy_domain, r.begin_time, r.end_time`;

export function reportVerdictCounts(row: Record<string, unknown>): {
  id: number;
  report: { metadata: { begin: number; end: number }; policy: { domain: string } };
  counts: VerdictCounts;
} {
  return {
    id: Number(row['id']),
    report: {
      metadata: { begin: Number(row['begin_time']), end: Number(row['end_time']) },
      policy: { domain: String(row['policy_domain']) },
    },
    counts: {
      bothPass: Number(row['both_pass']),
      reporterOnly: Number(row['reporter_only']),
      recomputedOnly: Number(row['recomputed_only']),
      neither: Number(row['neither']),
    },
  };
}

/** Totals of the filtered records: reporters' verdicts and recomputed ones. */
export const TOTALS_SELECT = `SELECT COALESCE(SUM(x.count), 0) AS messages,
  COALESCE(SUM(CASE WHEN ${REPORTER_PASS} THEN x.count ELSE 0 END), 0) AS pass,
  COALESCE(SUM(CASE WHEN x.reporter_dkim = 'pass' THEN x.count ELSE 0 END), 0) AS dkim,
  COALESCE(SUM(CASE WHEN x.reporter_spf = 'pass' THEN x.count ELSE 0 END), 0) AS spf,
  COALESCE(SUM(CASE WHEN x.dmarc_pass THEN x.count ELSE 0 END), 0) AS recomputed_pass,
  COALESCE(SUM(CASE WHEN x.dkim_aligned THEN x.count ELSE 0 END), 0) AS recomputed_dkim,
  COALESCE(SUM(CASE WHEN x.spf_aligned THEN x.count ELSE 0 END), 0) AS recomputed_spf
FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report WHERE ${REPORT_WHERE}`;

export const REPORTS_COUNT_SELECT = `SELECT COUNT(*) AS n, COUNT(DISTINCT r.reporter_key) AS reporters,
  COUNT(DISTINCT r.policy_domain) AS domains
FROM aggregate_reports r WHERE ${REPORT_WHERE}`;

export const POLICY_DOMAINS_SELECT = `SELECT policy_domain AS domain, COUNT(*) AS n FROM aggregate_reports
GROUP BY policy_domain ORDER BY n DESC, policy_domain LIMIT $LIMIT`;

/** Failure reports, TLS reports and quarantined items counted under the same filter. */
export const FAILURE_WHERE =
  '($DOMAIN IS NULL OR f.reported_domain = $DOMAIN) AND ($SINCE IS NULL OR COALESCE(f.arrival_date, f.received_at) >= $SINCE) AND ($UNTIL IS NULL OR COALESCE(f.arrival_date, f.received_at) < $UNTIL)';
export const TLS_WHERE = `($DOMAIN IS NULL OR $DOMAIN_IN_LIST) AND ($SINCE IS NULL OR t.end_time > $SINCE) AND ($UNTIL IS NULL OR t.begin_time < $UNTIL)`;
export const QUARANTINE_WHERE =
  '($DOMAIN IS NULL OR q.domain = $DOMAIN) AND ($SINCE IS NULL OR q.received_at >= $SINCE) AND ($UNTIL IS NULL OR q.received_at < $UNTIL)';

export function totalsOf(
  counts: Record<string, unknown>,
  sums: Record<string, unknown>,
  others: { failureReports: unknown; tlsReports: unknown; quarantined: unknown },
): Totals {
  const messages = Number(sums['messages']);
  const pass = Number(sums['pass']);
  const recomputedPass = Number(sums['recomputed_pass']);
  return {
    reports: Number(counts['n']),
    reporters: Number(counts['reporters']),
    domains: Number(counts['domains']),
    messages,
    dmarcPass: pass,
    dmarcFail: messages - pass,
    dkimAligned: Number(sums['dkim']),
    spfAligned: Number(sums['spf']),
    recomputed: {
      dmarcPass: recomputedPass,
      dmarcFail: messages - recomputedPass,
      dkimAligned: Number(sums['recomputed_dkim']),
      spfAligned: Number(sums['recomputed_spf']),
    },
    failureReports: Number(others.failureReports),
    tlsReports: Number(others.tlsReports),
    quarantined: Number(others.quarantined),
  };
}

export const DAYS_SELECT = `SELECT d.day AS day, SUM(d.messages) AS messages, SUM(d.dmarc_pass) AS dmarc_pass,
  SUM(d.recomputed_pass) AS recomputed_pass
FROM aggregate_days d JOIN aggregate_reports r ON r.id = d.report
WHERE ${REPORT_WHERE} AND ($SINCE IS NULL OR d.day * 86400 + 86400 > $SINCE) AND ($UNTIL IS NULL OR d.day * 86400 < $UNTIL)
GROUP BY d.day ORDER BY d.day`;

export function dayRow(row: Record<string, unknown>): DayRow {
  return {
    day: isoDay(Number(row['day'])),
    messages: Math.round(Number(row['messages'])),
    dmarcPass: Math.round(Number(row['dmarc_pass'])),
    recomputedPass: Math.round(Number(row['recomputed_pass'])),
  };
}

/**
 * Records whose two verdicts differ, grouped by what decides the explanation (addresses, results,
 * the policy's alignment modes), most messages first.
 */
export const DISAGREEMENTS_SELECT = `SELECT x.source_ip, x.header_from, r.reporter_key AS reporter, x.reporter_dkim,
  x.reporter_spf, x.dkim_json, x.spf_json, r.policy_json, SUM(x.count) AS messages
FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report
WHERE ${REPORT_WHERE} AND (CASE WHEN ${REPORTER_PASS} THEN 1 ELSE 0 END) <> (CASE WHEN x.dmarc_pass THEN 1 ELSE 0 END)
GROUP BY x.source_ip, x.header_from, r.reporter_key, x.reporter_dkim, x.reporter_spf, x.dkim_json, x.spf_json, r.policy_json
ORDER BY messages DESC, x.source_ip
LIMIT $LIMIT`;

export function disagreementRow(row: Record<string, unknown>): DisagreementRow {
  const policy = JSON.parse(String(row['policy_json'])) as PolicyPublished;
  return {
    sourceIp: String(row['source_ip']),
    headerFrom: String(row['header_from']),
    reporter: String(row['reporter']),
    reporterDkim: String(row['reporter_dkim']),
    reporterSpf: String(row['reporter_spf']),
    policy: {
      ...(policy.adkim !== undefined && { adkim: policy.adkim }),
      ...(policy.aspf !== undefined && { aspf: policy.aspf }),
    },
    dkim: JSON.parse(String(row['dkim_json'])) as DkimAuthResult[],
    spf: JSON.parse(String(row['spf_json'])) as SpfAuthResult[],
    messages: Number(row['messages']),
  };
}

export const FAILURE_COLUMNS = [
  'reporter',
  'report_key',
  'format',
  'arrival_date',
  'source_ip',
  'auth_failure',
  'identity_alignment',
  'delivery_result',
  'original_mail_from',
  'original_rcpt_to',
  'reported_domain',
  'header_from',
  'subject',
  'report_json',
  'source',
  'received_at',
] as const;

export function failureRow(report: FailureReport, source: string, receivedAt: number): unknown[] {
  return [
    report.reporter,
    `${report.reporter.toLowerCase()} ${report.reportId}`,
    report.format,
    report.arrivalDate ?? null,
    report.sourceIp ?? null,
    report.authFailure ?? null,
    report.identityAlignment ?? null,
    report.deliveryResult ?? null,
    report.originalMailFrom ?? null,
    report.originalRcptTo ?? null,
    report.reportedDomain?.toLowerCase() ?? null,
    report.headerFrom ?? null,
    report.subject ?? null,
    JSON.stringify(report),
    source,
    receivedAt,
  ];
}

export const TLS_COLUMNS = [
  'organization_name',
  'report_id',
  'begin_time',
  'end_time',
  'policy_domains',
  'successful_sessions',
  'failed_sessions',
  'report_json',
  'source',
  'received_at',
] as const;

export function tlsRow(report: TlsReport, source: string, receivedAt: number): unknown[] {
  // Space-delimited on both sides, so a domain filter is one substring test in either database.
  const domains = ` ${[...new Set(report.policies.map((p) => p.policyDomain.toLowerCase()))].join(' ')} `;
  return [
    report.organizationName,
    report.reportId,
    report.begin,
    report.end,
    domains,
    report.policies.reduce((sum, p) => sum + p.totalSuccessfulSessionCount, 0),
    report.policies.reduce((sum, p) => sum + p.totalFailureSessionCount, 0),
    JSON.stringify(report),
    source,
    receivedAt,
  ];
}

export const QUARANTINE_COLUMNS = ['sha256', 'source', 'reason', 'bytes', 'received_at', 'domain'] as const;

export function quarantineRow(reason: string, bytes: Uint8Array, source: string, receivedAt: number): unknown[] {
  return [
    createHash('sha256').update(bytes).digest('hex'),
    source,
    reason,
    Buffer.from(bytes),
    receivedAt,
    reportedDomainOf(bytes, source) ?? null,
  ];
}

/** The export query's columns, shared: one row per record with its report's key and its source's enrichment. */
export const EXPORT_SELECT = `SELECT r.reporter, r.report_id, r.policy_domain, r.begin_time, r.end_time, x.source_ip, x.count,
  x.disposition, x.header_from, x.envelope_from, x.dkim_aligned, x.spf_aligned, x.dmarc_pass, x.reporter_dkim, x.reporter_spf,
  x.dkim_json, x.spf_json, x.reasons_json,
  i.ptr AS ip_ptr, i.ptr_confirmed AS ip_ptr_confirmed, i.asn AS ip_asn, i.as_name AS ip_as_name, i.country AS ip_country,
  i.service AS ip_service, i.ip AS ip_enriched
  FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report LEFT JOIN ip_info i ON i.ip = x.source_ip`;

/** A row of EXPORT_SELECT as the port's type (SQLite gives 1/0 and numbers, PostgreSQL booleans and BIGINT strings). */
export function storedAggregateRow(row: Record<string, unknown>): StoredAggregateRow {
  const flag = (value: unknown) => value === 1 || value === true;
  return {
    reporter: String(row['reporter']),
    reportId: String(row['report_id']),
    policyDomain: String(row['policy_domain']),
    begin: Number(row['begin_time']),
    end: Number(row['end_time']),
    sourceIp: String(row['source_ip']),
    count: Number(row['count']),
    disposition: String(row['disposition']),
    headerFrom: String(row['header_from']),
    envelopeFrom: row['envelope_from'] === null ? null : String(row['envelope_from']),
    dkimAligned: flag(row['dkim_aligned']),
    spfAligned: flag(row['spf_aligned']),
    dmarcPass: flag(row['dmarc_pass']),
    reporterDkim: String(row['reporter_dkim']),
    reporterSpf: String(row['reporter_spf']),
    dkim: JSON.parse(String(row['dkim_json'])) as DkimAuthResult[],
    spf: JSON.parse(String(row['spf_json'])) as SpfAuthResult[],
    reasons: JSON.parse(String(row['reasons_json'])) as PolicyOverrideReason[],
    ...(row['ip_enriched'] !== null && row['ip_enriched'] !== undefined && { enrichment: enrichmentOf(row) }),
  };
}

function enrichmentOf(row: Record<string, unknown>): SourceEnrichment {
  const text = (key: string) => (row[key] === null || row[key] === undefined ? undefined : String(row[key]));
  const ptr = text('ip_ptr');
  const asn = text('ip_asn');
  const asName = text('ip_as_name');
  const country = text('ip_country');
  const service = text('ip_service');
  return {
    ...(ptr !== undefined && { ptr, ptrConfirmed: row['ip_ptr_confirmed'] === 1 || row['ip_ptr_confirmed'] === true }),
    ...(asn !== undefined && { asn: Number(asn) }),
    ...(asName !== undefined && { asName }),
    ...(country !== undefined && { country }),
    ...(service !== undefined && { service }),
  };
}

/** A filter as parameters (NULL when not filtered). */
export function filterParams(filter: SummaryFilter | ListFilter): {
  domain: string | null;
  since: number | null;
  until: number | null;
} {
  return { domain: filter.domain?.toLowerCase() ?? null, since: filter.since ?? null, until: filter.until ?? null };
}

export const IP_INFO_COLUMNS = [
  'ip',
  'ptr',
  'ptr_confirmed',
  'ptr_domain',
  'asn',
  'as_name',
  'country',
  'service',
  'note',
  'looked_up_at',
] as const;

export function ipInfoRow(e: IpEnrichment, lookedUpAt: number): unknown[] {
  return [
    e.ip,
    e.ptr ?? null,
    e.ptrConfirmed,
    e.ptrDomain ?? null,
    e.asn ?? null,
    e.asName ?? null,
    e.country ?? null,
    e.service ?? null,
    e.note ?? null,
    lookedUpAt,
  ];
}

/**
 * The sources query, shared: messages per source address and From domain with their alignment and
 * dispositions, and the address's enrichment when there is one. `$DOMAIN`, `$SINCE` and `$LIMIT`
 * are replaced by each store's parameter syntax.
 */
export const SOURCES_SELECT = `SELECT x.source_ip, x.header_from, SUM(x.count) AS messages,
  SUM(CASE WHEN ${REPORTER_PASS} THEN x.count ELSE 0 END) AS dmarc_pass,
  SUM(CASE WHEN x.reporter_dkim = 'pass' THEN x.count ELSE 0 END) AS dkim_aligned,
  SUM(CASE WHEN x.reporter_spf = 'pass' THEN x.count ELSE 0 END) AS spf_aligned,
  SUM(CASE WHEN x.dmarc_pass THEN x.count ELSE 0 END) AS recomputed_pass,
  SUM(CASE WHEN x.dkim_aligned THEN x.count ELSE 0 END) AS recomputed_dkim,
  SUM(CASE WHEN x.spf_aligned THEN x.count ELSE 0 END) AS recomputed_spf,
  SUM(CASE WHEN x.disposition = 'quarantine' THEN x.count ELSE 0 END) AS quarantined,
  SUM(CASE WHEN x.disposition = 'reject' THEN x.count ELSE 0 END) AS rejected,
  MAX(x.dkim_domain) AS dkim_domain,
  COUNT(DISTINCT r.reporter_key) AS reporters,
  MAX(i.ptr) AS ptr, MAX(CASE WHEN i.ptr_confirmed THEN 1 ELSE 0 END) AS ptr_confirmed, MAX(i.ptr_domain) AS ptr_domain,
  MAX(i.asn) AS asn, MAX(i.as_name) AS as_name, MAX(i.country) AS country
FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report LEFT JOIN ip_info i ON i.ip = x.source_ip
WHERE ${REPORT_WHERE}
GROUP BY x.source_ip, x.header_from
ORDER BY messages DESC, x.source_ip
LIMIT $LIMIT`;

/** A row of SOURCES_SELECT as the port's type (numbers may come back as strings from PostgreSQL). */
export function sourceRow(row: Record<string, unknown>): SourceRow {
  const text = (key: string) => (row[key] === null || row[key] === undefined ? undefined : String(row[key]));
  const ptr = text('ptr');
  const ptrDomain = text('ptr_domain');
  const asn = text('asn');
  const asName = text('as_name');
  const country = text('country');
  const dkimDomain = text('dkim_domain');
  return {
    sourceIp: String(row['source_ip']),
    headerFrom: String(row['header_from']),
    messages: Number(row['messages']),
    dmarcPass: Number(row['dmarc_pass']),
    dkimAligned: Number(row['dkim_aligned']),
    spfAligned: Number(row['spf_aligned']),
    recomputed: {
      dmarcPass: Number(row['recomputed_pass']),
      dkimAligned: Number(row['recomputed_dkim']),
      spfAligned: Number(row['recomputed_spf']),
    },
    quarantined: Number(row['quarantined']),
    rejected: Number(row['rejected']),
    reporters: Number(row['reporters']),
    ...(dkimDomain !== undefined && { dkimDomain }),
    ...(ptr !== undefined && { ptr, ptrConfirmed: Number(row['ptr_confirmed']) === 1 }),
    ...(ptrDomain !== undefined && { ptrDomain }),
    ...(asn !== undefined && { asn: Number(asn) }),
    ...(asName !== undefined && { asName }),
    ...(country !== undefined && { country }),
  };
}
