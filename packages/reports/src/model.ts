/**
 * The report model: DMARC aggregate reports (RFC 7489 Appendix C, RFC 9990), failure reports
 * (RFC 6591, RFC 9991) and SMTP TLS reports (RFC 8460), normalised. Field names follow the
 * RFCs' element names in camelCase. Times are UTC epoch seconds.
 */

/** A problem that did not stop parsing, kept on the report ("where: what"). */
export type ParseWarning = string;

export type AggregateSchema = 'rfc9990' | 'rfc7489' | 'draft';

export type DmarcDisposition = 'none' | 'quarantine' | 'reject' | 'pass';

export interface AggregateMetadata {
  readonly orgName: string;
  readonly email: string;
  readonly extraContactInfo?: string;
  readonly reportId: string;
  /** date_range begin and end, epoch seconds (UTC). */
  readonly begin: number;
  readonly end: number;
  readonly errors: readonly string[];
  /** RFC 9990: the software that produced the report. */
  readonly generator?: string;
}

export interface PolicyPublished {
  readonly domain: string;
  readonly adkim?: 'r' | 's';
  readonly aspf?: 'r' | 's';
  readonly p?: string;
  readonly sp?: string;
  /** RFC 9990. */
  readonly np?: string;
  /** RFC 7489 only. */
  readonly pct?: number;
  readonly fo?: string;
  /** RFC 9990 testing (t=y): "y" or "n". */
  readonly testing?: string;
  /** RFC 9990: "psl" or "treewalk". */
  readonly discoveryMethod?: string;
}

export interface PolicyOverrideReason {
  readonly type: string;
  readonly comment?: string;
}

export interface DkimAuthResult {
  readonly domain: string;
  readonly selector?: string;
  readonly result: string;
  readonly humanResult?: string;
}

export interface SpfAuthResult {
  readonly domain: string;
  /** mfrom or helo (RFC 7489); absent in RFC 9990. */
  readonly scope?: string;
  readonly result: string;
  readonly humanResult?: string;
}

/** Alignment recomputed from the reported results (the reporter's verdict is kept separately). */
export interface RecomputedAlignment {
  readonly dkim: boolean;
  readonly spf: boolean;
  readonly dmarc: boolean;
}

export interface AggregateRecord {
  readonly sourceIp: string;
  readonly count: number;
  readonly disposition: DmarcDisposition | string;
  /** The reporter's DMARC verdicts (policy_evaluated dkim and spf). */
  readonly policyDkim: string;
  readonly policySpf: string;
  readonly reasons: readonly PolicyOverrideReason[];
  readonly headerFrom: string;
  readonly envelopeFrom?: string;
  readonly envelopeTo?: string;
  readonly dkim: readonly DkimAuthResult[];
  readonly spf: readonly SpfAuthResult[];
  readonly alignment: RecomputedAlignment;
}

export interface AggregateReport {
  readonly kind: 'aggregate';
  readonly schema: AggregateSchema;
  /** <version> when given (RFC 7489 "1.0", RFC 9990 "1.0" with the 2.0 namespace). */
  readonly version?: string;
  readonly metadata: AggregateMetadata;
  readonly policy: PolicyPublished;
  readonly records: readonly AggregateRecord[];
  readonly warnings: readonly ParseWarning[];
}

/** Failure report (RFC 6591 ARF with Feedback-Type: auth-failure, RFC 9991, and common non-ARF variants). */
export interface FailureReport {
  readonly kind: 'failure';
  /** ARF, or "non-arf" for plain-text variants. */
  readonly format: 'arf' | 'non-arf';
  /** Reporter (From of the report message, or Reporting-MTA). */
  readonly reporter: string;
  /** Report message's Message-ID or a derived identifier; used for deduplication. */
  readonly reportId: string;
  /** Arrival-Date (epoch seconds), when given. */
  readonly arrivalDate?: number;
  readonly sourceIp?: string;
  /** Auth-Failure: dmarc, dkim, spf, adsp, bodyhash, revoked, signature (RFC 6591 §3.2.2). */
  readonly authFailure?: string;
  /** RFC 9991 Identity-Alignment: dkim, spf, none, or a list. */
  readonly identityAlignment?: string;
  readonly deliveryResult?: string;
  readonly originalMailFrom?: string;
  readonly originalRcptTo?: string;
  readonly reportedDomain?: string;
  readonly dkimDomain?: string;
  readonly dkimSelector?: string;
  readonly authenticationResults?: string;
  /** The reported message's header (the body is dropped unless asked for: privacy). */
  readonly reportedHeaders: string;
  readonly reportedBody?: string;
  readonly subject?: string;
  readonly headerFrom?: string;
  readonly warnings: readonly ParseWarning[];
}

/** RFC 8460 SMTP TLS report. */
export interface TlsReport {
  readonly kind: 'tls';
  readonly organizationName: string;
  readonly contactInfo?: string;
  readonly reportId: string;
  readonly begin: number;
  readonly end: number;
  readonly policies: readonly TlsPolicyResult[];
  readonly warnings: readonly ParseWarning[];
}

export interface TlsPolicyResult {
  /** sts, tlsa or no-policy-found. */
  readonly policyType: string;
  readonly policyDomain: string;
  readonly policyStrings: readonly string[];
  readonly mxHosts: readonly string[];
  readonly totalSuccessfulSessionCount: number;
  readonly totalFailureSessionCount: number;
  readonly failureDetails: readonly TlsFailureDetail[];
}

export interface TlsFailureDetail {
  readonly resultType: string;
  readonly sendingMtaIp?: string;
  readonly receivingMxHostname?: string;
  readonly receivingMxHelo?: string;
  readonly receivingIp?: string;
  readonly failedSessionCount: number;
  readonly additionalInformation?: string;
  readonly failureReasonCode?: string;
}

export type Report = AggregateReport | FailureReport | TlsReport;

/** A parse that failed: what was wrong and where. */
export interface ParseFailure {
  readonly ok: false;
  readonly reason: string;
}

export type ParseResult<T> = { readonly ok: true; readonly report: T } | ParseFailure;
