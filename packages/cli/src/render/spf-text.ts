import type { SpfCheckResult } from '@mailward/core';
import type { SpfReport } from '../commands/spf.js';

const DNS_TERM_LIMIT = 10;
const VOID_LIMIT = 2;

/** Human output of `mailward spf`: result, reason, explanation and the lookup trace. */
export function renderSpfText(report: SpfReport, args: { ip: string; mailFrom: string }): string {
  const lines: string[] = [];
  const sender = args.mailFrom === '' ? `<> (checked as postmaster@${report.mailFrom.domain})` : args.mailFrom;
  lines.push(`SPF for MAIL FROM ${sender} from ${args.ip}: ${report.mailFrom.result}`);
  lines.push(...details(report.mailFrom));
  if (report.helo) {
    lines.push('', `SPF for HELO ${report.helo.domain} from ${args.ip}: ${report.helo.result}`);
    lines.push(...details(report.helo));
  }
  lines.push('', report.receivedSpf);
  return `${lines.join('\n')}\n`;
}

function details(check: SpfCheckResult): string[] {
  const lines = [`  reason:      ${check.reason}`];
  if (check.explanation) lines.push(`  explanation: ${check.explanation}`);
  if (check.record) lines.push(`  record:      ${check.record}`);
  lines.push(
    `  lookups:     ${check.lookups}/${DNS_TERM_LIMIT} DNS-querying terms, ${check.voidLookups}/${VOID_LIMIT} void lookups`,
  );
  if (check.trace.length > 0) {
    lines.push('  lookup trace:');
    check.trace.forEach((entry, index) => {
      const cd = entry.checkingDisabled === true ? ' (CD)' : '';
      lines.push(
        `    ${index + 1}. ${entry.name} ${entry.type}${cd}: ${entry.detail} (${entry.durationMs.toFixed(1)} ms)`,
      );
      for (const record of entry.records) lines.push(`         ${record}`);
    });
  }
  return lines;
}
