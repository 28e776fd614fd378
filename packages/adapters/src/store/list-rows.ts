/**
 * Failure reports, TLS reports and quarantined items as lists and single items, shared by the
 * SQLite and PostgreSQL stores. Placeholders `$DOMAIN`, `$SINCE`, `$UNTIL`, `$LIMIT`, `$OFFSET`,
 * `$ID`, `$DOMAIN_IN_LIST` and `$LENGTH(...)` are replaced by each store's syntax.
 */
import type {
  FailureReport,
  PolicyPublished,
  StoredAggregateReport,
  StoredAggregateSummary,
  QuarantinedItem,
  QuarantinedSummary,
  StoredFailureReport,
  StoredFailureSummary,
  StoredTlsReport,
  StoredTlsSummary,
  TlsReport,
} from '@mailward/reports';
import {
  EXPORT_SELECT,
  FAILURE_WHERE,
  QUARANTINE_WHERE,
  REPORT_WHERE,
  REPORTER_PASS,
  storedAggregateRow,
  TLS_WHERE,
} from './rows.js';

const AGGREGATE_SUMMARY_COLUMNS = `r.id, r.reporter, r.report_id, r.policy_domain, r.begin_time, r.end_time, r.received_at,
  r.warnings_json, r.errors_json,
  (SELECT COUNT(*) FROM aggregate_records x WHERE x.report = r.id) AS records,
  (SELECT COALESCE(SUM(x.count), 0) FROM aggregate_records x WHERE x.report = r.id) AS messages,
  (SELECT COALESCE(SUM(CASE WHEN ${REPORTER_PASS} THEN x.count ELSE 0 END), 0) FROM aggregate_records x WHERE x.report = r.id) AS pass`;

export const AGGREGATE_LIST_SELECT = `SELECT ${AGGREGATE_SUMMARY_COLUMNS}
FROM aggregate_reports r WHERE ${REPORT_WHERE} AND ($WARNED IS NULL OR r.warnings_json <> '[]')
ORDER BY r.begin_time DESC, r.id DESC LIMIT $LIMIT OFFSET $OFFSET`;

export const AGGREGATE_ONE_SELECT = `SELECT ${AGGREGATE_SUMMARY_COLUMNS}, r.source, r.reporter_email, r.schema, r.policy_json
FROM aggregate_reports r WHERE r.id = $ID`;

export const AGGREGATE_ONE_ROWS_SELECT = `${EXPORT_SELECT} WHERE r.id = $ID ORDER BY x.id LIMIT $LIMIT`;

export const FAILURE_LIST_SELECT = `SELECT f.id, f.reporter, f.format, f.arrival_date, f.received_at, f.source_ip, f.auth_failure,
  f.reported_domain, f.header_from, f.original_mail_from, f.delivery_result
FROM failure_reports f WHERE ${FAILURE_WHERE}
ORDER BY COALESCE(f.arrival_date, f.received_at) DESC, f.id DESC LIMIT $LIMIT OFFSET $OFFSET`;

export const FAILURE_COUNT_SELECT = `SELECT COUNT(*) AS n FROM failure_reports f WHERE ${FAILURE_WHERE}`;

export const FAILURE_ONE_SELECT = 'SELECT id, source, received_at, report_json FROM failure_reports WHERE id = $ID';

export const TLS_LIST_SELECT = `SELECT t.id, t.organization_name, t.report_id, t.begin_time, t.end_time, t.policy_domains,
  t.successful_sessions, t.failed_sessions, t.received_at
FROM tls_reports t WHERE ${TLS_WHERE}
ORDER BY t.begin_time DESC, t.id DESC LIMIT $LIMIT OFFSET $OFFSET`;

export const TLS_COUNT_SELECT = `SELECT COUNT(*) AS n FROM tls_reports t WHERE ${TLS_WHERE}`;

export const TLS_ONE_SELECT = 'SELECT id, source, received_at, report_json FROM tls_reports WHERE id = $ID';

export const QUARANTINE_LIST_SELECT = `SELECT q.id, q.source, q.reason, $LENGTH(q.bytes) AS size, q.received_at, q.domain, q.sha256
FROM quarantine q WHERE ${QUARANTINE_WHERE}
ORDER BY q.id DESC LIMIT $LIMIT OFFSET $OFFSET`;

export const QUARANTINE_COUNT_SELECT = `SELECT COUNT(*) AS n FROM quarantine q WHERE ${QUARANTINE_WHERE}`;

export const QUARANTINE_ONE_SELECT =
  'SELECT id, source, reason, $LENGTH(bytes) AS size, received_at, domain, sha256, bytes FROM quarantine WHERE id = $ID';

const text = (row: Record<string, unknown>, key: string): string | undefined =>
  row[key] === null || row[key] === undefined ? undefined : String(row[key]);

const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, V>);

export function aggregateSummary(row: Record<string, unknown>): StoredAggregateSummary {
  return {
    id: Number(row['id']),
    reporter: String(row['reporter']),
    reportId: String(row['report_id']),
    policyDomain: String(row['policy_domain']),
    begin: Number(row['begin_time']),
    end: Number(row['end_time']),
    records: Number(row['records']),
    messages: Number(row['messages']),
    dmarcPass: Number(row['pass']),
    warnings: JSON.parse(String(row['warnings_json'])) as string[],
    errors: JSON.parse(String(row['errors_json'])) as string[],
    receivedAt: Number(row['received_at']),
  };
}

export function storedAggregateReport(
  row: Record<string, unknown>,
  records: readonly Record<string, unknown>[],
): StoredAggregateReport {
  return {
    ...aggregateSummary(row),
    source: String(row['source']),
    reporterEmail: String(row['reporter_email']),
    schema: String(row['schema']),
    policy: JSON.parse(String(row['policy_json'])) as PolicyPublished,
    rows: records.map(storedAggregateRow),
  };
}

export function failureSummary(row: Record<string, unknown>): StoredFailureSummary {
  const arrival = text(row, 'arrival_date');
  return {
    id: Number(row['id']),
    reporter: String(row['reporter']),
    format: String(row['format']),
    receivedAt: Number(row['received_at']),
    ...optional('arrivalDate', arrival === undefined ? undefined : Number(arrival)),
    ...optional('sourceIp', text(row, 'source_ip')),
    ...optional('authFailure', text(row, 'auth_failure')),
    ...optional('reportedDomain', text(row, 'reported_domain')),
    ...optional('headerFrom', text(row, 'header_from')),
    ...optional('originalMailFrom', text(row, 'original_mail_from')),
    ...optional('deliveryResult', text(row, 'delivery_result')),
  };
}

export function storedFailureReport(row: Record<string, unknown>): StoredFailureReport {
  return {
    id: Number(row['id']),
    source: String(row['source']),
    receivedAt: Number(row['received_at']),
    report: JSON.parse(String(row['report_json'])) as FailureReport,
  };
}

export function tlsSummary(row: Record<string, unknown>): StoredTlsSummary {
  return {
    id: Number(row['id']),
    organizationName: String(row['organization_name']),
    reportId: String(row['report_id']),
    begin: Number(row['begin_time']),
    end: Number(row['end_time']),
    policyDomains: String(row['policy_domains']).trim().split(' ').filter(Boolean),
    successfulSessions: Number(row['successful_sessions']),
    failedSessions: Number(row['failed_sessions']),
    receivedAt: Number(row['received_at']),
  };
}

export function storedTlsReport(row: Record<string, unknown>): StoredTlsReport {
  return {
    id: Number(row['id']),
    source: String(row['source']),
    receivedAt: Number(row['received_at']),
    report: JSON.parse(String(row['report_json'])) as TlsReport,
  };
}

export function quarantinedSummary(row: Record<string, unknown>): QuarantinedSummary {
  return {
    id: Number(row['id']),
    source: String(row['source']),
    reason: String(row['reason']),
    size: Number(row['size']),
    receivedAt: Number(row['received_at']),
    sha256: String(row['sha256']),
    ...optional('domain', text(row, 'domain')),
  };
}

export function quarantinedItem(row: Record<string, unknown>): QuarantinedItem {
  const bytes = row['bytes'] as Uint8Array;
  return { ...quarantinedSummary(row), bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}
