/**
 * Organizational domains from the Public Suffix List (RFC 7489 §3.2): the registrable domain, one
 * label below the longest public suffix. The list and its matching rules (wildcards, exceptions,
 * the implicit "*" rule for unlisted TLDs) come from tldts, which ships the current list and is
 * released whenever it changes; updating the list is `npm update tldts`.
 *
 * Private-section suffixes (e.g. uk.com, github.io) count: DMARC treats each customer of such a
 * registry as its own organization, as the PSL's own tests expect.
 */
import { getDomain } from 'tldts';

const OPTIONS = { allowPrivateDomains: true, extractHostname: false, validateHostname: false } as const;
const ICANN_ONLY = { ...OPTIONS, allowPrivateDomains: false } as const;

export interface OrganizationalDomainOptions {
  /**
   * Use the list's private section too (default true). Some receivers use only the ICANN
   * section, so a report reader compares both to explain a reporter's differing verdict.
   */
  readonly privateDomains?: boolean;
}

/**
 * The organizational domain of a DNS name, lower case, or undefined when the name is itself a
 * public suffix or is not a usable name (empty, a leading dot, an empty label).
 */
export function organizationalDomain(name: string, options: OrganizationalDomainOptions = {}): string | undefined {
  const normalized = normalize(name);
  if (normalized === undefined) return undefined;
  return getDomain(normalized, options.privateDomains === false ? ICANN_ONLY : OPTIONS) ?? undefined;
}

/** True when both names have the same organizational domain (RFC 7489 §3.1 relaxed alignment). */
export function sameOrganizationalDomain(a: string, b: string): boolean {
  const orgA = organizationalDomain(a);
  return orgA !== undefined && orgA === organizationalDomain(b);
}

function normalize(name: string): string | undefined {
  let text = name.toLowerCase();
  if (text.endsWith('.')) text = text.slice(0, -1);
  if (text === '' || text.split('.').some((label) => label === '')) return undefined;
  return text;
}
