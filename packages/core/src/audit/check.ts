/**
 * A domain audit: SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT, BIMI, DNSSEC and (with a probe) SMTP STARTTLS,
 * findings, and the grades (rule in finding.ts and docs/audit.md).
 */
import type { Resolver } from '../dns/types.js';
import type { AuditArea, Finding, Grade } from './finding.js';
import { gradeArea, overallGrade } from './finding.js';
import { auditSpf } from './spf.js';
import { auditDmarc } from './dmarc.js';
import { auditDkim } from './dkim.js';
import { auditMx } from './mx.js';
import type { MtaStsFetcher } from './mta-sts.js';
import { auditMtaStsPolicy } from './mta-sts.js';
import type { SmtpTlsProbe } from './smtp.js';
import { auditSmtp } from './smtp.js';
import { auditBimi, auditDnssec, auditMtaStsRecord, auditTlsRpt } from './policy-records.js';

export interface DomainAudit {
  readonly domain: string;
  readonly grade: Grade;
  readonly grades: Readonly<Partial<Record<AuditArea, Grade>>>;
  readonly findings: readonly Finding[];
  /** The facts behind the findings, for surveys. */
  readonly facts: AuditFacts;
}

export interface AuditFacts {
  readonly spfRecord: boolean;
  /** The `all` qualifier of the domain's own SPF record, when present. */
  readonly spfAll?: string;
  /** The DMARC policy that applies, when one does. */
  readonly dmarcPolicy?: 'none' | 'quarantine' | 'reject';
  readonly dmarcRua: boolean;
  /** Usable DKIM keys found on the probed selectors. */
  readonly dkimKeys: number;
  readonly mtaSts: boolean;
  readonly tlsRpt: boolean;
  readonly dnssecSigned: boolean;
  readonly nullMx: boolean;
  readonly parked: boolean;
}

export const AUDITED_AREAS: readonly AuditArea[] = [
  'spf',
  'dkim',
  'dmarc',
  'mx',
  'mta-sts',
  'tls-rpt',
  'bimi',
  'dnssec',
];

export async function auditDomain(
  domain: string,
  options: {
    readonly resolver: Resolver;
    readonly selectors?: readonly string[];
    /** Fetches MTA-STS policies over HTTPS; without it only the DNS record is checked. */
    readonly mtaStsFetcher?: MtaStsFetcher;
    /** Probes each MX host's STARTTLS (`--smtp`); without it the smtp area is not audited. */
    readonly smtpProbe?: SmtpTlsProbe;
    /** Surveys: skip the DKIM selector probes when `_domainkey.DOMAIN` does not exist (see auditDkim). */
    readonly dkimStopAtNxdomain?: boolean;
  },
): Promise<DomainAudit> {
  const name = domain.toLowerCase().replace(/\.$/, '');
  const resolver = options.resolver;
  // RFC 7505 null MX ("0 .") or no MX at all: the domain receives no mail.
  const mx = await resolver.lookup(name, 'MX');
  const parked =
    (mx.kind === 'answer' && mx.records.length === 1 && ['', '.'].includes(mx.records[0]?.exchange ?? 'x')) ||
    mx.kind === 'nodata' ||
    mx.kind === 'nxdomain';
  const [spf, dkim, dmarc, tlsRpt, mtaSts, dnssec] = await Promise.all([
    auditSpf(name, { resolver, parked }),
    // A domain that receives no mail is not expected to sign, nor to publish receiving policies.
    parked
      ? undefined
      : auditDkim(name, {
          resolver,
          ...(options.selectors !== undefined && { selectors: options.selectors }),
          ...(options.dkimStopAtNxdomain === true && { stopAtNxdomain: true }),
        }),
    auditDmarc(name, { resolver }),
    parked ? undefined : auditTlsRpt(name, { resolver }),
    parked ? undefined : auditMtaStsRecord(name, { resolver }),
    auditDnssec(name, { resolver }),
  ]);
  const sends =
    (spf.record !== undefined && !/^v=spf1\s+-all\s*$/i.test(spf.record)) ||
    (dkim?.keys.some((k) => k.revoked === false && k.problem === undefined) ?? false);
  const mxAudit = await auditMx(name, { resolver, sends });
  const mtaStsPolicy =
    mtaSts?.id === undefined
      ? { findings: [] }
      : options.mtaStsFetcher === undefined
        ? {
            findings: [
              {
                code: 'mta-sts-policy-not-checked',
                severity: 'info' as const,
                area: 'mta-sts' as const,
                message: 'the MTA-STS policy was not fetched (offline audit)',
                rfc: 'RFC 8461 §3.3',
              },
            ],
          }
        : await auditMtaStsPolicy(name, { fetcher: options.mtaStsFetcher, mxHosts: mxAudit.hosts });
  const smtp =
    options.smtpProbe === undefined
      ? undefined
      : await auditSmtp(mxAudit.hosts, {
          probe: options.smtpProbe,
          ...('mode' in mtaStsPolicy && mtaStsPolicy.mode !== undefined && { mtaStsMode: mtaStsPolicy.mode }),
        });
  const bimi = parked
    ? []
    : await auditBimi(name, {
        resolver,
        ...(dmarc.policy !== undefined && { dmarcPolicy: dmarc.policy }),
        ...(dmarc.pct !== undefined && { dmarcPct: dmarc.pct }),
      });
  const findings = [
    ...spf.findings,
    ...(dkim?.findings ?? []),
    ...dmarc.findings,
    ...mxAudit.findings,
    ...(mtaSts?.findings ?? []),
    ...mtaStsPolicy.findings,
    ...(tlsRpt ?? []),
    ...bimi,
    ...dnssec,
    ...(smtp ?? []),
  ];
  const grades: Partial<Record<AuditArea, Grade>> = {};
  for (const area of AUDITED_AREAS) grades[area] = gradeArea(area, findings);
  // The smtp area is graded only when it was probed, and only for domains with MX hosts.
  if (smtp !== undefined && smtp.length > 0) grades.smtp = gradeArea('smtp', smtp);
  const has = (code: string) => findings.some((f) => f.code === code);
  const facts: AuditFacts = {
    spfRecord: spf.record !== undefined,
    ...(spf.all !== undefined && { spfAll: spf.all }),
    ...(dmarc.policy !== undefined && { dmarcPolicy: dmarc.policy }),
    dmarcRua: dmarc.hasRua,
    dkimKeys: dkim?.keys.filter((k) => k.revoked === false && k.problem === undefined).length ?? 0,
    mtaSts: mtaSts?.id !== undefined,
    tlsRpt: has('tlsrpt-ok'),
    dnssecSigned: has('dnssec-validated') || has('dnssec-not-validated') || has('dnssec-bogus'),
    nullMx: mxAudit.nullMx,
    parked,
  };
  return { domain: name, grade: overallGrade(Object.values(grades)), grades, findings, facts };
}
