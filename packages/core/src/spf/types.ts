import type { QueryLogEntry } from '../dns/query-log.js';

/** RFC 7208 §2.6 results. */
export type SpfResult = 'none' | 'neutral' | 'pass' | 'fail' | 'softfail' | 'temperror' | 'permerror';

export type Qualifier = '+' | '-' | '~' | '?';

export const QUALIFIER_RESULT: Record<Qualifier, SpfResult> = {
  '+': 'pass',
  '-': 'fail',
  '~': 'softfail',
  '?': 'neutral',
};

/** The identity checked (RFC 7208 §2.3, §2.4). */
export type SpfIdentity = 'mailfrom' | 'helo';

/** The §4.6.4 processing limits; all configurable, RFC values by default. */
export interface SpfLimits {
  /** Terms that cause DNS queries (include, a, mx, ptr, exists, redirect). RFC: 10. */
  readonly dnsTerms: number;
  /** Lookups that return NXDOMAIN or no answers. RFC: 2. */
  readonly voidLookups: number;
  /** MX names one `mx` mechanism may look up addresses for. RFC: 10. */
  readonly mxNames: number;
  /** PTR names one `ptr` mechanism or `%{p}` macro considers. RFC: 10. */
  readonly ptrNames: number;
  /** Overall time for one check, in milliseconds. RFC §4.6.4 suggests at least 20 seconds. */
  readonly timeBudgetMs: number;
  /** Longest include/redirect nesting followed before giving up (a chain deeper than the term limit is impossible anyway). */
  readonly maxDepth: number;
}

export const DEFAULT_LIMITS: SpfLimits = {
  dnsTerms: 10,
  voidLookups: 2,
  mxNames: 10,
  ptrNames: 10,
  timeBudgetMs: 20_000,
  maxDepth: 20,
};

export interface SpfCheckResult {
  readonly result: SpfResult;
  /** Why, in one sentence an administrator can act on. */
  readonly reason: string;
  /** The identity checked and its domain. */
  readonly identity: SpfIdentity;
  readonly domain: string;
  /** The directive that matched (as written, with the domain whose record holds it). */
  readonly mechanism?: { readonly text: string; readonly domain: string };
  /** For `fail`: the explanation from exp= (RFC 7208 §6.2) or the default text. */
  readonly explanation?: string;
  /** Whether the explanation came from the domain's exp= or is mailward's default. */
  readonly explanationSource?: 'exp' | 'default';
  /** DNS-querying terms evaluated (the count limited to `dnsTerms`). */
  readonly lookups: number;
  readonly voidLookups: number;
  /** Every DNS query made, in order, with its outcome and duration. */
  readonly trace: readonly QueryLogEntry[];
  /** The SPF record of the checked domain, when one was found. */
  readonly record?: string;
}
