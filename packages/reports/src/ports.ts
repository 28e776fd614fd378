/**
 * The ports the ingest pipeline needs, implemented by adapters: where messages come from
 * (ReportSource) and where reports go (ReportStore).
 */
import type {
  AggregateRecord,
  AggregateReport,
  DkimAuthResult,
  FailureReport,
  PolicyOverrideReason,
  PolicyPublished,
  SpfAuthResult,
  TlsReport,
} from './model.js';
import type { IpEnrichment } from './enrich.js';

/** One unit a source delivers: a file, or one message of a mailbox. */
export interface SourceItem {
  /** Stable name for logs and the quarantine, e.g. "maildir:/x/cur/123:2,S" or a file path. */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Set when the source could not deliver the item whole (e.g. over its size limit): it is quarantined with this reason. */
  readonly problem?: string;
  /**
   * The whole content as a stream, when the source can offer it (files). Ingest streams large XML
   * and gzip reports instead of holding them. When `size` exceeds `bytes.length`, `bytes` holds
   * only the first bytes and the stream is the only way to the rest.
   */
  readonly stream?: () => AsyncIterable<Uint8Array>;
  /** Size of the whole item in bytes, when known. */
  readonly size?: number;
}

export interface ReportSource {
  /** Items not yet acknowledged, in order. */
  items(): AsyncIterable<SourceItem>;
  /** Called once the store has committed everything found in the item (or quarantined it). */
  acknowledge(item: SourceItem, outcome: 'stored' | 'quarantined'): Promise<void>;
}

/** What one item turned into; saved together, in one transaction. */
export type StoreEntry =
  | { readonly kind: 'aggregate'; readonly report: AggregateReport }
  | { readonly kind: 'failure'; readonly report: FailureReport }
  | { readonly kind: 'tls'; readonly report: TlsReport }
  | { readonly kind: 'quarantine'; readonly reason: string; readonly bytes: Uint8Array };

export type SaveOutcome = 'stored' | 'duplicate';

export interface SummaryFilter {
  /** Policy domain (lower case). */
  readonly domain?: string;
  /** Reports whose range ends at or after this time (epoch seconds). */
  readonly since?: number;
  /** Reports whose range begins before this time (epoch seconds). */
  readonly until?: number;
}

/** DMARC pass and alignment counts of some messages. */
export interface VerdictTotals {
  readonly dmarcPass: number;
  readonly dmarcFail: number;
  readonly dkimAligned: number;
  readonly spfAligned: number;
}

export interface Totals extends VerdictTotals {
  /** Aggregate reports stored (each counted once, as received). */
  readonly reports: number;
  /** Reporting organisations among them. */
  readonly reporters: number;
  /** Policy domains they report on. */
  readonly domains: number;
  readonly messages: number;
  /**
   * `dmarcPass`, `dkimAligned` and `spfAligned` are the reporters' verdicts (policy_evaluated:
   * DMARC passes when its dkim or spf is pass); this is the same recomputed from auth_results.
   */
  readonly recomputed: VerdictTotals;
  readonly failureReports: number;
  readonly tlsReports: number;
  /** Quarantined inputs (with a domain filter: those that name the domain). */
  readonly quarantined: number;
}

/** Messages per source address and From domain, summed over the filtered reports. */
export interface SourceRow {
  readonly sourceIp: string;
  readonly headerFrom: string;
  readonly messages: number;
  /** The reporters' verdicts (policy_evaluated). */
  readonly dmarcPass: number;
  readonly dkimAligned: number;
  readonly spfAligned: number;
  /** The same, recomputed from auth_results. */
  readonly recomputed: { readonly dmarcPass: number; readonly dkimAligned: number; readonly spfAligned: number };
  /** Messages per applied disposition. */
  readonly quarantined: number;
  readonly rejected: number;
  /** A DKIM domain that passed for this source (the most frequent), for identifying the service. */
  readonly dkimDomain?: string;
  readonly reporters: number;
  /** From enrichment (`mailward reports enrich`), when done. */
  readonly ptr?: string;
  readonly ptrConfirmed?: boolean;
  readonly ptrDomain?: string;
  readonly asn?: number;
  readonly asName?: string;
  readonly country?: string;
}

/** Per UTC day in whole messages, with multi-day reports split by overlap (days.ts). */
export interface DayRow {
  /** ISO date, YYYY-MM-DD (UTC). */
  readonly day: string;
  readonly messages: number;
  /** The reporters' verdict. */
  readonly dmarcPass: number;
  readonly recomputedPass: number;
}

/** Records whose reporter verdict and recomputed verdict differ, grouped by what decides the difference. */
export interface DisagreementRow {
  readonly sourceIp: string;
  readonly headerFrom: string;
  readonly reporter: string;
  readonly reporterDkim: string;
  readonly reporterSpf: string;
  readonly policy: Pick<PolicyPublished, 'adkim' | 'aspf'>;
  readonly dkim: readonly DkimAuthResult[];
  readonly spf: readonly SpfAuthResult[];
  readonly messages: number;
}

/** The enrichment of a source address, when `reports enrich` has run. */
export interface SourceEnrichment {
  readonly ptr?: string;
  readonly ptrConfirmed?: boolean;
  readonly asn?: number;
  readonly asName?: string;
  readonly country?: string;
  readonly service?: string;
}

export interface StoredAggregateRow {
  readonly reporter: string;
  readonly reportId: string;
  readonly policyDomain: string;
  readonly begin: number;
  readonly end: number;
  readonly sourceIp: string;
  readonly count: number;
  readonly disposition: string;
  readonly headerFrom: string;
  readonly envelopeFrom: string | null;
  readonly dkimAligned: boolean;
  readonly spfAligned: boolean;
  readonly dmarcPass: boolean;
  readonly reporterDkim: string;
  readonly reporterSpf: string;
  readonly dkim: readonly DkimAuthResult[];
  readonly spf: readonly SpfAuthResult[];
  readonly reasons: readonly PolicyOverrideReason[];
  readonly enrichment?: SourceEnrichment;
}

/** Which rows of a list: at most `limit`, after skipping `offset`. */
export interface Page {
  readonly limit: number;
  readonly offset?: number;
}

export interface StoredAggregateSummary {
  readonly id: number;
  readonly reporter: string;
  readonly reportId: string;
  readonly policyDomain: string;
  readonly begin: number;
  readonly end: number;
  readonly records: number;
  readonly messages: number;
  /** Messages the reporter passed (policy_evaluated dkim or spf pass). */
  readonly dmarcPass: number;
  /** What parsing had to overlook or repair (a refused DOCTYPE, repaired XML, odd values). */
  readonly warnings: readonly string[];
  /** The report's own <error> elements. */
  readonly errors: readonly string[];
  readonly receivedAt: number;
}
export interface StoredAggregateReport extends StoredAggregateSummary {
  readonly source: string;
  readonly reporterEmail: string;
  readonly schema: string;
  readonly policy: PolicyPublished;
  /** Its records, in the report's order (at most the limit asked for; `records` says how many there are). */
  readonly rows: readonly StoredAggregateRow[];
}
export interface StoredFailureSummary {
  readonly id: number;
  readonly reporter: string;
  readonly format: string;
  readonly arrivalDate?: number;
  readonly receivedAt: number;
  readonly sourceIp?: string;
  readonly authFailure?: string;
  readonly reportedDomain?: string;
  readonly headerFrom?: string;
  readonly originalMailFrom?: string;
  readonly deliveryResult?: string;
}

export interface StoredFailureReport {
  readonly id: number;
  readonly source: string;
  readonly receivedAt: number;
  readonly report: FailureReport;
}

export interface StoredTlsSummary {
  readonly id: number;
  readonly organizationName: string;
  readonly reportId: string;
  readonly begin: number;
  readonly end: number;
  readonly policyDomains: readonly string[];
  readonly successfulSessions: number;
  readonly failedSessions: number;
  readonly receivedAt: number;
}

export interface StoredTlsReport {
  readonly id: number;
  readonly source: string;
  readonly receivedAt: number;
  readonly report: TlsReport;
}

export interface QuarantinedSummary {
  readonly id: number;
  readonly source: string;
  readonly reason: string;
  readonly size: number;
  readonly receivedAt: number;
  /** The domain the item seems to report on, when one could be read from it. */
  readonly domain?: string;
  readonly sha256: string;
}

export interface QuarantinedItem extends QuarantinedSummary {
  readonly bytes: Uint8Array;
}

/** Failure, TLS and quarantine lists: by domain, and by date (arrival, range end, receipt). */
export interface ListFilter {
  readonly domain?: string;
  readonly since?: number;
  readonly until?: number;
}

/** An aggregate report being written as it streams in; nothing is visible until commit. */
export interface AggregateWriter {
  add(records: readonly AggregateRecord[]): Promise<void>;
  /** Commits, with the report's final warnings (its records came through add). */
  commit(report: Omit<AggregateReport, 'records'>): Promise<void>;
  abort(): Promise<void>;
}

export interface ReportStore {
  /** Saves all entries of one item atomically; each aggregate/failure/TLS report is stored once. */
  save(entries: readonly StoreEntry[], source: string): Promise<SaveOutcome[]>;
  /** Saves several items in one transaction (all or none); outcomes per item, per entry. */
  saveBatch(
    items: readonly { readonly entries: readonly StoreEntry[]; readonly source: string }[],
  ): Promise<SaveOutcome[][]>;
  /** Opens one aggregate report for streaming records into it, or 'duplicate' when it is stored already. */
  beginAggregate(header: Omit<AggregateReport, 'records'>, source: string): Promise<AggregateWriter | 'duplicate'>;
  totals(filter: SummaryFilter): Promise<Totals>;
  sources(filter: SummaryFilter, limit: number): Promise<SourceRow[]>;
  days(filter: SummaryFilter): Promise<DayRow[]>;
  /** Records where the reporter's verdict and the recomputed one differ, most messages first. */
  disagreements(filter: SummaryFilter, limit: number): Promise<DisagreementRow[]>;
  /** Aggregate reports, newest first; `withWarnings` keeps those parsed with a warning. */
  aggregateReports(
    filter: ListFilter & { readonly withWarnings?: boolean },
    page: Page,
  ): Promise<StoredAggregateSummary[]>;
  aggregateReport(id: number, recordLimit: number): Promise<StoredAggregateReport | undefined>;
  failureReports(filter: ListFilter, page: Page): Promise<StoredFailureSummary[]>;
  failureReport(id: number): Promise<StoredFailureReport | undefined>;
  tlsReports(filter: ListFilter, page: Page): Promise<StoredTlsSummary[]>;
  tlsReport(id: number): Promise<StoredTlsReport | undefined>;
  quarantinedItems(filter: ListFilter, page: Page): Promise<QuarantinedSummary[]>;
  quarantinedItem(id: number): Promise<QuarantinedItem | undefined>;
  /** The policy domains of the stored aggregate reports, those with the most reports first (at most `limit`). */
  policyDomains(limit: number): Promise<string[]>;
  /** Source addresses of stored records that have no enrichment yet (at most `limit`). */
  unenrichedSourceIps(limit: number): Promise<string[]>;
  /** Stores (or replaces) enrichment results. */
  saveIpInfo(rows: readonly IpEnrichment[], lookedUpAt: number): Promise<void>;
  /** Every stored aggregate record with its report's key, in a stable order (export). */
  aggregateRows(filter: SummaryFilter): AsyncIterable<StoredAggregateRow>;
  close(): Promise<void>;
}
