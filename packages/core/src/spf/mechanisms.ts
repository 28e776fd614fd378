/** Evaluation of each mechanism, RFC 7208 §5. */
import type { EvaluationState } from './context.js';
import type { Directive } from './record.js';
import type { SpfResult } from './types.js';
import { domainNameProblem } from '../dns/name.js';
import { isFailure } from '../dns/types.js';
import { expandDomain } from './check.js';
import { inNetwork, parseAnswerAddress } from './ip.js';
import { isSameOrSubdomain, validatedNames } from './ptr.js';

export type MechanismOutcome =
  | { readonly kind: 'match' }
  | { readonly kind: 'no-match' }
  | { readonly kind: 'error'; readonly result: Extract<SpfResult, 'temperror' | 'permerror'>; readonly reason: string };

type Recurse = (domain: string, stack: readonly string[]) => Promise<{ result: SpfResult; reason: string }>;

const MATCH: MechanismOutcome = { kind: 'match' };
const NO_MATCH: MechanismOutcome = { kind: 'no-match' };

export async function evaluateMechanism(
  directive: Directive,
  domain: string,
  chain: readonly string[],
  state: EvaluationState,
  recurse: Recurse,
): Promise<MechanismOutcome> {
  const mechanism = directive.mechanism;
  switch (mechanism.kind) {
    case 'all':
      return MATCH;
    case 'ip4':
    case 'ip6':
      return inNetwork(state.ip, mechanism.network, mechanism.prefix) ? MATCH : NO_MATCH;
    case 'include': {
      const target = await targetName(mechanism.domain, domain, state);
      if (typeof target !== 'string') return target;
      if (chain.includes(target)) return permerror(`include loop: ${[...chain, target].join(' -> ')}`);
      if (chain.length >= state.limits.maxDepth)
        return permerror(`include nesting deeper than ${state.limits.maxDepth}`);
      const inner = await recurse(target, chain);
      // §5.2: pass matches; fail, softfail and neutral do not; errors propagate; none is a permerror.
      switch (inner.result) {
        case 'pass':
          return MATCH;
        case 'fail':
        case 'softfail':
        case 'neutral':
          return NO_MATCH;
        case 'temperror':
        case 'permerror':
          return {
            kind: 'error',
            result: inner.result,
            reason: `in include:${target} from ${domain}: ${inner.reason}`,
          };
        case 'none':
          return permerror(`include:${target} from ${domain} has no SPF record (${inner.reason})`);
      }
      break;
    }
    case 'a': {
      const target = await targetName(mechanism.domain, domain, state);
      if (typeof target !== 'string') return target;
      const outcome = await addressMatch(target, mechanism.prefix4, mechanism.prefix6, state, `a:${target}`);
      return outcome === 'void' ? countVoid(`a:${target}`, state) : outcome;
    }
    case 'mx':
      return evaluateMx(mechanism, domain, state);
    case 'ptr': {
      const target = await targetName(mechanism.domain, domain, state);
      if (typeof target !== 'string') return target;
      const names = await validatedNames(state, true);
      if (names === 'void-limit') return voidLimit(`ptr in ${domain}`, state);
      return names.some((name) => isSameOrSubdomain(name, target)) ? MATCH : NO_MATCH;
    }
    case 'exists': {
      const target = await targetName(mechanism.domain, domain, state);
      if (typeof target !== 'string') return target;
      // §5.7: always an A query, whatever the client's address family.
      const answer = await state.resolver.lookup(target, 'A');
      if (isFailure(answer)) return temperror(`exists:${target}: A lookup failed: ${answer.kind} (${answer.reason})`);
      if (answer.kind !== 'answer') return countVoid(`exists:${target}`, state);
      return MATCH;
    }
  }
}

async function evaluateMx(
  mechanism: Extract<Directive['mechanism'], { prefix4: number }>,
  domain: string,
  state: EvaluationState,
): Promise<MechanismOutcome> {
  const target = await targetName(mechanism.domain, domain, state);
  if (typeof target !== 'string') return target;
  const mx = await state.resolver.lookup(target, 'MX');
  if (isFailure(mx)) return temperror(`mx:${target}: MX lookup failed: ${mx.kind} (${mx.reason})`);
  if (mx.kind !== 'answer') return countVoid(`mx:${target}`, state);
  // §4.6.4: more than 10 MX names is a permerror (not a silent truncation).
  if (mx.records.length > state.limits.mxNames) {
    return permerror(
      `mx:${target} has ${mx.records.length} MX records, more than the limit of ${state.limits.mxNames} (RFC 7208 §4.6.4)`,
    );
  }
  const exchanges = [...mx.records].sort((a, b) => a.preference - b.preference).map((record) => record.exchange);
  let sawVoid = false;
  for (const exchange of exchanges) {
    // A null MX (RFC 7505) or an unusable name cannot hold the client's address.
    if (exchange === '' || exchange === '.' || domainNameProblem(exchange)) continue;
    const what = `mx:${target} -> ${exchange}`;
    const outcome = await addressMatch(exchange, mechanism.prefix4, mechanism.prefix6, state, what);
    if (outcome === 'void') sawVoid = true;
    else if (outcome.kind !== 'no-match') return outcome;
  }
  // §4.6.4 limits "terms" whose queries find nothing: an mx term counts once, however many of
  // its hosts lack an address of the client's family (common for IPv6 clients).
  return sawVoid ? countVoid(`mx:${target}`, state) : NO_MATCH;
}

/** The A or AAAA lookup behind "a" and each MX host (§5.3, §5.4); 'void' when it found nothing. */
async function addressMatch(
  name: string,
  prefix4: number,
  prefix6: number,
  state: EvaluationState,
  what: string,
): Promise<MechanismOutcome | 'void'> {
  const ipv4 = state.ip.version === 4;
  const answer = await state.resolver.lookup(name, ipv4 ? 'A' : 'AAAA');
  if (isFailure(answer))
    return temperror(`${what}: ${ipv4 ? 'A' : 'AAAA'} lookup failed: ${answer.kind} (${answer.reason})`);
  if (answer.kind !== 'answer') return 'void';
  const prefix = ipv4 ? prefix4 : prefix6;
  for (const text of answer.records) {
    const address = parseAnswerAddress(text);
    if (address && inNetwork(state.ip, address, prefix)) return MATCH;
  }
  return NO_MATCH;
}

/** Expands a mechanism's domain-spec (default: the current domain) and checks the result is usable. */
async function targetName(
  spec: Parameters<typeof expandDomain>[0] | undefined,
  domain: string,
  state: EvaluationState,
): Promise<string | MechanismOutcome> {
  if (!spec) return domain;
  const name = await expandDomain(spec, domain, state);
  // A macro can expand to a name DNS cannot carry (an empty label from "%{l}" of "a..b", a local
  // part longer than 63 octets). Such a name cannot exist, so the mechanism does not match, as
  // pyspf does. A permerror here would let a sender turn a "-all" fail into a permerror at will.
  if (domainNameProblem(name)) return NO_MATCH;
  return name;
}

/** §4.6.4: lookups returning no records count as void; more than the limit is a permerror. */
function countVoid(what: string, state: EvaluationState): MechanismOutcome {
  state.voidLookups += 1;
  if (state.voidLookups > state.limits.voidLookups) return voidLimit(what, state);
  return NO_MATCH;
}

function voidLimit(what: string, state: EvaluationState): MechanismOutcome {
  return permerror(
    `more than ${state.limits.voidLookups} DNS lookups returned no records (void lookup limit, RFC 7208 §4.6.4), reached at ${what}`,
  );
}

function permerror(reason: string): MechanismOutcome {
  return { kind: 'error', result: 'permerror', reason };
}

function temperror(reason: string): MechanismOutcome {
  return { kind: 'error', result: 'temperror', reason };
}
