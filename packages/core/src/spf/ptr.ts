import type { EvaluationState } from './context.js';
import { domainNameProblem } from '../dns/name.js';
import { inNetwork, parseAnswerAddress, reverseName } from './ip.js';

/**
 * The validated names of the client IP (RFC 7208 §5.5): PTR names whose own A/AAAA records
 * include the IP. At most `ptrNames` PTR names are considered (§4.6.4); DNS errors on the PTR
 * lookup mean no names, errors on a name's address lookup skip that name.
 */
export async function validatedNames(state: EvaluationState, countVoid: boolean): Promise<string[] | 'void-limit'> {
  const ptr = await state.resolver.lookup(reverseName(state.ip), 'PTR');
  if (ptr.kind === 'nxdomain' || ptr.kind === 'nodata') {
    if (countVoid && ++state.voidLookups > state.limits.voidLookups) return 'void-limit';
    return [];
  }
  if (ptr.kind !== 'answer') return [];
  const type = state.ip.version === 4 ? 'A' : 'AAAA';
  const validated: string[] = [];
  for (const name of ptr.records.slice(0, state.limits.ptrNames)) {
    if (domainNameProblem(name)) continue;
    const addresses = await state.resolver.lookup(name, type);
    if (addresses.kind !== 'answer') continue;
    if (addresses.records.some((text) => matches(state, text))) validated.push(name);
  }
  return validated;
}

function matches(state: EvaluationState, text: string): boolean {
  const address = parseAnswerAddress(text);
  return address !== undefined && inNetwork(state.ip, address, state.ip.version === 4 ? 32 : 128);
}

export function isSameOrSubdomain(name: string, domain: string): boolean {
  const a = name.toLowerCase().replace(/\.$/, '');
  const b = domain.toLowerCase().replace(/\.$/, '');
  return a === b || a.endsWith(`.${b}`);
}

/** `%{p}` (§7.3): the target domain if validated, else a subdomain of it, else any validated name, else "unknown". */
export async function validatedNameFor(state: EvaluationState, domain: string): Promise<string> {
  state.validatedName ??= validatedNames(state, false).then((names) => (names === 'void-limit' ? [] : names).join(' '));
  const names = (await state.validatedName).split(' ').filter(Boolean);
  return (
    names.find((name) => isSameOrSubdomain(name, domain) && name.length === domain.length) ??
    names.find((name) => isSameOrSubdomain(name, domain)) ??
    names[0] ??
    'unknown'
  );
}
