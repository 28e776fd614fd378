/**
 * Survey rows and statistics for `mailward scan`: one flat row per audited domain (what a survey of
 * many domains counts), and the shares over all rows. Pure: the scan stores rows, then asks for
 * the statistics.
 */
import type { DomainAudit } from './check.js';

export interface SurveyRow {
  readonly domain: string;
  readonly grade: string;
  readonly hasSpf: boolean;
  readonly spfValid: boolean;
  /** The all qualifier of the domain's own record: + - ~ ?, or "" when none. */
  readonly spfAll: string;
  /** The DMARC policy that applies: none, quarantine, reject, or "" when none applies. */
  readonly dmarcPolicy: string;
  readonly hasRua: boolean;
  readonly dkimFound: boolean;
  readonly mtaSts: boolean;
  readonly tlsRpt: boolean;
  readonly dnssec: boolean;
  readonly nullMx: boolean;
  readonly errors: number;
  readonly warnings: number;
}

export function surveyRow(audit: DomainAudit): SurveyRow {
  const f = audit.facts;
  return {
    domain: audit.domain,
    grade: audit.grade,
    hasSpf: f.spfRecord,
    spfValid: f.spfRecord && !audit.findings.some((x) => x.area === 'spf' && x.severity === 'error'),
    spfAll: f.spfAll ?? '',
    dmarcPolicy: f.dmarcPolicy ?? '',
    hasRua: f.dmarcRua,
    dkimFound: f.dkimKeys > 0,
    mtaSts: f.mtaSts,
    tlsRpt: f.tlsRpt,
    dnssec: f.dnssecSigned,
    nullMx: f.nullMx,
    errors: audit.findings.filter((x) => x.severity === 'error').length,
    warnings: audit.findings.filter((x) => x.severity === 'warning').length,
  };
}

export interface SurveyStatistics {
  readonly domains: number;
  readonly shares: readonly { readonly label: string; readonly count: number; readonly share: number }[];
  readonly grades: Readonly<Record<string, number>>;
}

export interface SurveyCounts {
  readonly domains: number;
  readonly withSpf: number;
  readonly validSpf: number;
  readonly spfAll: Readonly<Record<string, number>>;
  readonly dmarc: Readonly<Record<string, number>>;
  readonly withRua: number;
  readonly dkim: number;
  readonly mtaSts: number;
  readonly tlsRpt: number;
  readonly dnssec: number;
  readonly nullMx: number;
  readonly grades: Readonly<Record<string, number>>;
}

/** Counts → shares, in a fixed order of questions. */
export function surveyStatistics(counts: SurveyCounts): SurveyStatistics {
  const share = (count: number) => (counts.domains === 0 ? 0 : count / counts.domains);
  const item = (label: string, count: number) => ({ label, count, share: share(count) });
  return {
    domains: counts.domains,
    shares: [
      item('with an SPF record', counts.withSpf),
      item('with a valid SPF record', counts.validSpf),
      item('SPF ending in -all', counts.spfAll['-'] ?? 0),
      item('SPF ending in ~all', counts.spfAll['~'] ?? 0),
      item('SPF ending in ?all', counts.spfAll['?'] ?? 0),
      item('SPF ending in +all', counts.spfAll['+'] ?? 0),
      item('DMARC p=reject', counts.dmarc['reject'] ?? 0),
      item('DMARC p=quarantine', counts.dmarc['quarantine'] ?? 0),
      item('DMARC p=none', counts.dmarc['none'] ?? 0),
      item('no DMARC policy', counts.dmarc[''] ?? 0),
      item('DMARC with rua', counts.withRua),
      item('a DKIM key on a common selector', counts.dkim),
      item('MTA-STS', counts.mtaSts),
      item('TLS-RPT', counts.tlsRpt),
      item('DNSSEC (signed)', counts.dnssec),
      item('null MX', counts.nullMx),
    ],
    grades: counts.grades,
  };
}
