/**
 * A domain audit: SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT, BIMI, DNSSEC and (with a probe) SMTP STARTTLS,
 * findings, and the grades (rule in finding.ts and docs/audit.md).
 */
import type { Resolver } from '../dns/types.js';
import type { AreaGrade, AuditArea, Finding, Grade } from './finding.js';
import { areaGrade, gradeArea, overallGrade } from './finding.js';
import type { SpfAudit } from './spf.js';
import { auditSpf } from './spf.js';
import { auditDmarc } from './dmarc.js';
import { auditDkim } from './dkim.js';
import { auditMx } from './mx.js';
import type { MtaStsFetcher } from './mta-sts.js';
import { auditMtaStsPolicy } from './mta-sts.js';
import type { SmtpTlsProbe } from './smtp.js';
import { auditSmtp } from './smtp.js';
import { auditBimi, auditDnssec, auditMtaStsRecord, auditTlsRpt } from './policy-records.js';

/**
 * ok: every area was looked at (or deliberately not, see `not-checked`); nxdomain: the domain does
 * not exist, so nothing else was asked; dns-failed: a lookup failed, so at least one area could
 * not be checked and there is no overall grade.
 */
export type AuditStatus = 'ok' | 'nxdomain' | 'dns-failed';

export interface DomainAudit {
  readonly domain: string;
  readonly status: AuditStatus;
  /** The worst grade of the areas audited; null unless the status is ok. */
  readonly grade: Grade | null;
  readonly grades: Readonly<Partial<Record<AuditArea, AreaGrade>>>;
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
  // NXDOMAIN: the name does not exist (RFC 8020: nor anything below it). A second question
  // confirms it, since a few broken servers answer NXDOMAIN for one type only; the TXT answer is
  // the one SPF needs anyway (a cache in front of the resolver keeps it).
  if (mx.kind === 'nxdomain' && (await resolver.lookup(name, 'TXT')).kind === 'nxdomain') return nxdomainAudit(name);
  const nullMx = mx.kind === 'answer' && mx.records.length === 1 && ['', '.'].includes(mx.records[0]?.exchange ?? 'x');
  const parked = nullMx || mx.kind === 'nodata' || mx.kind === 'nxdomain';
  const spfAudit = auditSpf(name, { resolver, parked });
  const dkimOptions = {
    resolver,
    ...(options.selectors !== undefined && { selectors: options.selectors }),
    ...(options.dkimStopAtNxdomain === true && { stopAtNxdomain: true }),
  };
  const [spf, dkim, dmarc, tlsRpt, mtaSts, dnssec] = await Promise.all([
    spfAudit,
    // DKIM is audited even when the domain receives no mail: sending-only and parked domains are
    // where a weak or forgotten key is abused. Only a domain that neither receives nor sends mail
    // is not expected to publish one.
    parked
      ? spfAudit.then((s) => auditDkim(name, { ...dkimOptions, expectKey: spfSends(s) }))
      : auditDkim(name, dkimOptions),
    auditDmarc(name, { resolver }),
    // A domain that receives no mail needs no receiving policies: those areas are not checked.
    parked ? undefined : auditTlsRpt(name, { resolver }),
    parked ? undefined : auditMtaStsRecord(name, { resolver }),
    auditDnssec(name, { resolver }),
  ]);
  const sends = spfSends(spf) || dkim.keys.some((k) => k.revoked === false && k.problem === undefined);
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
    ? undefined
    : await auditBimi(name, {
        resolver,
        ...(dmarc.policy !== undefined && { dmarcPolicy: dmarc.policy }),
        ...(dmarc.pct !== undefined && { dmarcPct: dmarc.pct }),
      });
  const notChecked = parked ? notCheckedWhenParked(name, nullMx) : [];
  const findings = [
    ...spf.findings,
    ...dkim.findings,
    ...dmarc.findings,
    ...mxAudit.findings,
    ...(mtaSts?.findings ?? []),
    ...mtaStsPolicy.findings,
    ...(tlsRpt ?? []),
    ...(bimi ?? []),
    ...dnssec,
    ...(smtp ?? []),
    ...notChecked,
  ];
  const grades: Partial<Record<AuditArea, AreaGrade>> = {};
  for (const area of AUDITED_AREAS)
    grades[area] = notChecked.some((f) => f.area === area) ? 'not-checked' : areaGrade(area, findings);
  // The smtp area is graded only when it was probed, and only for domains with MX hosts.
  if (smtp !== undefined && smtp.length > 0) grades.smtp = gradeArea('smtp', smtp);
  const has = (code: string) => findings.some((f) => f.code === code);
  const facts: AuditFacts = {
    spfRecord: spf.record !== undefined,
    ...(spf.all !== undefined && { spfAll: spf.all }),
    ...(dmarc.policy !== undefined && { dmarcPolicy: dmarc.policy }),
    dmarcRua: dmarc.hasRua,
    dkimKeys: dkim.keys.filter((k) => k.revoked === false && k.problem === undefined).length,
    mtaSts: mtaSts?.id !== undefined,
    tlsRpt: has('tlsrpt-ok'),
    dnssecSigned: has('dnssec-validated') || has('dnssec-not-validated') || has('dnssec-bogus'),
    nullMx: mxAudit.nullMx,
    parked,
  };
  const values = Object.values(grades);
  const failed = values.includes('could-not-check');
  const graded = values.filter((g): g is Grade => g !== 'not-checked' && g !== 'could-not-check');
  return {
    domain: name,
    status: failed ? 'dns-failed' : 'ok',
    grade: failed ? null : overallGrade(graded),
    grades,
    findings,
    facts,
  };
}

/** Its SPF record authorizes some sender: anything but a lone "v=spf1 -all". */
function spfSends(spf: SpfAudit): boolean {
  return spf.record !== undefined && !/^v=spf1\s+-all\s*$/i.test(spf.record);
}

/** The receiving policies a domain that receives no mail is not asked for, each saying why. */
function notCheckedWhenParked(name: string, nullMx: boolean): Finding[] {
  const why = `${name} receives no mail (${nullMx ? 'a null MX' : 'no MX'})`;
  const item = (area: AuditArea, code: string, what: string, rfc: string): Finding => ({
    code,
    severity: 'info',
    area,
    message: `not checked: ${why}, so it needs no ${what}`,
    rfc,
  });
  return [
    item('mta-sts', 'mta-sts-not-checked', 'MTA-STS policy', 'RFC 8461 §3'),
    item('tls-rpt', 'tlsrpt-not-checked', 'TLS-RPT record', 'RFC 8460 §3'),
    item('bimi', 'bimi-not-checked', 'BIMI record', 'draft-brand-indicators-for-message-identification §4'),
  ];
}

/** A name that does not exist: one finding, nothing else asked and no grade. */
function nxdomainAudit(name: string): DomainAudit {
  return {
    domain: name,
    status: 'nxdomain',
    grade: null,
    grades: {},
    findings: [
      {
        code: 'domain-nxdomain',
        severity: 'error',
        area: 'domain',
        message: `${name} does not exist: the DNS answers NXDOMAIN for it, so it has no records to audit`,
        rfc: 'RFC 8020 §2',
        fix: `check the spelling, or register ${name}`,
      },
    ],
    facts: {
      spfRecord: false,
      dmarcRua: false,
      dkimKeys: 0,
      mtaSts: false,
      tlsRpt: false,
      dnssecSigned: false,
      nullMx: false,
      parked: false,
    },
  };
}
