/**
 * check_host() of RFC 7208 §4, and the MAIL FROM and HELO checks built on it (§2.3, §2.4).
 */
import type { Clock } from '../clock.js';
import type { Resolver } from '../dns/types.js';
import type { EvaluationState } from './context.js';
import type { Directive, DomainSpec, SpfRecord } from './record.js';
import type { SpfCheckResult, SpfIdentity, SpfLimits, SpfResult } from './types.js';
import { BudgetResolver } from '../dns/budget.js';
import { QueryLogResolver } from '../dns/query-log.js';
import { domainNameProblem, octetLength } from '../dns/name.js';
import { macroContext, newState } from './context.js';
import { explain } from './explanation.js';
import { parseClientIp } from './ip.js';
import { expandMacroString } from './macro.js';
import { evaluateMechanism } from './mechanisms.js';
import { lookupRecord } from './lookup-record.js';
import { validatedNameFor } from './ptr.js';
import { DNS_MECHANISMS } from './record.js';
import { DEFAULT_LIMITS, QUALIFIER_RESULT } from './types.js';

export interface SpfOptions {
  readonly resolver: Resolver;
  readonly clock: Clock;
  readonly limits?: Partial<SpfLimits>;
  /** Host name of the receiving server: `%{r}` in explanations and Received-SPF's receiver=. */
  readonly receiver?: string;
}

export interface CheckHostInput {
  readonly ip: string;
  readonly domain: string;
  /** The full sender identity, `local@domain`; "postmaster" is used when the local part is empty. */
  readonly sender: string;
  readonly helo?: string;
  readonly identity: SpfIdentity;
}

/** Outcome of evaluating one domain's record (internal: lookups and trace are added at the top). */
interface Evaluation {
  readonly result: SpfResult;
  readonly reason: string;
  readonly mechanism?: { readonly text: string; readonly domain: string };
  readonly explanation?: string;
  readonly explanationSource?: 'exp' | 'default';
  readonly record?: string;
}

/** Thrown only for caller bugs (an unparseable client IP); every SPF condition is a result. */
export class SpfInputError extends Error {}

/** check_host(<ip>, <domain>, <sender>) with an overall time budget and a full lookup trace. */
export async function checkHost(input: CheckHostInput, options: SpfOptions): Promise<SpfCheckResult> {
  const ip = parseClientIp(input.ip);
  if (!ip) throw new SpfInputError(`invalid client IP address ${JSON.stringify(input.ip)}`);
  const limits: SpfLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const budget = new BudgetResolver(options.resolver, options.clock, { timeBudgetMs: limits.timeBudgetMs });
  const log = new QueryLogResolver(budget, options.clock);
  const domain = input.domain.toLowerCase().replace(/\.$/, '');
  const { localPart, senderDomain } = splitSender(input.sender, domain);
  const state = newState({
    resolver: log,
    limits,
    ip,
    sender: `${localPart}@${senderDomain}`,
    localPart,
    senderDomain,
    helo: input.helo ?? 'unknown',
    receiver: options.receiver ?? 'unknown',
    timestamp: options.clock.now(),
  });
  const finish = (evaluation: Evaluation): SpfCheckResult => ({
    ...evaluation,
    identity: input.identity,
    domain,
    lookups: state.terms,
    voidLookups: state.voidLookups,
    trace: log.entries,
  });

  // §4.3: a malformed domain, a domain literal or a single label gives "none" without any lookup.
  const problem = initialDomainProblem(domain);
  if (problem) return finish({ result: 'none', reason: `no SPF check for "${input.domain}": ${problem}` });
  try {
    return finish(await evaluateDomain(domain, [], state, true));
  } finally {
    budget.dispose();
  }
}

/** The MAIL FROM identity (§2.4); an empty reverse-path is checked as postmaster@HELO. */
export function checkMailFrom(
  input: { ip: string; mailFrom: string; helo?: string },
  options: SpfOptions,
): Promise<SpfCheckResult> {
  const mailFrom = input.mailFrom.trim().replace(/^<(.*)>$/, '$1');
  if (mailFrom === '') {
    const helo = input.helo ?? '';
    return checkHost({ ip: input.ip, domain: helo, sender: `postmaster@${helo}`, helo, identity: 'mailfrom' }, options);
  }
  const at = mailFrom.lastIndexOf('@');
  const domain = at < 0 ? mailFrom : mailFrom.slice(at + 1);
  return checkHost({ ip: input.ip, domain, sender: mailFrom, identity: 'mailfrom', ...helo(input.helo) }, options);
}

/** The HELO identity (§2.3), checked as postmaster@HELO. */
export function checkHelo(input: { ip: string; helo: string }, options: SpfOptions): Promise<SpfCheckResult> {
  return checkHost(
    { ip: input.ip, domain: input.helo, sender: `postmaster@${input.helo}`, helo: input.helo, identity: 'helo' },
    options,
  );
}

function helo(value: string | undefined): { helo?: string } {
  return value === undefined ? {} : { helo: value };
}

function splitSender(sender: string, domain: string): { localPart: string; senderDomain: string } {
  const at = sender.lastIndexOf('@');
  const localPart = at < 0 ? '' : sender.slice(0, at);
  // %{o} is a domain name like any other: compared and expanded without case or a final dot.
  const senderDomain = stripDot(at < 0 ? domain : sender.slice(at + 1) || domain);
  // §4.3: "If the <sender> has no local-part, substitute the string "postmaster" for the local-part."
  return { localPart: localPart || 'postmaster', senderDomain };
}

function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1).toLowerCase() : name.toLowerCase();
}

function initialDomainProblem(domain: string): string | undefined {
  if (domain.startsWith('[')) return 'it is an address literal, not a domain';
  // One final dot was removed already; another one means an empty label ("example.com..").
  if (domain.endsWith('.')) return 'empty label at the end';
  const problem = domainNameProblem(domain);
  if (problem) return problem;
  if (!domain.includes('.')) return 'it is not a fully qualified domain name';
  return undefined;
}

async function evaluateDomain(
  domain: string,
  stack: readonly string[],
  state: EvaluationState,
  explainFail: boolean,
): Promise<Evaluation> {
  const found = await lookupRecord(state.resolver, domain);
  if (found.kind !== 'record') {
    return {
      result: found.kind,
      reason: found.reason,
      ...(found.kind === 'permerror' && found.text ? { record: found.text } : {}),
    };
  }
  const record = found.record;
  const withRecord = (evaluation: Evaluation): Evaluation => ({ ...evaluation, record: record.text });
  const chain = [...stack, domain];
  for (const directive of record.directives) {
    const counted = countTerm(directive.mechanism.kind, state, domain);
    if (counted) return withRecord(counted);
    const outcome = await evaluateMechanism(directive, domain, chain, state, (target, nextStack) =>
      evaluateDomain(target, nextStack, state, false),
    );
    if (outcome.kind === 'error') return withRecord({ result: outcome.result, reason: outcome.reason });
    if (outcome.kind === 'match') {
      return withRecord(await matched(directive, record, domain, state, explainFail));
    }
  }
  if (record.redirect) return redirect(record, record.redirect, domain, chain, state, explainFail);
  // §4.7: no match and no redirect gives neutral.
  return withRecord({
    result: 'neutral',
    reason: `no mechanism in the SPF record of ${domain} matched; the default result is neutral`,
  });
}

async function matched(
  directive: Directive,
  record: SpfRecord,
  domain: string,
  state: EvaluationState,
  explainFail: boolean,
): Promise<Evaluation> {
  const result = QUALIFIER_RESULT[directive.qualifier];
  const mechanism = { text: directive.text, domain };
  const ip = state.ipText;
  const verb: Record<SpfResult, string> = {
    pass: 'designates',
    fail: 'does not designate',
    softfail: 'does not designate (softfail)',
    neutral: 'neither permits nor denies',
    none: '',
    temperror: '',
    permerror: '',
  };
  const reason = `${domain} ${verb[result]} ${ip} as permitted sender (mechanism "${directive.text}" matched)`;
  if (result !== 'fail' || !explainFail) return { result, reason, mechanism };
  const explanation = await explain(record, domain, state);
  return { result, reason, mechanism, ...explanation };
}

async function redirect(
  record: SpfRecord,
  spec: DomainSpec,
  domain: string,
  chain: readonly string[],
  state: EvaluationState,
  explainFail: boolean,
): Promise<Evaluation> {
  const counted = countTerm('redirect', state, domain);
  if (counted) return { ...counted, record: record.text };
  const target = await expandDomain(spec, domain, state);
  const problem = target ? domainNameProblem(target) : 'empty';
  if (!target || problem) {
    return {
      result: 'permerror',
      reason: `redirect=${spec.text} of ${domain} expands to an invalid domain (${problem})`,
      record: record.text,
    };
  }
  if (chain.includes(target)) {
    return { result: 'permerror', reason: `redirect loop: ${[...chain, target].join(' -> ')}`, record: record.text };
  }
  if (chain.length >= state.limits.maxDepth) {
    return {
      result: 'permerror',
      reason: `include/redirect nesting deeper than ${state.limits.maxDepth}`,
      record: record.text,
    };
  }
  // §6.1: the result of the redirect target is the result; "none" there is a permerror. The
  // target's own exp= applies, the original record's does not (§6.2).
  const outcome = await evaluateDomain(target, chain, state, explainFail);
  if (outcome.result === 'none') {
    return { result: 'permerror', reason: `redirect=${target} from ${domain}: ${outcome.reason}`, record: record.text };
  }
  return { ...outcome, reason: `${outcome.reason} (via redirect from ${domain})`, record: record.text };
}

/** §4.6.4: each DNS-querying term counts; past the limit the check is a permerror. */
function countTerm(kind: string, state: EvaluationState, domain: string): Evaluation | undefined {
  if (kind !== 'redirect' && !DNS_MECHANISMS.has(kind as never)) return undefined;
  state.terms += 1;
  if (state.terms <= state.limits.dnsTerms) return undefined;
  return {
    result: 'permerror',
    reason: `more than ${state.limits.dnsTerms} DNS-querying mechanisms and redirects (RFC 7208 §4.6.4), limit reached at "${kind}" in ${domain}`,
  };
}

/** Expands a domain-spec and truncates it to 253 characters from the left (§7.3). */
export async function expandDomain(spec: DomainSpec, domain: string, state: EvaluationState): Promise<string> {
  let name = await expandMacroString(
    spec.macro,
    macroContext(state, domain, () => validatedNameFor(state, domain)),
  );
  name = name.replace(/\.$/, '').toLowerCase();
  while (octetLength(name) > 253 && name.includes('.')) name = name.slice(name.indexOf('.') + 1);
  return name;
}
