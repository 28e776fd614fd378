/**
 * Audit findings: one per observation, with a stable code (documented in docs/audit.md), a
 * severity, the area, a message for the administrator, the RFC section, and the fix (where possible
 * the exact record to publish). Severity guide: what lets anyone spoof the domain or breaks
 * delivery is an error; a weak but working setup is a warning; a missing optional protection is
 * info or a warning, never an error; `ok` records what was checked and found right.
 */
export type Severity = 'error' | 'warning' | 'info' | 'ok';

/** `domain`: findings about the name itself (it does not exist), before any record is looked at. */
export type AuditArea = 'domain' | 'spf' | 'dkim' | 'dmarc' | 'mx' | 'mta-sts' | 'tls-rpt' | 'bimi' | 'dnssec' | 'smtp';

export interface Finding {
  readonly code: string;
  readonly severity: Severity;
  readonly area: AuditArea;
  readonly message: string;
  /** e.g. "RFC 7208 §4.6.4". */
  readonly rfc?: string;
  readonly fix?: string;
}

export type Grade = 'A' | 'B' | 'C' | 'F';

/**
 * What an area gets: a grade when it was audited; `not-checked` when it was not audited at all (a
 * domain that receives no mail is not asked for MTA-STS, say); `could-not-check` when a DNS lookup
 * it needed failed, so the domain's records are unknown. Neither of the last two is ever an A.
 */
export type AreaGrade = Grade | 'not-checked' | 'could-not-check';

/** A finding that says a lookup failed: the area's records are unknown, not wrong (docs/audit.md). */
export function isLookupFailure(finding: Finding): boolean {
  return finding.code.endsWith('-lookup-failed');
}

/** Areas whose absence is never an error: at worst their grade is B. */
const OPTIONAL_AREAS: ReadonlySet<AuditArea> = new Set(['mta-sts', 'tls-rpt', 'bimi', 'dnssec']);

/**
 * Findings in an optional area that break mail delivery by themselves when they are errors, so the
 * area is graded F anyway: a bogus DNSSEC chain makes the domain unresolvable for every validating
 * receiver; an enforcing MTA-STS policy that does not list an MX makes senders refuse that host.
 */
const BREAKS_DELIVERY: ReadonlySet<string> = new Set(['dnssec-bogus', 'mta-sts-mx-not-covered']);

/**
 * The grading rule (docs/audit.md): an area with an error is F; with two or more warnings C; with
 * one warning B; otherwise A. Optional protections never grade below B, unless a finding in them
 * breaks delivery itself. The overall grade is the worst area grade.
 */
export function gradeArea(area: AuditArea, findings: readonly Finding[]): Grade {
  const own = findings.filter((f) => f.area === area);
  const errors = own.filter((f) => f.severity === 'error').length;
  const warnings = own.filter((f) => f.severity === 'warning').length;
  const grade: Grade = errors > 0 ? 'F' : warnings >= 2 ? 'C' : warnings === 1 ? 'B' : 'A';
  if (own.some((f) => BREAKS_DELIVERY.has(f.code) && f.severity === 'error')) return 'F';
  return OPTIONAL_AREAS.has(area) && (grade === 'F' || grade === 'C') ? 'B' : grade;
}

/** The grade of an area that was audited, or why it has none. */
export function areaGrade(area: AuditArea, findings: readonly Finding[]): AreaGrade {
  if (findings.some((f) => f.area === area && isLookupFailure(f))) return 'could-not-check';
  return gradeArea(area, findings);
}

const ORDER: readonly Grade[] = ['A', 'B', 'C', 'F'];

export function overallGrade(grades: readonly Grade[]): Grade {
  return grades.reduce<Grade>((worst, g) => (ORDER.indexOf(g) > ORDER.indexOf(worst) ? g : worst), 'A');
}
