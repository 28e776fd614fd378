/**
 * DMARC alignment recomputed from what an aggregate report lists (its auth_results), and why it
 * can differ from the reporter's own verdict (policy_evaluated). The reporter saw the message; we
 * see a summary of it. So the reporter's verdict is the headline figure, and ours is a check on it:
 * where the two disagree, `explainDisagreement` names the likely cause.
 */
import { organizationalDomain } from '@mailward/core';
import type { DkimAuthResult, PolicyPublished, SpfAuthResult } from './model.js';

/**
 * The domains of a header_from field. Real reports carry lists ("pages.example.com, example.com")
 * when the message had several From addresses (RFC 5322 §3.6.2 allows a mailbox-list); RFC 7489
 * §6.6.1 lets a receiver apply DMARC to each. Empty when the field is empty.
 */
export function headerFromDomains(headerFrom: string): string[] {
  const domains: string[] = [];
  for (const part of headerFrom.toLowerCase().split(/[\s,;]+/)) {
    // Some reporters write the address, not the domain.
    const domain = part
      .slice(part.lastIndexOf('@') + 1)
      .replace(/^<|>$/g, '')
      .replace(/\.$/, '');
    if (domain !== '' && !domains.includes(domain)) domains.push(domain);
  }
  return domains;
}

export interface RecomputedAlignmentResult {
  readonly dkim: boolean;
  readonly spf: boolean;
  readonly dmarc: boolean;
}

interface AlignmentRules {
  readonly adkim?: 'r' | 's' | undefined;
  readonly aspf?: 'r' | 's' | undefined;
  /** Organizational domains from the PSL with its private section (default) or the ICANN part only. */
  readonly privateDomains?: boolean;
  /** Count SPF passes of any scope (some reporters list only the HELO check). */
  readonly anySpfScope?: boolean;
}

const ORG_CACHE = new Map<string, string | undefined>();
const ORG_CACHE_SIZE = 10_000;

/** The same few domains recur in every record of a report: remember their organizational domains. */
function orgDomain(domain: string, privateDomains: boolean): string | undefined {
  const key = privateDomains ? domain : `icann:${domain}`;
  if (ORG_CACHE.has(key)) return ORG_CACHE.get(key);
  const org = organizationalDomain(domain, { privateDomains });
  if (ORG_CACHE.size >= ORG_CACHE_SIZE) ORG_CACHE.clear();
  ORG_CACHE.set(key, org);
  return org;
}

/** RFC 7489 §3.1 (RFC 9989 §4.4): strict is the same name, relaxed the same organizational domain. */
function aligned(domain: string, fromDomain: string, mode: 'r' | 's' | undefined, privateDomains: boolean): boolean {
  if (domain === '' || fromDomain === '') return false;
  if (domain === fromDomain) return true;
  if (mode === 's') return false;
  const org = orgDomain(domain, privateDomains);
  return org !== undefined && org === orgDomain(fromDomain, privateDomains);
}

function alignmentFor(
  fromDomains: readonly string[],
  dkim: readonly DkimAuthResult[],
  spf: readonly SpfAuthResult[],
  rules: AlignmentRules,
): RecomputedAlignmentResult {
  if (fromDomains.length === 0) return { dkim: false, spf: false, dmarc: false };
  const privateDomains = rules.privateDomains !== false;
  const dkimFor = (from: string) =>
    dkim.some((d) => d.result === 'pass' && aligned(d.domain.replace(/\.$/, ''), from, rules.adkim, privateDomains));
  const spfFor = (from: string) =>
    spf.some(
      (s) =>
        s.result === 'pass' &&
        (rules.anySpfScope === true || s.scope === undefined || s.scope === 'mfrom') &&
        aligned(s.domain.replace(/\.$/, ''), from, rules.aspf, privateDomains),
    );
  // With several From domains, each must pass on its own (RFC 7489 §6.6.1).
  return {
    dkim: fromDomains.every(dkimFor),
    spf: fromDomains.every(spfFor),
    dmarc: fromDomains.every((from) => dkimFor(from) || spfFor(from)),
  };
}

/**
 * Alignment of a record's passing DKIM signatures and SPF check with its header_from domains.
 * Organizational domains come from the public suffix list (reports do not say which discovery
 * the reporter used, and the PSL gives the answer most reporters use), so this needs no DNS.
 */
export function recomputeAlignment(
  headerFrom: string,
  dkim: readonly DkimAuthResult[],
  spf: readonly SpfAuthResult[],
  policy: Pick<PolicyPublished, 'adkim' | 'aspf'>,
): RecomputedAlignmentResult {
  return alignmentFor(headerFromDomains(headerFrom), dkim, spf, { adkim: policy.adkim, aspf: policy.aspf });
}

/** Why the reporter's DMARC verdict and the recomputed one differ. */
export type DisagreementReason =
  /** The report names no From domain for the record. */
  | 'header-from-missing'
  /** header_from holds several domains and not all of them align. */
  | 'multi-valued-header-from'
  /** The reporter says pass, but lists no passing DKIM signature or SPF check at all. */
  | 'auth-results-incomplete'
  /** Only an SPF check of the HELO name passed and aligned; DMARC uses the MAIL FROM check. */
  | 'spf-helo-scope'
  /** Aligned under relaxed rules, but the policy asks for strict alignment (adkim=s / aspf=s). */
  | 'strict-alignment'
  /** The two sections of the public suffix list give different organizational domains. */
  | 'psl-difference'
  /** The reporter counted a pass for a domain that is not aligned with header_from. */
  | 'reporter-ignored-alignment'
  /** The report lists an aligned pass, but the reporter evaluated DMARC as failing. */
  | 'reporter-failed-aligned-pass';

export const DISAGREEMENT_TEXT: Readonly<Record<DisagreementReason, string>> = {
  'header-from-missing': 'the report gives no header_from domain',
  'multi-valued-header-from': 'header_from lists several domains and not all of them align',
  'auth-results-incomplete': 'the reporter says pass but lists no passing DKIM signature or SPF check',
  'spf-helo-scope': 'only the SPF check of the HELO name passed; DMARC uses the MAIL FROM check',
  'strict-alignment': 'the policy asks for strict alignment; the passing domain aligns only under relaxed rules',
  'psl-difference': 'the public suffix list with and without its private section give different organizational domains',
  'reporter-ignored-alignment': 'the reporter counted a pass for a domain that is not aligned with header_from',
  'reporter-failed-aligned-pass':
    'the report lists an aligned pass, yet the reporter evaluated DMARC as failing (a different organizational-domain rule, or a key or record that changed)',
};

export interface DisagreementInput {
  readonly headerFrom: string;
  readonly dkim: readonly DkimAuthResult[];
  readonly spf: readonly SpfAuthResult[];
  readonly policy: Pick<PolicyPublished, 'adkim' | 'aspf'>;
  readonly reporterDkim: string;
  readonly reporterSpf: string;
}

/** The reporter's verdict (policy_evaluated): DMARC passes when its dkim or spf is pass. */
export function reporterPasses(record: { readonly reporterDkim: string; readonly reporterSpf: string }): boolean {
  return record.reporterDkim === 'pass' || record.reporterSpf === 'pass';
}

/**
 * Why the reporter's verdict differs from the recomputed alignment, or undefined when they agree.
 * The checks go from the most certain cause to the least.
 */
export function explainDisagreement(record: DisagreementInput): DisagreementReason | undefined {
  const fromDomains = headerFromDomains(record.headerFrom);
  const rules = { adkim: record.policy.adkim, aspf: record.policy.aspf };
  const ours = alignmentFor(fromDomains, record.dkim, record.spf, rules);
  const theirs = reporterPasses(record);
  if (ours.dmarc === theirs) return undefined;
  if (fromDomains.length === 0) return 'header-from-missing';
  const anyDomain = (other: RecomputedAlignmentResult[]) => other.some((r) => r.dmarc);
  const eachDomain = fromDomains.map((from) => alignmentFor([from], record.dkim, record.spf, rules));
  if (fromDomains.length > 1 && anyDomain(eachDomain)) return 'multi-valued-header-from';
  const icann = alignmentFor(fromDomains, record.dkim, record.spf, { ...rules, privateDomains: false });
  if (icann.dmarc !== ours.dmarc) return 'psl-difference';
  if (!theirs) return 'reporter-failed-aligned-pass';
  const passes = record.dkim.some((d) => d.result === 'pass') || record.spf.some((s) => s.result === 'pass');
  if (!passes) return 'auth-results-incomplete';
  if (alignmentFor(fromDomains, record.dkim, record.spf, { ...rules, anySpfScope: true }).dmarc) {
    return 'spf-helo-scope';
  }
  if (alignmentFor(fromDomains, record.dkim, record.spf, {}).dmarc) return 'strict-alignment';
  return 'reporter-ignored-alignment';
}
