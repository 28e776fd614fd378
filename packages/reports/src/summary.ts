/**
 * Summaries of stored aggregate reports, pure over what the store returns: totals, pass and
 * alignment rates, volume per day, the top sources with the service behind them, failing sources,
 * where the reporters' verdict and the recomputed one disagree, and readiness for p=reject —
 * which legitimate senders still fail DMARC and must be fixed first.
 *
 * The headline figures are the reporters' verdicts (policy_evaluated: a record passes when its dkim
 * or spf is pass), as parsedmarc and every DMARC dashboard show them: the reporter saw the message,
 * the report is a summary of it. The alignment mailward recomputes from auth_results sits beside
 * them under `recomputed`.
 */
import type { DayRow, DisagreementRow, ReportStore, SourceRow, SummaryFilter, Totals } from './ports.js';
import type { ServiceType } from './services.js';
import { identifyService } from './services.js';
import type { DisagreementReason } from './alignment.js';
import { DISAGREEMENT_TEXT, explainDisagreement, reporterPasses } from './alignment.js';

/** How a source looks from the reporters' verdicts (documented in docs/reports.md). */
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
  /** Share of its messages the reporters passed. */
  readonly passRate: number;
  /** Share of its messages that pass when recomputed from auth_results. */
  readonly recomputedPassRate: number;
  readonly service?: { readonly name: string; readonly type: ServiceType };
  readonly verdict: SourceVerdict;
}

/** Below any of these, readiness says "not enough data" (configurable per call). */
export interface DataMinimum {
  /** Distinct UTC days with report data. */
  readonly days: number;
  readonly messages: number;
  /** Distinct reporting organisations. */
  readonly reporters: number;
}

/** Two weeks from two reporters: one reporter or a few days can miss a sender that mails weekly. */
export const DEFAULT_DATA_MINIMUM: DataMinimum = { days: 14, messages: 100, reporters: 2 };

export type ReadinessStatus =
  /** Enough data, and every source that looks legitimate passes. */
  | 'ready'
  /** A legitimate source still fails: fix it first. */
  | 'not-ready'
  /** No legitimate source fails, but the data is below the minimum to say so. */
  | 'not-enough-data'
  /** The data covers several policy domains: readiness is judged per domain (--domain). */
  | 'several-domains'
  /** No aggregate data at all. */
  | 'no-data';

export interface Readiness {
  readonly status: ReadinessStatus;
  /** True only for status 'ready'. */
  readonly ready: boolean;
  /** What the verdict rests on, and the minimum it needs. */
  readonly data: { readonly days: number; readonly messages: number; readonly reporters: number };
  readonly minimum: DataMinimum;
  /** Legitimate sources that still fail: fix these before p=reject. */
  readonly mustFix: readonly SourceSummary[];
  /** Failing mail that looks like spoofing: p=reject would stop it. */
  readonly wouldBlock: { readonly sources: number; readonly messages: number };
  readonly explanation: string;
}

/** A source whose records the reporters and the recomputation judge differently, and why. */
export interface SourceDisagreement {
  readonly sourceIp: string;
  readonly headerFrom: string;
  /** Messages in the disagreeing records. */
  readonly messages: number;
  /** Of those, passed by the reporters (the rest pass only when recomputed). */
  readonly reporterPass: number;
  readonly reasons: readonly {
    readonly reason: DisagreementReason;
    readonly text: string;
    readonly messages: number;
    readonly reporters: readonly string[];
  }[];
}

export interface ReportSummary {
  readonly filter: SummaryFilter;
  readonly totals: Totals;
  /** Shares of messages, 0..1 (0 when there are none); the reporters' verdicts, and ours beside them. */
  readonly rates: {
    readonly dmarcPass: number;
    readonly dkimAligned: number;
    readonly spfAligned: number;
    readonly recomputed: { readonly dmarcPass: number; readonly dkimAligned: number; readonly spfAligned: number };
  };
  readonly days: readonly DayRow[];
  readonly topSources: readonly SourceSummary[];
  readonly failingSources: readonly SourceSummary[];
  /** Every source (up to the store's limit) where the two verdicts differ, most messages first. */
  readonly disagreements: readonly SourceDisagreement[];
  readonly readiness: Readiness;
  /** With a domain filter that matches no aggregate report: the policy domains the store has (a typo?). */
  readonly storedDomains?: readonly string[];
}

export interface SummaryOptions {
  readonly topN?: number;
  readonly minimum?: Partial<DataMinimum>;
}

/** How many stored policy domains a summary names when its domain filter matched none. */
const STORED_DOMAINS_SHOWN = 20;

/** A source passing at least this share of its mail counts as passing. */
const PASSING_SHARE = 0.98;
/** Source rows and disagreement groups read from the store. */
const SOURCE_LIMIT = 10_000;

export function classifySource(row: SourceRow): SourceSummary {
  const passRate = row.messages === 0 ? 0 : row.dmarcPass / row.messages;
  const recomputedPassRate = row.messages === 0 ? 0 : row.recomputed.dmarcPass / row.messages;
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
    recomputedPassRate,
    ...(service !== undefined && { service: { name: service.name, type: service.type } }),
    verdict,
  };
}

export async function summarize(
  store: ReportStore,
  filter: SummaryFilter,
  options: SummaryOptions = {},
): Promise<ReportSummary> {
  const topN = options.topN ?? 10;
  const [totals, rows, days, disagreementRows, storedDomains] = await Promise.all([
    store.totals(filter),
    store.sources(filter, SOURCE_LIMIT),
    store.days(filter),
    store.disagreements(filter, SOURCE_LIMIT),
    filter.domain === undefined ? Promise.resolve(undefined) : store.policyDomains(STORED_DOMAINS_SHOWN),
  ]);
  const sources = rows.map(classifySource);
  const share = (n: number) => (totals.messages === 0 ? 0 : n / totals.messages);
  const failing = sources.filter((s) => s.verdict !== 'passing');
  const minimum = { ...DEFAULT_DATA_MINIMUM, ...options.minimum };
  const data = {
    days: days.filter((d) => d.messages > 0).length,
    messages: totals.messages,
    reporters: totals.reporters,
  };
  return {
    filter,
    totals,
    rates: {
      dmarcPass: share(totals.dmarcPass),
      dkimAligned: share(totals.dkimAligned),
      spfAligned: share(totals.spfAligned),
      recomputed: {
        dmarcPass: share(totals.recomputed.dmarcPass),
        dkimAligned: share(totals.recomputed.dkimAligned),
        spfAligned: share(totals.recomputed.spfAligned),
      },
    },
    days,
    topSources: sources.slice(0, topN),
    failingSources: [...failing].sort((a, b) => b.messages - b.dmarcPass - (a.messages - a.dmarcPass)).slice(0, topN),
    disagreements: groupDisagreements(disagreementRows),
    readiness: readiness(sources, data, minimum, filter.domain === undefined ? totals.domains : 1),
    ...(totals.reports === 0 && storedDomains !== undefined && storedDomains.length > 0 && { storedDomains }),
  };
}

/** Explains each disagreeing group and gathers them per source (IP and From domain). */
export function groupDisagreements(rows: readonly DisagreementRow[]): SourceDisagreement[] {
  interface Entry {
    sourceIp: string;
    headerFrom: string;
    messages: number;
    reporterPass: number;
    reasons: Map<DisagreementReason, { messages: number; reporters: Set<string> }>;
  }
  const bySource = new Map<string, Entry>();
  for (const row of rows) {
    const reason = explainDisagreement(row);
    if (reason === undefined) continue;
    const key = `${row.sourceIp} ${row.headerFrom}`;
    let entry = bySource.get(key);
    if (entry === undefined) {
      entry = { sourceIp: row.sourceIp, headerFrom: row.headerFrom, messages: 0, reporterPass: 0, reasons: new Map() };
      bySource.set(key, entry);
    }
    entry.messages += row.messages;
    if (reporterPasses(row)) entry.reporterPass += row.messages;
    let counted = entry.reasons.get(reason);
    if (counted === undefined) {
      counted = { messages: 0, reporters: new Set() };
      entry.reasons.set(reason, counted);
    }
    counted.messages += row.messages;
    counted.reporters.add(row.reporter);
  }
  return [...bySource.values()]
    .sort((a, b) => b.messages - a.messages || a.sourceIp.localeCompare(b.sourceIp))
    .map((e) => ({
      sourceIp: e.sourceIp,
      headerFrom: e.headerFrom,
      messages: e.messages,
      reporterPass: e.reporterPass,
      reasons: [...e.reasons.entries()]
        .sort((a, b) => b[1].messages - a[1].messages)
        .map(([reason, c]) => ({
          reason,
          text: DISAGREEMENT_TEXT[reason],
          messages: c.messages,
          reporters: [...c.reporters].sort(),
        })),
    }));
}

const plural = (n: number, word: string, many = `${word}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;

function readiness(
  sources: readonly SourceSummary[],
  data: Readiness['data'],
  minimum: DataMinimum,
  domains: number,
): Readiness {
  const mustFix = sources.filter((s) => s.verdict === 'partly-failing' || s.verdict === 'service-not-aligned');
  const blocked = sources.filter((s) => s.verdict === 'unauthenticated' || s.verdict === 'unaligned-sender');
  const wouldBlock = {
    sources: blocked.length,
    messages: blocked.reduce((sum, s) => sum + s.messages - s.dmarcPass, 0),
  };
  const base = { data, minimum, mustFix, wouldBlock };
  if (data.messages === 0) {
    return {
      ...base,
      status: 'no-data',
      ready: false,
      explanation: 'no aggregate data yet: collect reports under p=none first',
    };
  }
  // A policy is published per domain: one verdict over several would mix their senders.
  if (domains > 1) {
    return {
      ...base,
      status: 'several-domains',
      ready: false,
      explanation: `these reports cover ${domains} policy domains, and p=reject is set per domain: add --domain D for each`,
    };
  }
  if (mustFix.length > 0) {
    const names = mustFix.slice(0, 3).map((s) => s.service?.name ?? s.sourceIp);
    return {
      ...base,
      status: 'not-ready',
      ready: false,
      explanation: `${plural(mustFix.length, 'legitimate source')} still fail${mustFix.length === 1 ? 's' : ''} DMARC (${names.join(', ')}${
        mustFix.length > 3 ? ', ...' : ''
      }): align them (DKIM with your domain, or SPF) before p=quarantine or p=reject`,
    };
  }
  const short = [
    data.days < minimum.days ? `${plural(data.days, 'day')} of data (at least ${minimum.days} needed)` : undefined,
    data.messages < minimum.messages ? `${plural(data.messages, 'message')} (at least ${minimum.messages})` : undefined,
    data.reporters < minimum.reporters
      ? `${plural(data.reporters, 'reporter')} (at least ${minimum.reporters})`
      : undefined,
  ].filter((s): s is string => s !== undefined);
  if (short.length > 0) {
    return {
      ...base,
      status: 'not-enough-data',
      ready: false,
      explanation: `not enough data to judge: ${short.join(', ')}; no legitimate source fails so far — keep collecting reports under p=none`,
    };
  }
  return {
    ...base,
    status: 'ready',
    ready: true,
    explanation: `every source that looks legitimate passes DMARC over ${plural(data.days, 'day')} from ${plural(data.reporters, 'reporter')}; p=reject would block ${plural(wouldBlock.messages, 'message')} from ${plural(wouldBlock.sources, 'unauthenticated source')}`,
  };
}
