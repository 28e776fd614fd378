/**
 * External report destinations (RFC 9990 §4, RFC 7489 §7.1): a rua/ruf address outside the policy
 * domain's organization receives reports only if the destination publishes consent, a TXT record
 * starting with "v=DMARC1" at <policy-domain>._report._dmarc.<destination-domain> (a DNS wildcard
 * "*._report._dmarc.<destination-domain>" consents for every domain).
 */
import type { LookupOptions, Resolver } from '../dns/types.js';
import { normalizeName } from '../dns/types.js';
import { domainNameProblem } from '../dns/name.js';
import type { DiscoveryMode } from './discover.js';
import { DmarcDns, organizationalDomainOf } from './discover.js';
import type { DmarcRecord } from './record.js';

export interface ReportDestination {
  readonly tag: 'rua' | 'ruf';
  readonly uri: string;
  readonly domain?: string;
  /** Outside the policy domain's organization, so consent is needed. */
  readonly external: boolean;
  /** true / false after a lookup; undefined when not needed, not checkable, or DNS failed. */
  readonly authorized?: boolean;
  /** The name queried, when one was. */
  readonly name?: string;
  readonly reason: string;
}

/** Most destinations checked per record: a record listing hundreds is hostile. */
const MAX_CHECKED = 10;

export async function checkReportDestinations(
  record: DmarcRecord,
  policyDomain: string,
  options: {
    readonly resolver: Resolver;
    readonly mode?: DiscoveryMode;
    readonly dns?: DmarcDns;
    readonly lookup?: LookupOptions;
  },
): Promise<ReportDestination[]> {
  const mode = options.mode ?? 'rfc9989';
  const dns = options.dns ?? new DmarcDns(options.resolver, options.lookup);
  const policy = normalizeName(policyDomain);
  const policyOrg = await organizationalDomainOf(dns, policy, mode);
  const uris = [
    ...record.rua.map((u) => ({ tag: 'rua' as const, u })),
    ...record.ruf.map((u) => ({ tag: 'ruf' as const, u })),
  ];
  const results: ReportDestination[] = [];
  for (const [index, { tag, u }] of uris.entries()) {
    const base = { tag, uri: u.uri, ...(u.domain !== undefined && { domain: u.domain }) };
    if (u.domain === undefined) {
      results.push({ ...base, external: false, reason: `${u.scheme}: URIs have no domain to check` });
      continue;
    }
    if (index >= MAX_CHECKED) {
      results.push({ ...base, external: false, reason: `not checked: only the first ${MAX_CHECKED} destinations are` });
      continue;
    }
    const destinationOrg = await organizationalDomainOf(dns, u.domain, mode);
    const sameOrg = policyOrg.ok && destinationOrg.ok && policyOrg.domain === destinationOrg.domain;
    if (sameOrg || u.domain === policy) {
      results.push({ ...base, external: false, reason: `${u.domain} is in the policy domain's organization` });
      continue;
    }
    results.push({ ...base, external: true, ...(await consent(options.resolver, policy, u.domain, options.lookup)) });
  }
  return results;
}

async function consent(
  resolver: Resolver,
  policy: string,
  destination: string,
  lookup: LookupOptions = {},
): Promise<Pick<ReportDestination, 'authorized' | 'name' | 'reason'>> {
  for (const label of [policy, '*']) {
    const name = `${label}._report._dmarc.${destination}`;
    if (domainNameProblem(name) !== undefined) continue;
    const outcome = await resolver.lookup(name, 'TXT', lookup);
    if (outcome.kind === 'servfail' || outcome.kind === 'refused' || outcome.kind === 'timeout') {
      return { name, reason: `${name}: ${outcome.kind} (${outcome.reason}); consent unknown` };
    }
    if (outcome.kind === 'answer' && outcome.records.some((r) => /^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)/.test(r.text))) {
      return { authorized: true, name, reason: `${destination} consents (${name} has v=DMARC1)` };
    }
  }
  const name = `${policy}._report._dmarc.${destination}`;
  return {
    authorized: false,
    name,
    reason: `${destination} has not authorized reports for ${policy}: publish "v=DMARC1" at ${name}`,
  };
}
