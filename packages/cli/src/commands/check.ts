/**
 * `mailward check DOMAIN`: the domain audit, grouped by area, each finding with its fix; JSON with
 * a documented schema (docs/audit.md). Exit code 0 when clean, 1 with warnings, 2 with errors.
 */
import type { DomainAudit, Finding, MtaStsFetcher, Resolver, SmtpTlsProbe } from '@mailward/core';
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
  const exitCode = audit.findings.some((f) => f.severity === 'error')
    ? 2
    : audit.findings.some((f) => f.severity === 'warning')
      ? 1
      : 0;
  const stdout = args.json ? `${JSON.stringify(audit, null, 2)}\n` : renderText(audit, args.colour);
  return { exitCode, stdout, stderr: '' };
}

function renderText(audit: DomainAudit, colour: boolean): string {
  const paint = (severity: Finding['severity'], text: string) => (colour ? `${COLOUR[severity]}${text}\x1b[0m` : text);
  const lines = [`${audit.domain}: grade ${audit.grade}`];
  for (const [area, grade] of Object.entries(audit.grades)) {
    lines.push('', `${area.toUpperCase()} (grade ${grade})`);
    for (const f of audit.findings.filter((x) => x.area === area)) {
      lines.push(
        `  ${paint(f.severity, MARK[f.severity])} ${f.code}: ${f.message}${f.rfc === undefined ? '' : ` [${f.rfc}]`}`,
      );
      if (f.fix !== undefined) lines.push(`        fix: ${f.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
