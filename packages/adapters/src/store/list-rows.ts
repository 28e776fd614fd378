/**
 * Failure reports, TLS reports and quarantined items as lists and single items, shared by the
 * SQLite and PostgreSQL stores. Placeholders `$DOMAIN`, `$SINCE`, `$UNTIL`, `$LIMIT`, `$OFFSET`,
 * `$ID`, `$DOMAIN_IN_LIST` and `$LENGTH(...)` are replaced by each store's syntax.
 */
import type {
  FailureReport,
  QuarantinedItem,
  QuarantinedSummary,
  StoredFailureReport,
  StoredFailureSummary,
  StoredTlsReport,
  StoredTlsSummary,
  TlsReport,
} from '@mailward/reports';
import { FAILURE_WHERE, QUARANTINE_WHERE, TLS_WHERE } from './rows.js';

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
