/**
 * Summaries of stored aggregate reports, pure over what the store returns: totals, pass and
 * alignment rates, volume per day, the top sources with the service behind them, failing sources,
 * and readiness for p=reject — which legitimate senders still fail DMARC and must be fixed first.
 */
import type { DayRow, ReportStore, SourceRow, SummaryFilter, Totals } from './ports.js';
import type { ServiceType } from './services.js';
import { identifyService } from './services.js';

/** How a source looks from its results. */
export type SourceVerdict =
  /** DMARC passes for (nearly) all of its mail. */
  | 'passing'
  /** Some of its mail passes: a legitimate sender with a gap (a forwarder, a second server, a missing DKIM key). */
  | 'partly-failing'
  /** A known sending service whose mail is not aligned: set up DKIM with your domain there, or SPF. */
  | 'service-not-aligned'
  /** Authenticates as another domain only (DKIM pass for d= that is not yours). */
  | 'unaligned-sender'
  /** No authentication for your domain at all: spoofing, or an unknown forwarder. */
  | 'unauthenticated';

export interface SourceSummary extends SourceRow {
  readonly passRate: number;
  readonly service?: { readonly name: string; readonly type: ServiceType };
  readonly verdict: SourceVerdict;
}

export interface Readiness {
  /** True when no legitimate source still fails. */
  readonly ready: boolean;
  /** Legitimate sources that still fail: fix these before p=reject. */
  readonly mustFix: readonly SourceSummary[];
  /** Failing mail that looks like spoofing: p=reject would stop it. */
  readonly wouldBlock: { readonly sources: number; readonly messages: number };
  readonly explanation: string;
}

export interface ReportSummary {
  readonly filter: SummaryFilter;
  readonly totals: Totals;
  /** Shares of messages, 0..1 (0 when there are none). */
  readonly rates: { readonly dmarcPass: number; readonly dkimAligned: number; readonly spfAligned: number };
  readonly days: readonly DayRow[];
  readonly topSources: readonly SourceSummary[];
  readonly failingSources: readonly SourceSummary[];
  readonly readiness: Readiness;
}

/** A source passing at least this share of its mail counts as passing. */
const PASSING_SHARE = 0.98;

export function classifySource(row: SourceRow): SourceSummary {
  const passRate = row.messages === 0 ? 0 : row.dmarcPass / row.messages;
  const service = identifyService({
    ...(row.dkimDomain !== undefined && { dkimDomain: row.dkimDomain }),
    // Only a forward-confirmed PTR name is evidence; an unconfirmed one is whatever its owner wrote.
    ...(row.ptr !== undefined && row.ptrConfirmed === true && { ptrName: row.ptr }),
    ...(row.asn !== undefined && { asn: row.asn }),
  });
  let verdict: SourceVerdict;
  if (passRate >= PASSING_SHARE) verdict = 'passing';
  else if (passRate > 0) verdict = 'partly-failing';
  else if (service !== undefined) verdict = 'service-not-aligned';
  else if (row.dkimDomain !== undefined) verdict = 'unaligned-sender';
  else verdict = 'unauthenticated';
  return {
    ...row,
    passRate,
    ...(service !== undefined && { service: { name: service.name, type: service.type } }),
    verdict,
  };
}

export async function summarize(store: ReportStore, filter: SummaryFilter, topN = 10): Promise<ReportSummary> {
  const [totals, rows, days] = await Promise.all([
    store.totals(filter),
    store.sources(filter, 10_000),
    store.days(filter),
  ]);
  const sources = rows.map(classifySource);
  const share = (n: number) => (totals.messages === 0 ? 0 : n / totals.messages);
  const failing = sources.filter((s) => s.verdict !== 'passing');
  return {
    filter,
    totals,
    rates: {
      dmarcPass: share(totals.dmarcPass),
      dkimAligned: share(totals.dkimAligned),
      spfAligned: share(totals.spfAligned),
    },
    days,
    topSources: sources.slice(0, topN),
    failingSources: [...failing].sort((a, b) => b.messages - b.dmarcPass - (a.messages - a.dmarcPass)).slice(0, topN),
    readiness: readiness(sources, totals),
  };
}

function readiness(sources: readonly SourceSummary[], totals: Totals): Readiness {
  const mustFix = sources.filter((s) => s.verdict === 'partly-failing' || s.verdict === 'service-not-aligned');
  const blocked = sources.filter((s) => s.verdict === 'unauthenticated' || s.verdict === 'unaligned-sender');
  const wouldBlock = {
    sources: blocked.length,
    messages: blocked.reduce((sum, s) => sum + s.messages - s.dmarcPass, 0),
  };
  if (totals.messages === 0) {
    return {
      ready: false,
      mustFix: [],
      wouldBlock,
      explanation: 'no aggregate data yet: collect reports under p=none first',
    };
  }
  const ready = mustFix.length === 0;
  const explanation = ready
    ? `every source that looks legitimate passes DMARC; p=reject would block ${wouldBlock.messages} messages from ${wouldBlock.sources} unauthenticated sources`
    : `${mustFix.length} legitimate source${mustFix.length === 1 ? '' : 's'} still fail${mustFix.length === 1 ? 's' : ''} DMARC (${mustFix
        .slice(0, 3)
        .map((s) => s.service?.name ?? s.sourceIp)
        .join(
          ', ',
        )}${mustFix.length > 3 ? ', ...' : ''}): align them (DKIM with your domain, or SPF) before p=quarantine or p=reject`;
  return { ready, mustFix, wouldBlock, explanation };
}
