/**
 * One policy request in, one action and one log line out: plan, cache, the SPF checks of core,
 * the decision. No I/O of its own: the resolver and the clock are given, so unit tests run it on
 * an in-memory zone and the runtime on the network.
 */
import { checkHelo, checkMailFrom, type Clock, type Resolver } from '@mailward/core';
import type { PolicyDecision } from './decide.js';
import { decidePolicy } from './decide.js';
import { InstanceCache } from './instance-cache.js';
import type { CompiledPolicySettings } from './plan.js';
import { planPolicyCheck } from './plan.js';
import type { PolicyQuery } from './query.js';
import { policyQuery } from './query.js';
import type { PolicyRequest } from './request-decoder.js';

export interface PolicyAnswer {
  readonly action: string;
  readonly query: PolicyQuery;
  /** The decision, absent when the request was skipped. */
  readonly decision?: PolicyDecision;
  /** Answered from the per-instance cache (no DNS). */
  readonly cached: boolean;
  /** `client=... helo=... sender=<...> recipient=<...> result=... action=...`, for the log. */
  readonly logLine: string;
}

export interface PolicyEvaluatorOptions {
  readonly resolver: Resolver;
  readonly clock: Clock;
  /** Time for one SPF check (RFC 7208 §4.6.4: at least 20 s; Postfix waits smtpd_policy_service_timeout, 100 s). */
  readonly timeBudgetMs?: number;
}

export class PolicyEvaluator {
  private readonly cache: InstanceCache<Promise<PolicyDecision>>;
  /** SPF evaluations started (cache misses), for tests and metrics. */
  evaluations = 0;

  constructor(
    private readonly compiled: CompiledPolicySettings,
    private readonly options: PolicyEvaluatorOptions,
  ) {
    const { ttlSeconds, maxEntries } = compiled.settings.cache;
    this.cache = new InstanceCache({ ttlMs: ttlSeconds * 1000, maxEntries }, () => options.clock.now());
  }

  async answer(request: PolicyRequest): Promise<PolicyAnswer> {
    const query = policyQuery(request);
    const plan = planPolicyCheck(query, this.compiled);
    if (plan.kind === 'skip') {
      return {
        action: 'DUNNO',
        query,
        cached: false,
        logLine: `${describe(query)} skipped (${plan.reason}) action=DUNNO`,
      };
    }
    const key = {
      instance: query.instance,
      clientAddress: query.clientAddress,
      sender: query.sender,
      heloName: query.heloName,
    };
    let pending = this.cache.get(key);
    const cached = pending !== undefined;
    if (pending === undefined) {
      pending = this.evaluate(query, plan);
      this.cache.set(key, pending);
      // A failed evaluation (a bug: SPF conditions are results) must not answer later recipients.
      pending.catch(() => this.cache.delete(key));
    }
    const decision = await pending;
    // Postfix adds a PREPEND header once per request that returns it, so a message with five
    // recipients would carry five Received-SPF fields: the first recipient's request prepends,
    // the others of that instance get DUNNO (policyd-spf does the same). Only with an instance:
    // without one (Exim) a hit may be another message, which needs its own field.
    const once = cached && query.instance !== '' && decision.kind === 'prepend';
    const action = once ? 'DUNNO' : decision.action;
    const note = once ? ' (cached; header prepended for the first recipient)' : cached ? ' (cached)' : '';
    return {
      action,
      query,
      decision,
      cached,
      logLine: `${describe(query)} ${decision.summary}${note} action=${firstWords(action)}`,
    };
  }

  private async evaluate(
    query: PolicyQuery,
    plan: Extract<ReturnType<typeof planPolicyCheck>, { kind: 'check' }>,
  ): Promise<PolicyDecision> {
    this.evaluations += 1;
    const spf = {
      resolver: this.options.resolver,
      clock: this.options.clock,
      receiver: this.compiled.settings.receiver,
      ...(this.options.timeBudgetMs === undefined ? {} : { limits: { timeBudgetMs: this.options.timeBudgetMs } }),
    };
    const [mailFrom, helo] = await Promise.all([
      checkMailFrom({ ip: plan.ip, mailFrom: plan.mailFrom, ...(plan.helo === '' ? {} : { helo: plan.helo }) }, spf),
      plan.checkHelo ? checkHelo({ ip: plan.ip, helo: plan.helo }, spf) : Promise.resolve(undefined),
    ]);
    return decidePolicy(query, { mailFrom, ...(helo === undefined ? {} : { helo }) }, this.compiled.settings);
  }
}

function describe(query: PolicyQuery): string {
  const parts = [
    `client=${query.clientAddress || '?'}`,
    `helo=${query.heloName || '?'}`,
    `sender=<${query.sender}>`,
    `recipient=<${query.recipient}>`,
  ];
  if (query.instance !== '') parts.push(`instance=${query.instance}`);
  return parts.join(' ').replace(/[^\x20-\x7e]/g, '?');
}

/** The action without its long text: `550 5.7.23`, `DEFER_IF_PERMIT 4.7.24`, `PREPEND Received-SPF: pass`. */
function firstWords(action: string): string {
  return action
    .split(' ')
    .slice(0, action.startsWith('PREPEND') ? 3 : 2)
    .join(' ');
}
