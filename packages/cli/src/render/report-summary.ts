/** Text rendering of a report summary: pure, summary in, lines out. */
import type { ReadinessStatus, ReportSummary, SourceSummary } from '@mailward/reports';
import { terminalSafe } from './terminal-safe.js';

const number = (n: number): string => Math.round(n).toLocaleString('en-US');
const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
const plural = (n: number, word: string, many = `${word}s`): string => `${number(n)} ${n === 1 ? word : many}`;

const READINESS_TITLE = {
  ready: 'ready',
  'not-ready': 'not ready',
  'not-enough-data': 'not enough data',
  'no-data': 'no data',
  'several-domains': 'judged per domain',
} as const satisfies Record<ReadinessStatus, string>;

export function renderSummaryText(summary: ReportSummary): string {
  const { totals, rates, filter } = summary;
  const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);
  const range = [
    ...(filter.since === undefined ? [] : [`since ${day(filter.since)}`]),
    // --until is exclusive inside (the next midnight); the user named the day before it.
    ...(filter.until === undefined ? [] : [`until ${day(filter.until - 1)}`]),
  ];
  const scope = [
    filter.domain === undefined ? 'all domains' : filter.domain,
    ...(range.length === 0 ? ['all stored data'] : range),
  ].join(', ');
  const lines: string[] = [
    `DMARC aggregate reports (${scope})`,
    `  Reports: ${number(totals.reports)} from ${plural(totals.reporters, 'reporter')}; messages: ${number(totals.messages)}`,
    `  DMARC pass (reporters' verdict): ${percent(rates.dmarcPass)} (${number(totals.dmarcPass)}); fail: ${number(totals.dmarcFail)}`,
    `  Aligned DKIM: ${percent(rates.dkimAligned)}; aligned SPF: ${percent(rates.spfAligned)}`,
    `  Recomputed from auth_results: DMARC pass ${percent(rates.recomputed.dmarcPass)} (${number(totals.recomputed.dmarcPass)}); aligned DKIM ${percent(rates.recomputed.dkimAligned)}; aligned SPF ${percent(rates.recomputed.spfAligned)}`,
    `  Failure reports: ${number(totals.failureReports)}; SMTP TLS reports: ${number(totals.tlsReports)}; quarantined inputs${filter.domain === undefined ? '' : ' naming it'}: ${number(totals.quarantined)}`,
  ];
  if (summary.days.length > 0) {
    lines.push('', `Messages per day (last ${Math.min(14, summary.days.length)}; pass rate: reporters', recomputed):`);
    for (const row of summary.days.slice(-14)) {
      const rate = (n: number) => percent(row.messages === 0 ? 0 : n / row.messages).padStart(6);
      lines.push(
        `  ${row.day}  ${number(row.messages).padStart(8)}  ${rate(row.dmarcPass)}  ${rate(row.recomputedPass)}`,
      );
    }
  }
  if (summary.topSources.length > 0) {
    lines.push(
      '',
      'Top sources:',
      `  ${'source IP'.padEnd(16)} ${'From domain'.padEnd(20)} ${'messages'.padStart(9)} ${'pass'.padStart(7)}  ${'service'.padEnd(20)} verdict`,
    );
    for (const s of summary.topSources) lines.push(`  ${sourceLine(s)}`);
  }
  const failing = summary.failingSources.filter((f) => f.messages > f.dmarcPass);
  if (failing.length > 0) {
    lines.push('', 'Sources failing DMARC (failing messages):');
    for (const f of failing) {
      const who = f.service?.name ?? (f.ptrConfirmed === true ? f.ptrDomain : undefined) ?? '-';
      lines.push(
        `  ${f.sourceIp.padEnd(16)} ${number(f.messages - f.dmarcPass).padStart(9)}  ${who.slice(0, 20).padEnd(20)} ${f.verdict}`,
      );
    }
  }
  if (summary.disagreements.length > 0) {
    const messages = summary.disagreements.reduce((n, d) => n + d.messages, 0);
    lines.push(
      '',
      `Reporters and recomputation disagree on ${plural(summary.disagreements.length, 'source')} (${plural(messages, 'message')}):`,
    );
    for (const d of summary.disagreements.slice(0, 10)) {
      const side = d.reporterPass === d.messages ? 'reporters pass' : d.reporterPass === 0 ? 'reporters fail' : 'mixed';
      lines.push(
        `  ${d.sourceIp.padEnd(16)} ${d.headerFrom.slice(0, 30).padEnd(30)} ${plural(d.messages, 'message')} (${side})`,
      );
      for (const reason of d.reasons) {
        lines.push(`    ${reason.reason}: ${reason.text} (${number(reason.messages)}; ${reason.reporters.join(', ')})`);
      }
    }
    if (summary.disagreements.length > 10) {
      lines.push(`  ... and ${plural(summary.disagreements.length - 10, 'more source')} (--json lists them all)`);
    }
  }
  if (summary.storedDomains !== undefined) {
    lines.push(
      '',
      `No aggregate report for ${filter.domain ?? ''}; the store has reports for: ${summary.storedDomains.join(', ')}`,
    );
  }
  const r = summary.readiness;
  lines.push('', `Readiness for p=reject: ${READINESS_TITLE[r.status]}`, `  ${r.explanation}`);
  for (const s of r.mustFix) {
    const who = s.service === undefined ? s.sourceIp : `${s.sourceIp} (${s.service.name})`;
    lines.push(`  fix ${who}: ${plural(s.messages - s.dmarcPass, 'failing message')}; ${advice(s)}`);
  }
  // Domains, PTR and AS names and reporter names come from strangers: no terminal escapes.
  return `${terminalSafe(lines.join('\n'), true)}\n`;
}

function sourceLine(s: SourceSummary): string {
  // The service when known; else what enrichment found: the confirmed PTR domain or the AS name.
  const who =
    s.service?.name ??
    (s.ptrConfirmed === true ? s.ptrDomain : undefined) ??
    (s.asName === undefined ? '-' : `AS${s.asn ?? '?'} ${s.asName}`);
  return `${s.sourceIp.padEnd(16)} ${s.headerFrom.slice(0, 20).padEnd(20)} ${number(s.messages).padStart(9)} ${percent(s.passRate).padStart(7)}  ${who.slice(0, 20).padEnd(20)} ${s.verdict}`;
}

function advice(s: SourceSummary): string {
  if (s.verdict === 'service-not-aligned') {
    return `${s.service?.name ?? 'the service'} signs as ${s.dkimDomain ?? 'its own domain'}, not ${s.headerFrom}: set up DKIM for ${s.headerFrom} there (or a custom MAIL FROM for SPF)`;
  }
  return `${(s.passRate * 100).toFixed(1)}% passes: find the path that breaks DKIM (a forwarder or list) or the server that does not sign`;
}
