/**
 * A domain audit: the areas checked so far (SPF, DMARC, and MX for the parked-domain profile),
 * their findings, and the grades (rule in finding.ts and docs/audit.md).
 */
import type { Resolver } from '../dns/types.js';
import type { AuditArea, Finding, Grade } from './finding.js';
import { gradeArea, overallGrade } from './finding.js';
import { auditSpf } from './spf.js';
import { auditDmarc } from './dmarc.js';

export interface DomainAudit {
  readonly domain: string;
  readonly grade: Grade;
  readonly grades: Readonly<Partial<Record<AuditArea, Grade>>>;
  readonly findings: readonly Finding[];
}

export const AUDITED_AREAS: readonly AuditArea[] = ['spf', 'dmarc'];

export async function auditDomain(domain: string, options: { readonly resolver: Resolver }): Promise<DomainAudit> {
  const name = domain.toLowerCase().replace(/\.$/, '');
  // RFC 7505 null MX ("0 .") or no MX at all: the domain receives no mail.
  const mx = await options.resolver.lookup(name, 'MX');
  const parked =
    (mx.kind === 'answer' && mx.records.length === 1 && ['', '.'].includes(mx.records[0]?.exchange ?? 'x')) ||
    mx.kind === 'nodata' ||
    mx.kind === 'nxdomain';
  const [spf, dmarc] = await Promise.all([
    auditSpf(name, { resolver: options.resolver, parked }),
    auditDmarc(name, { resolver: options.resolver }),
  ]);
  const findings = [...spf.findings, ...dmarc.findings];
  const grades: Partial<Record<AuditArea, Grade>> = {};
  for (const area of AUDITED_AREAS) grades[area] = gradeArea(area, findings);
  return { domain: name, grade: overallGrade(Object.values(grades)), grades, findings };
}
