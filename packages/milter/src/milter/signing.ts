/**
 * Which keys sign an outbound message: OpenDKIM's SigningTable idea, first matching rule wins.
 * Patterns (settings.ts SigningRuleSettings): `example.com` (that domain), `*.example.com` (its
 * subdomains only), `*` (any domain). Keys are loaded (KeyObjects) by the runtime.
 */
import type { KeyObject } from 'node:crypto';

export interface LoadedSigningKey {
  readonly domain: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
}

export interface LoadedSigningRule {
  readonly from: string;
  readonly keys: readonly LoadedSigningKey[];
}

export function fromPatternMatches(pattern: string, domain: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (p === '*') return true;
  if (p.startsWith('*.')) return d.endsWith(p.slice(1)) && d.length > p.length - 1;
  return d === p;
}

/** The first rule for the author domain, or undefined (the message goes unsigned). */
export function signingRuleFor(rules: readonly LoadedSigningRule[], domain: string): LoadedSigningRule | undefined {
  return rules.find((rule) => fromPatternMatches(rule.from, domain));
}

/** A signing-rule pattern's problem, or undefined when it is usable. */
export function fromPatternProblem(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  const name = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(name))
    return `"${pattern}" is not a domain, *.domain or *`;
  return undefined;
}
