/** Text rendering of a report summary: pure, summary in, lines out. */
import type { ReportSummary, SourceSummary } from '@mailward/reports';

const number = (n: number): string => Math.round(n).toLocaleString('en-US');
const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
const day = (epochDay: number): string => new Date(epochDay * 86_400_000).toISOString().slice(0, 10);

export function renderSummaryText(summary: ReportSummary): string {
  const { totals, rates, filter } = summary;
  const scope = [
    filter.domain === undefined ? 'all domains' : filter.domain,
    filter.since === undefined
      ? 'all stored data'
      : `since ${new Date(filter.since * 1000).toISOString().slice(0, 10)}`,
  ].join(', ');
  const lines: string[] = [
    `DMARC aggregate reports (${scope})`,
    `  Reports: ${number(totals.reports)}; messages: ${number(totals.messages)}`,
    `  DMARC pass: ${percent(rates.dmarcPass)} (${number(totals.dmarcPass)}); fail: ${number(totals.dmarcFail)}`,
    `  Aligned DKIM: ${percent(rates.dkimAligned)}; aligned SPF: ${percent(rates.spfAligned)}`,
    `  Failure reports: ${number(totals.failureReports)}; SMTP TLS reports: ${number(totals.tlsReports)}; quarantined inputs: ${number(totals.quarantined)}`,
  ];
  if (summary.days.length > 0) {
    lines.push('', 'Messages per day (DMARC pass rate):');
    for (const row of summary.days.slice(-14)) {
      lines.push(
        `  ${day(row.day)}  ${number(row.messages).padStart(8)}  ${percent(row.messages === 0 ? 0 : row.dmarcPass / row.messages).padStart(6)}`,
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
  const r = summary.readiness;
  lines.push('', `Readiness for p=reject: ${r.ready ? 'ready' : 'not ready'}`, `  ${r.explanation}`);
  for (const s of r.mustFix) {
    const who = s.service === undefined ? s.sourceIp : `${s.sourceIp} (${s.service.name})`;
    lines.push(`  fix ${who}: ${number(s.messages - s.dmarcPass)} failing messages; ${advice(s)}`);
  }
  return `${lines.join('\n')}\n`;
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
