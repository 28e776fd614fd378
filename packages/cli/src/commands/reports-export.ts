/**
 * The fields of `mailward reports export`: one line per stored aggregate record. `dmarcPass` is the
 * reporter's verdict (as in `reports summary`); mailward's recomputation sits beside it. Times are
 * ISO 8601 UTC; DKIM and SPF results are parallel space-separated lists in CSV ("none" where a
 * report left a selector or scope out; domain, selector or
 * scope, result at the same position), arrays in JSON.
 */
import type { StoredAggregateRow } from '@mailward/reports';
import { reporterPasses } from '@mailward/reports';

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
// "none" holds the place of a value the report left out (a DKIM result without a selector).
const list = (values: readonly (string | undefined)[]): string => values.map((v) => v ?? 'none').join(' ');

export interface ExportColumn {
  readonly name: string;
  readonly value: (row: StoredAggregateRow) => string | number | boolean | undefined | null;
}

export const EXPORT_COLUMNS: readonly ExportColumn[] = [
  { name: 'reporter', value: (r) => r.reporter },
  { name: 'reportId', value: (r) => r.reportId },
  { name: 'policyDomain', value: (r) => r.policyDomain },
  { name: 'begin', value: (r) => iso(r.begin) },
  { name: 'end', value: (r) => iso(r.end) },
  { name: 'sourceIp', value: (r) => r.sourceIp },
  { name: 'count', value: (r) => r.count },
  { name: 'disposition', value: (r) => r.disposition },
  { name: 'headerFrom', value: (r) => r.headerFrom },
  { name: 'envelopeFrom', value: (r) => r.envelopeFrom },
  { name: 'dmarcPass', value: (r) => reporterPasses(r) },
  { name: 'reporterDkim', value: (r) => r.reporterDkim },
  { name: 'reporterSpf', value: (r) => r.reporterSpf },
  { name: 'recomputedDmarcPass', value: (r) => r.dmarcPass },
  { name: 'recomputedDkimAligned', value: (r) => r.dkimAligned },
  { name: 'recomputedSpfAligned', value: (r) => r.spfAligned },
  { name: 'dkimDomains', value: (r) => list(r.dkim.map((d) => d.domain)) },
  { name: 'dkimSelectors', value: (r) => list(r.dkim.map((d) => d.selector)) },
  { name: 'dkimResults', value: (r) => list(r.dkim.map((d) => d.result)) },
  { name: 'spfDomains', value: (r) => list(r.spf.map((s) => s.domain)) },
  { name: 'spfScopes', value: (r) => list(r.spf.map((s) => s.scope)) },
  { name: 'spfResults', value: (r) => list(r.spf.map((s) => s.result)) },
  { name: 'overrideReasons', value: (r) => list(r.reasons.map((o) => o.type)) },
  { name: 'ptr', value: (r) => r.enrichment?.ptr },
  { name: 'ptrConfirmed', value: (r) => r.enrichment?.ptrConfirmed },
  { name: 'asn', value: (r) => r.enrichment?.asn },
  { name: 'asName', value: (r) => r.enrichment?.asName },
  { name: 'country', value: (r) => r.enrichment?.country },
  { name: 'service', value: (r) => r.enrichment?.service },
];

/** One JSON line: the stored record with ISO times, the reporter's verdict and the recomputation apart. */
export function exportJson(r: StoredAggregateRow): Record<string, unknown> {
  return {
    reporter: r.reporter,
    reportId: r.reportId,
    policyDomain: r.policyDomain,
    begin: iso(r.begin),
    end: iso(r.end),
    sourceIp: r.sourceIp,
    count: r.count,
    disposition: r.disposition,
    headerFrom: r.headerFrom,
    envelopeFrom: r.envelopeFrom,
    dmarcPass: reporterPasses(r),
    reporterDkim: r.reporterDkim,
    reporterSpf: r.reporterSpf,
    recomputed: { dmarcPass: r.dmarcPass, dkimAligned: r.dkimAligned, spfAligned: r.spfAligned },
    dkim: r.dkim,
    spf: r.spf,
    overrideReasons: r.reasons,
    ...(r.enrichment === undefined ? {} : { enrichment: r.enrichment }),
  };
}
