/**
 * The verdict journal: one row per message this receiver evaluated (the milter, Exim's content
 * check), kept so that RFC 9990 aggregate reports can be generated from them later. Field names
 * follow RFC 9990's aggregate report elements (RFC 9990 Appendix A, the XML schema) in camelCase,
 * as the rest of the report model does; what the report has no element for (time, queue id, the
 * action taken) is named plainly.
 */
import type {
  DkimAuthResult,
  DmarcDisposition,
  PolicyOverrideReason,
  PolicyPublished,
  SpfAuthResult,
} from './model.js';

/** What the MTA was told to do with the message. */
export type VerdictAction = 'accept' | 'reject' | 'tempfail' | 'quarantine';

/** Which integration evaluated the message. */
export type VerdictReceiver = 'milter' | 'exim';

export interface VerdictRecord {
  /** When the verdict was reached, milliseconds since the epoch (UTC). */
  readonly time: number;
  readonly receiver: VerdictReceiver;
  /** The MTA's queue id, when it gave one (keys the verdict to the MTA's log). */
  readonly queueId?: string;
  /** RFC 9990 row/source_ip: the SMTP client address. */
  readonly sourceIp: string;
  /** The HELO/EHLO name the client gave. */
  readonly helo?: string;
  /** RFC 9990 identifiers/envelope_from: the RFC5321.MailFrom domain ("" for the null reverse-path). */
  readonly envelopeFrom: string;
  /** RFC 9990 identifiers/header_from: the RFC5322.From domain ("" when the From is unusable; "a, b" for several). */
  readonly headerFrom: string;
  /** RFC 9990 identifiers/envelope_to: the RFC5321.RcptTo domains, distinct, in order. */
  readonly envelopeTo: readonly string[];
  /** RFC 9990 policy_published, when a DMARC record was found. */
  readonly policyPublished?: PolicyPublished;
  /** The domain whose policy applies (policy_published/domain), or the author domain when none was found. */
  readonly policyDomain: string;
  /** RFC 9990 policy_evaluated. */
  readonly policyEvaluated: {
    /** The disposition applied: pass, or the policy this receiver actually enforced. */
    readonly disposition: DmarcDisposition;
    /** DMARC's verdicts: an aligned DKIM pass, an aligned SPF pass. */
    readonly dkim: 'pass' | 'fail';
    readonly spf: 'pass' | 'fail';
    /** Why the applied disposition differs from the published policy. */
    readonly reasons: readonly PolicyOverrideReason[];
  };
  /** RFC 9990 auth_results: every DKIM signature with a domain, and SPF of the MAIL FROM identity. */
  readonly authResults: {
    readonly dkim: readonly DkimAuthResult[];
    readonly spf: readonly SpfAuthResult[];
  };
  /** The DMARC result (RFC 9989 §4.10): pass, fail, none, temperror, permerror. */
  readonly dmarc: string;
  /** What the MTA was told. */
  readonly action: VerdictAction;
  /** When not enforcing (dry run, or a domain without enforcement): what enforcement would have done. */
  readonly wouldHave?: VerdictAction;
  /** The requested policy was weakened by t=y (RFC 9989 §4.7): the report's testing flag. */
  readonly testing: boolean;
}

/** A stored verdict: the record and the journal's own sequence number. */
export interface StoredVerdict extends VerdictRecord {
  readonly id: number;
}

/** Which verdicts: by time (milliseconds, since inclusive, until exclusive) and policy domain (lower case). */
export interface VerdictFilter {
  readonly since?: number;
  readonly until?: number;
  readonly policyDomain?: string;
}

export interface VerdictJournal {
  /**
   * Appends verdicts in one transaction; the promise resolves once they are committed (so a
   * caller that awaits it before answering the MTA never answers for an unrecorded verdict).
   */
  appendVerdicts(records: readonly VerdictRecord[]): Promise<void>;
  /**
   * Verdicts matching the filter in the order they were appended (time order for one receiver;
   * two receivers sharing a store may interleave by a few milliseconds), read page by page.
   */
  verdicts(filter: VerdictFilter): AsyncIterable<StoredVerdict>;
  countVerdicts(filter: VerdictFilter): Promise<number>;
}
