/**
 * DMARC policy discovery and organizational domains, RFC 9989 §4.10 (the DNS Tree Walk) with the
 * RFC 7489 public-suffix-list alternative. One walker serves both uses: policy discovery
 * (§4.10.1) and the organizational domain for alignment (§4.10.2). Queries are memoized per
 * DmarcDns instance, so one message's policy walk and alignment walks share their answers.
 */
import type { LookupOptions, Resolver } from '../dns/types.js';
import { normalizeName } from '../dns/types.js';
import { domainNameProblem } from '../dns/name.js';
import { organizationalDomain as pslOrganizationalDomain } from '../domain/organizational.js';
import type { DmarcRecord } from './record.js';
import { isDmarcRecordText, parseDmarcRecord } from './record.js';

export type DiscoveryMode = 'rfc9989' | 'rfc7489';

/** §4.10 step 4: at most 8 queries per walk. */
export const MAX_TREE_WALK_QUERIES = 8;

export type DmarcLookup =
  | { readonly kind: 'record'; readonly domain: string; readonly record: DmarcRecord }
  | { readonly kind: 'none'; readonly domain: string; readonly reason: string }
  | { readonly kind: 'error'; readonly domain: string; readonly reason: string };

export interface WalkStep {
  /** The name queried: "_dmarc." + domain. */
  readonly name: string;
  readonly result: DmarcLookup;
}

/** The names a tree walk from `domain` queries, in order (§4.10 steps 3-7). */
export function treeWalkDomains(domain: string): string[] {
  const labels = normalizeName(domain).split('.');
  const names = [labels.join('.')];
  let rest = labels.length >= MAX_TREE_WALK_QUERIES ? labels.slice(labels.length - 7) : labels.slice(1);
  while (rest.length >= 1) {
    names.push(rest.join('.'));
    rest = rest.slice(1);
  }
  return names;
}

/** DMARC record lookups through a Resolver, one query per name per instance. */
export class DmarcDns {
  private readonly cache = new Map<string, Promise<DmarcLookup>>();

  constructor(
    private readonly resolver: Resolver,
    private readonly options: LookupOptions = {},
  ) {}

  /** The DMARC record published for a domain (§4.10 steps 1-2: non-DMARC TXT ignored, several discarded). */
  lookup(domain: string): Promise<DmarcLookup> {
    const key = normalizeName(domain);
    let pending = this.cache.get(key);
    if (pending === undefined) {
      pending = this.query(key);
      this.cache.set(key, pending);
    }
    return pending;
  }

  private async query(domain: string): Promise<DmarcLookup> {
    const name = `_dmarc.${domain}`;
    const problem = domainNameProblem(name);
    if (problem !== undefined) return { kind: 'none', domain, reason: `${name} is not a valid name: ${problem}` };
    const outcome = await this.resolver.lookup(name, 'TXT', this.options);
    switch (outcome.kind) {
      case 'nxdomain':
        return { kind: 'none', domain, reason: `${name}: NXDOMAIN` };
      case 'nodata':
        return { kind: 'none', domain, reason: `${name}: no TXT record` };
      case 'servfail':
      case 'refused':
      case 'timeout':
        return { kind: 'error', domain, reason: `${name}: ${outcome.kind} (${outcome.reason})` };
      case 'answer':
        break;
    }
    const candidates = outcome.records.map((r) => r.text).filter(isDmarcRecordText);
    if (candidates.length === 0) return { kind: 'none', domain, reason: `${name}: no TXT record starts with v=DMARC1` };
    if (candidates.length > 1) {
      return {
        kind: 'none',
        domain,
        reason: `${name}: ${candidates.length} DMARC records, all discarded (RFC 9989 §4.10 step 2)`,
      };
    }
    const parsed = parseDmarcRecord(candidates[0] ?? '');
    if (!parsed.ok) return { kind: 'none', domain, reason: `${name}: ${parsed.reason}` };
    return { kind: 'record', domain, record: parsed.record };
  }
}

export interface TreeWalk {
  readonly steps: readonly WalkStep[];
  /** Valid records found, longest name first. */
  readonly found: readonly { readonly domain: string; readonly record: DmarcRecord }[];
  /** The first DNS failure, if any: the walk's outcome is then uncertain. */
  readonly error?: string;
}

/** A tree walk from `domain` (§4.10): stops at a record with psd=n or psd=y, or after 8 queries. */
export async function treeWalk(
  dns: DmarcDns,
  domain: string,
  options: { readonly skipFirst?: boolean } = {},
): Promise<TreeWalk> {
  const domains = treeWalkDomains(domain);
  const steps: WalkStep[] = [];
  const found: { domain: string; record: DmarcRecord }[] = [];
  let error: string | undefined;
  for (const target of options.skipFirst === true ? domains.slice(1) : domains) {
    const result = await dns.lookup(target);
    steps.push({ name: `_dmarc.${target}`, result });
    if (result.kind === 'error') {
      error ??= result.reason;
      continue;
    }
    if (result.kind === 'record') {
      found.push({ domain: target, record: result.record });
      if (result.record.psd === 'n' || result.record.psd === 'y') break;
    }
  }
  return { steps, found, ...(error !== undefined && { error }) };
}

/**
 * §4.10.2's selection, from the records a walk found (longest name first): psd=n is the
 * organizational domain; psd=y (not at the start) makes the name one label below it the
 * organizational domain; otherwise the record with the fewest labels; with no record, the start.
 */
export function selectOrganizationalDomain(start: string, found: TreeWalk['found']): string {
  const origin = normalizeName(start);
  for (const { domain, record } of found) {
    if (record.psd === 'n') return domain;
    if (record.psd === 'y' && domain !== origin) return oneLabelBelow(origin, domain);
  }
  const shortest = found.at(-1);
  return shortest?.domain ?? origin;
}

function oneLabelBelow(descendant: string, ancestor: string): string {
  const labels = descendant.split('.');
  const depth = ancestor.split('.').length;
  return labels.slice(labels.length - depth - 1).join('.');
}

export type OrganizationalDomainResult =
  | { readonly ok: true; readonly domain: string; readonly steps: readonly WalkStep[] }
  | { readonly ok: false; readonly reason: string; readonly steps: readonly WalkStep[] };

/**
 * The organizational domain of a name, for alignment: RFC 9989's tree walk, or RFC 7489's public
 * suffix list (where a public suffix itself has none: the name is its own).
 */
export async function organizationalDomainOf(
  dns: DmarcDns,
  domain: string,
  mode: DiscoveryMode,
): Promise<OrganizationalDomainResult> {
  const name = normalizeName(domain);
  if (mode === 'rfc7489') return { ok: true, domain: pslOrganizationalDomain(name) ?? name, steps: [] };
  const walk = await treeWalk(dns, name);
  if (walk.error !== undefined && walk.found.length === 0) return { ok: false, reason: walk.error, steps: walk.steps };
  return { ok: true, domain: selectOrganizationalDomain(name, walk.found), steps: walk.steps };
}

export type PolicyDiscovery =
  | {
      readonly kind: 'found';
      readonly authorDomain: string;
      /** Where the applied record is published. */
      readonly policyDomain: string;
      readonly record: DmarcRecord;
      readonly organizationalDomain: string;
      /** How the record was reached: the author domain's own, its organizational domain's, or its public suffix domain's. */
      readonly source: 'author-domain' | 'organizational-domain' | 'public-suffix-domain';
      readonly steps: readonly WalkStep[];
    }
  | {
      readonly kind: 'none';
      readonly authorDomain: string;
      readonly reason: string;
      readonly steps: readonly WalkStep[];
    }
  | {
      readonly kind: 'temperror';
      readonly authorDomain: string;
      readonly reason: string;
      readonly steps: readonly WalkStep[];
    };

function found(
  authorDomain: string,
  policyDomain: string,
  record: DmarcRecord,
  organizationalDomain: string,
  source: 'author-domain' | 'organizational-domain' | 'public-suffix-domain',
  steps: readonly WalkStep[],
): PolicyDiscovery {
  return { kind: 'found', authorDomain, policyDomain, record, organizationalDomain, source, steps };
}

/** §4.10.1 policy discovery for an author domain (or RFC 7489 §6.6.3 in that mode). */
export async function discoverPolicy(
  dns: DmarcDns,
  authorDomain: string,
  mode: DiscoveryMode = 'rfc9989',
): Promise<PolicyDiscovery> {
  const author = normalizeName(authorDomain);
  const problem = domainNameProblem(author);
  if (problem !== undefined)
    return { kind: 'none', authorDomain: author, reason: `${author} is not a domain name: ${problem}`, steps: [] };
  const own = await dns.lookup(author);
  const firstStep: WalkStep = { name: `_dmarc.${author}`, result: own };
  if (own.kind === 'error') return { kind: 'temperror', authorDomain: author, reason: own.reason, steps: [firstStep] };

  if (mode === 'rfc7489') {
    const org = pslOrganizationalDomain(author) ?? author;
    if (own.kind === 'record') {
      return found(author, author, own.record, org, 'author-domain', [firstStep]);
    }
    if (org === author) return { kind: 'none', authorDomain: author, reason: own.reason, steps: [firstStep] };
    const orgLookup = await dns.lookup(org);
    const steps = [firstStep, { name: `_dmarc.${org}`, result: orgLookup }];
    if (orgLookup.kind === 'error') return { kind: 'temperror', authorDomain: author, reason: orgLookup.reason, steps };
    if (orgLookup.kind === 'none')
      return { kind: 'none', authorDomain: author, reason: `no DMARC record at ${author} or ${org}`, steps };
    return found(author, org, orgLookup.record, org, 'organizational-domain', steps);
  }

  // RFC 9989: walk the whole path (the author's own record included) for the organizational domain.
  const walk = await treeWalk(dns, author);
  const organizationalDomain = selectOrganizationalDomain(author, walk.found);
  if (own.kind === 'record') {
    return found(author, author, own.record, organizationalDomain, 'author-domain', walk.steps);
  }
  const atOrg = walk.found.find((f) => f.domain === organizationalDomain);
  if (atOrg !== undefined) {
    return found(author, atOrg.domain, atOrg.record, organizationalDomain, 'organizational-domain', walk.steps);
  }
  const psd = walk.found.find((f) => f.record.psd === 'y');
  if (psd !== undefined) {
    return found(author, psd.domain, psd.record, organizationalDomain, 'public-suffix-domain', walk.steps);
  }
  if (walk.error !== undefined)
    return { kind: 'temperror', authorDomain: author, reason: walk.error, steps: walk.steps };
  return {
    kind: 'none',
    authorDomain: author,
    reason: `no DMARC record found for ${author} (${walk.steps.length} queries)`,
    steps: walk.steps,
  };
}
