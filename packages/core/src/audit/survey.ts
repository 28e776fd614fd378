/**
 * Survey rows and statistics for `mailward scan`: one flat row per domain (what a survey of many
 * domains counts), and the shares over the domains that were audited. Domains that do not exist
 * (nxdomain) and domains whose lookups failed (dns-failed) are counted apart and left out of the
 * shares and grades: a failure of the scan's DNS is no fact about a domain. Pure: the scan stores
 * rows, then asks for the statistics.
 */
import type { AuditStatus, DomainAudit } from './check.js';

export interface SurveyRow {
  readonly domain: string;
  readonly status: AuditStatus;
  /** A, B, C or F; "" when the domain has no grade (status nxdomain or dns-failed). */
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
    status: audit.status,
    grade: audit.grade ?? '',
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

export interface SurveyShare {
  readonly label: string;
  /** What is counted, in words: the page and the docs print it beside the share. */
  readonly definition: string;
  readonly count: number;
  /** count / domains audited (status ok). */
  readonly share: number;
}

export interface SurveyStatistics {
  /** Domains audited (status ok): the base of every share and of the grades. */
  readonly domains: number;
  /** Domains that do not exist (NXDOMAIN). */
  readonly nxdomain: number;
  /** Domains where a lookup failed, so some area could not be checked. */
  readonly dnsFailed: number;
  readonly shares: readonly SurveyShare[];
  readonly grades: Readonly<Record<string, number>>;
}

/** Counts over the domains audited (status ok), plus the two statuses counted apart. */
export interface SurveyCounts {
  readonly domains: number;
  readonly nxdomain: number;
  readonly dnsFailed: number;
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

const DMARC_POLICY = (p: string) =>
  `the DMARC policy that applies to the domain (its own record, or sp= of its organizational domain) is p=${p}`;

/** Counts → shares, in a fixed order of questions, each with its definition. */
export function surveyStatistics(counts: SurveyCounts): SurveyStatistics {
  const share = (count: number) => (counts.domains === 0 ? 0 : count / counts.domains);
  const item = (label: string, count: number, definition: string): SurveyShare => ({
    label,
    definition,
    count,
    share: share(count),
  });
  const all = (q: string, meaning: string) =>
    item(
      `SPF ending in ${q}all`,
      counts.spfAll[q] ?? 0,
      `the domain's own SPF record ends in "${q}all" (${meaning}); counted whether or not the record has errors`,
    );
  return {
    domains: counts.domains,
    nxdomain: counts.nxdomain,
    dnsFailed: counts.dnsFailed,
    shares: [
      item(
        'with an SPF record',
        counts.withSpf,
        'the domain publishes at least one TXT record starting with "v=spf1" (valid or not)',
      ),
      item(
        'with a valid SPF record',
        counts.validSpf,
        'exactly one SPF record, and the SPF audit found no error in it or its include tree: no syntax error, at most 10 DNS lookups and 2 void lookups, no loop, no missing include, and not "+all". A "+all" record is NOT counted as valid: it authorizes every server',
      ),
      all('-', 'fail: unlisted servers are refused'),
      all('~', 'softfail: unlisted servers are marked'),
      all('?', 'neutral: SPF says nothing'),
      all('+', 'pass: every server is authorized'),
      item('DMARC p=reject', counts.dmarc['reject'] ?? 0, DMARC_POLICY('reject')),
      item('DMARC p=quarantine', counts.dmarc['quarantine'] ?? 0, DMARC_POLICY('quarantine')),
      item(
        'DMARC p=none',
        counts.dmarc['none'] ?? 0,
        `${DMARC_POLICY('none')}; includes records read as p=none (no p=, or an invalid one with a valid rua=)`,
      ),
      item(
        'no DMARC policy',
        counts.dmarc[''] ?? 0,
        'no DMARC record applies to the domain, by its own record or an organizational one (RFC 9989 tree walk)',
      ),
      item('DMARC with rua', counts.withRua, 'the DMARC record that applies has at least one valid rua= address'),
      item(
        'a DKIM key on a common selector',
        counts.dkim,
        'a usable (not revoked, parseable) key on one of the 23 common selectors probed; keys on other selectors cannot be found, so this is a lower bound',
      ),
      item(
        'MTA-STS',
        counts.mtaSts,
        'a valid _mta-sts TXT record (v=STSv1 with an id=); the HTTPS policy is not judged here',
      ),
      item('TLS-RPT', counts.tlsRpt, 'a valid _smtp._tls TXT record with a mailto: or https: rua'),
      item(
        'DNSSEC (signed)',
        counts.dnssec,
        'the zone publishes DNSKEY records (validated or not by the resolver used), or its chain is bogus',
      ),
      item('null MX', counts.nullMx, 'a single MX "0 ." (RFC 7505): the domain says it receives no mail'),
    ],
    grades: counts.grades,
  };
}
