/**
 * A domain audit: the areas checked so far (SPF, DKIM, DMARC, and MX for the parked-domain profile),
 * their findings, and the grades (rule in finding.ts and docs/audit.md).
 */
import type { Resolver } from '../dns/types.js';
import type { AuditArea, Finding, Grade } from './finding.js';
import { gradeArea, overallGrade } from './finding.js';
import { auditSpf } from './spf.js';
import { auditDmarc } from './dmarc.js';
import { auditDkim } from './dkim.js';

export interface DomainAudit {
  readonly domain: string;
  readonly grade: Grade;
  readonly grades: Readonly<Partial<Record<AuditArea, Grade>>>;
  readonly findings: readonly Finding[];
}

export const AUDITED_AREAS: readonly AuditArea[] = ['spf', 'dkim', 'dmarc'];

export async function auditDomain(
  domain: string,
  options: { readonly resolver: Resolver; readonly selectors?: readonly string[] },
): Promise<DomainAudit> {
  const name = domain.toLowerCase().replace(/\.$/, '');
  // RFC 7505 null MX ("0 .") or no MX at all: the domain receives no mail.
  const mx = await options.resolver.lookup(name, 'MX');
  const parked =
    (mx.kind === 'answer' && mx.records.length === 1 && ['', '.'].includes(mx.records[0]?.exchange ?? 'x')) ||
    mx.kind === 'nodata' ||
    mx.kind === 'nxdomain';
  const [spf, dkim, dmarc] = await Promise.all([
    auditSpf(name, { resolver: options.resolver, parked }),
    // A parked domain sends no mail, so it needs no DKIM key.
    parked
      ? undefined
      : auditDkim(name, {
          resolver: options.resolver,
          ...(options.selectors !== undefined && { selectors: options.selectors }),
        }),
    auditDmarc(name, { resolver: options.resolver }),
  ]);
  const findings = [...spf.findings, ...(dkim?.findings ?? []), ...dmarc.findings];
  const grades: Partial<Record<AuditArea, Grade>> = {};
  for (const area of AUDITED_AREAS) grades[area] = gradeArea(area, findings);
  return { domain: name, grade: overallGrade(Object.values(grades)), grades, findings };
}
