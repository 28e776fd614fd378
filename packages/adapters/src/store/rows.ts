/**
 * Report → table rows, shared by the SQLite and PostgreSQL stores so both store exactly the same
 * values under the same natural keys. Column order follows the INSERT statements of the stores.
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type {
  AggregateRecord,
  AggregateReport,
  FailureReport,
  IpEnrichment,
  SourceRow,
  StoredAggregateRow,
  SummaryFilter,
  TlsReport,
} from '@mailward/reports';
import { dayShares, isLongRange } from '@mailward/reports';

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

/** Messages and DMARC-pass messages of some records. */
export function recordCounts(records: readonly AggregateRecord[]): { messages: number; passing: number } {
  let messages = 0;
  let passing = 0;
  for (const r of records) {
    messages += r.count;
    if (r.alignment.dmarc) passing += r.count;
  }
  return { messages, passing };
}

/** Per-day rows: [policy domain, day, messages, DMARC-pass messages]. */
export function aggregateDayRows(
  report: Pick<AggregateReport, 'metadata' | 'policy'>,
  counts: { messages: number; passing: number },
): [string, number, number, number][] {
  return dayShares(report.metadata.begin, report.metadata.end).map(({ day, share }) => [
    report.policy.domain,
    day,
    counts.messages * share,
    counts.passing * share,
  ]);
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

export const QUARANTINE_COLUMNS = ['sha256', 'source', 'reason', 'bytes', 'received_at'] as const;

export function quarantineRow(reason: string, bytes: Uint8Array, source: string, receivedAt: number): unknown[] {
  return [createHash('sha256').update(bytes).digest('hex'), source, reason, Buffer.from(bytes), receivedAt];
}

/** The export query's columns, shared: one row per record with its report's key. */
export const EXPORT_SELECT = `SELECT r.reporter, r.report_id, r.policy_domain, r.begin_time, r.end_time, x.source_ip, x.count,
  x.disposition, x.header_from, x.envelope_from, x.dkim_aligned, x.spf_aligned, x.dmarc_pass, x.reporter_dkim, x.reporter_spf
  FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report`;

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
  };
}

/** The summary filter as named parameters: @domain and @since (NULL when not filtered). */
export function filterParams(filter: SummaryFilter): { domain: string | null; since: number | null } {
  return { domain: filter.domain?.toLowerCase() ?? null, since: filter.since ?? null };
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
  SUM(CASE WHEN x.dmarc_pass THEN x.count ELSE 0 END) AS dmarc_pass,
  SUM(CASE WHEN x.dkim_aligned THEN x.count ELSE 0 END) AS dkim_aligned,
  SUM(CASE WHEN x.spf_aligned THEN x.count ELSE 0 END) AS spf_aligned,
  SUM(CASE WHEN x.disposition = 'quarantine' THEN x.count ELSE 0 END) AS quarantined,
  SUM(CASE WHEN x.disposition = 'reject' THEN x.count ELSE 0 END) AS rejected,
  MAX(x.dkim_domain) AS dkim_domain,
  COUNT(DISTINCT r.reporter_key) AS reporters,
  MAX(i.ptr) AS ptr, MAX(CASE WHEN i.ptr_confirmed THEN 1 ELSE 0 END) AS ptr_confirmed, MAX(i.ptr_domain) AS ptr_domain,
  MAX(i.asn) AS asn, MAX(i.as_name) AS as_name, MAX(i.country) AS country
FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report LEFT JOIN ip_info i ON i.ip = x.source_ip
WHERE ($DOMAIN IS NULL OR r.policy_domain = $DOMAIN) AND ($SINCE IS NULL OR r.end_time >= $SINCE)
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
