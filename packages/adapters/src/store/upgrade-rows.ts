/**
 * What schema version 3 recomputes for data stored before it, shared by both stores (each runs the
 * loop in its own driver's style): alignment of records whose header_from holds several domains
 * (each domain is now evaluated), day rows in whole messages with both verdicts, and the domain a
 * quarantined item reports on. Nothing stored is dropped; only derived columns are rewritten.
 */
import type { DkimAuthResult, PolicyPublished, SpfAuthResult } from '@mailward/reports';
import { recomputeAlignment, reportedDomainOf } from '@mailward/reports';

/** Records that may hold several From domains (a separator in the field). */
export const MULTI_FROM_RECORDS_SELECT = `SELECT x.id, x.header_from, x.dkim_json, x.spf_json, r.policy_json
FROM aggregate_records x JOIN aggregate_reports r ON r.id = x.report
WHERE x.header_from LIKE '%,%' OR x.header_from LIKE '% %' OR x.header_from LIKE '%;%'`;

/** [dkim aligned, spf aligned, dmarc pass, record id] for an UPDATE. */
export function realignedRecord(row: Record<string, unknown>): [boolean, boolean, boolean, number] {
  const policy = JSON.parse(String(row['policy_json'])) as PolicyPublished;
  const alignment = recomputeAlignment(
    String(row['header_from']),
    JSON.parse(String(row['dkim_json'])) as DkimAuthResult[],
    JSON.parse(String(row['spf_json'])) as SpfAuthResult[],
    policy,
  );
  return [alignment.dkim, alignment.spf, alignment.dmarc, Number(row['id'])];
}

export function quarantineDomain(row: Record<string, unknown>): string | null {
  const bytes = row['bytes'] as Uint8Array;
  return (
    reportedDomainOf(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), String(row['source'])) ?? null
  );
}
