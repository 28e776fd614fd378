/**
 * `mailward check DOMAIN`: the domain audit, grouped by area, each finding with its fix; JSON with
 * a documented schema (docs/audit.md). Exit code 0 when clean, 1 with warnings, 2 with errors (or
 * a domain that does not exist), 3 when DNS lookups failed so that some area could not be checked:
 * then there is no grade, since a failed lookup says nothing about the domain.
 */
import type { AreaGrade, DomainAudit, Finding, MtaStsFetcher, Resolver, SmtpTlsProbe } from '@mailward/core';
import { auditDomain } from '@mailward/core';
import type { CommandResult } from './result.js';
import { usageError } from './result.js';

const MARK: Record<Finding['severity'], string> = { error: 'ERROR', warning: 'WARN ', info: 'info ', ok: 'ok   ' };
const COLOUR: Record<Finding['severity'], string> = {
  error: '\x1b[31m',
  warning: '\x1b[33m',
  info: '\x1b[36m',
  ok: '\x1b[32m',
};

export async function checkCommand(
  args: {
    readonly domain: string;
    readonly json: boolean;
    readonly colour: boolean;
    readonly selectors?: readonly string[];
  },
  deps: { readonly resolver: Resolver; readonly mtaStsFetcher?: MtaStsFetcher; readonly smtpProbe?: SmtpTlsProbe },
): Promise<CommandResult> {
  const domain = args.domain.trim().toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(domain) || domain.length > 253) {
    return usageError(
      'check',
      `${JSON.stringify(args.domain)} is not a domain name (use the xn-- form for international names)`,
    );
  }
  const audit = await auditDomain(domain, {
    resolver: deps.resolver,
    ...(deps.mtaStsFetcher !== undefined && { mtaStsFetcher: deps.mtaStsFetcher }),
    ...(deps.smtpProbe !== undefined && { smtpProbe: deps.smtpProbe }),
    ...(args.selectors !== undefined && { selectors: args.selectors }),
  });
  const exitCode = checkExitCode(audit);
  const stdout = args.json ? `${JSON.stringify(audit, null, 2)}\n` : renderText(audit, args.colour);
  return { exitCode, stdout, stderr: '' };
}

/** 3 (could not check) first: with a failed lookup, the errors and warnings found are not all there is. */
export function checkExitCode(audit: DomainAudit): 0 | 1 | 2 | 3 {
  if (audit.status === 'dns-failed') return 3;
  if (audit.findings.some((f) => f.severity === 'error')) return 2;
  return audit.findings.some((f) => f.severity === 'warning') ? 1 : 0;
}

const AREA_STATE: Record<'not-checked' | 'could-not-check', string> = {
  'not-checked': 'not checked',
  'could-not-check': 'could not check: a DNS lookup failed',
};

function headline(audit: DomainAudit): string {
  if (audit.status === 'nxdomain') return `${audit.domain}: does not exist (NXDOMAIN), not audited`;
  if (audit.grade !== null) return `${audit.domain}: grade ${audit.grade}`;
  const failed = Object.entries(audit.grades)
    .filter(([, grade]) => grade === 'could-not-check')
    .map(([area]) => area.toUpperCase());
  return `${audit.domain}: no grade: ${failed.join(', ')} could not be checked (DNS lookups failed; see below)`;
}

function areaTitle(area: string, grade: AreaGrade | undefined): string {
  if (grade === undefined) return area.toUpperCase();
  return `${area.toUpperCase()} (${grade === 'not-checked' || grade === 'could-not-check' ? AREA_STATE[grade] : `grade ${grade}`})`;
}

function renderText(audit: DomainAudit, colour: boolean): string {
  const paint = (severity: Finding['severity'], text: string) => (colour ? `${COLOUR[severity]}${text}\x1b[0m` : text);
  const lines = [headline(audit)];
  // Graded areas in their order, then any area with findings but no grade (the domain itself).
  const areas = [...Object.keys(audit.grades), ...new Set(audit.findings.map((f) => f.area))].filter(
    (area, i, all) => all.indexOf(area) === i,
  );
  for (const area of areas) {
    lines.push('', areaTitle(area, audit.grades[area as keyof DomainAudit['grades']]));
    for (const f of audit.findings.filter((x) => x.area === area)) {
      lines.push(
        `  ${paint(f.severity, MARK[f.severity])} ${f.code}: ${f.message}${f.rfc === undefined ? '' : ` [${f.rfc}]`}`,
      );
      if (f.fix !== undefined) lines.push(`        fix: ${f.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
