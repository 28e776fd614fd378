/**
 * The verdicts table's rows, shared by the SQLite and PostgreSQL stores. The columns a query
 * selects on (time, policy domain) and those a person reads in SQL (addresses, results, action)
 * are columns; the whole record is also kept as JSON, so reading one back is exact and a field
 * added later needs no new column.
 */
import type { StoredVerdict, VerdictFilter, VerdictRecord } from '@mailward/reports';

export const VERDICT_COLUMNS = [
  'time',
  'receiver',
  'queue_id',
  'source_ip',
  'envelope_from',
  'header_from',
  'policy_domain',
  'dmarc',
  'disposition',
  'action',
  'record_json',
] as const;

export function verdictRow(record: VerdictRecord): unknown[] {
  return [
    record.time,
    record.receiver,
    record.queueId ?? null,
    record.sourceIp,
    record.envelopeFrom,
    record.headerFrom,
    record.policyDomain.toLowerCase(),
    record.dmarc,
    record.policyEvaluated.disposition,
    record.action,
    JSON.stringify(record),
  ];
}

export function storedVerdict(row: Record<string, unknown>): StoredVerdict {
  return { id: Number(row['id']), ...(JSON.parse(String(row['record_json'])) as VerdictRecord) };
}

/**
 * WHERE clause with the shared named placeholders ($SINCE, $UNTIL, $DOMAIN), each test skipped
 * when its value is null; (policy_domain, time) is indexed for "one domain, one UTC day".
 */
export const VERDICT_WHERE =
  '($DOMAIN IS NULL OR policy_domain = $DOMAIN) AND ($SINCE IS NULL OR time >= $SINCE) AND ($UNTIL IS NULL OR time < $UNTIL)';

export function verdictParams(filter: VerdictFilter): {
  domain: string | null;
  since: number | null;
  until: number | null;
} {
  return {
    domain: filter.policyDomain?.toLowerCase().replace(/\.$/, '') ?? null,
    since: filter.since ?? null,
    until: filter.until ?? null,
  };
}

/** Rows read per query when iterating, so a long listing neither holds everything nor one cursor open for long. */
export const VERDICT_PAGE = 1000;
