/**
 * Prometheus metrics of `mailward policy`, in a registry of its own: requests by SPF result and
 * action, the time to decide, the per-message cache, DNS outcomes, connections by how they ended.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Resolver } from '@mailward/core';
import type { PolicyAnswer } from '../policy/evaluate.js';
import { countingResolver, dnsLookupCounter, type DnsLookupCount } from './metrics-dns.js';

/** Why a policy connection ended (policy-server.ts). */
export type PolicyConnectionEnd =
  'closed' | 'idle' | 'bad-request' | 'socket-error' | 'answer-error' | 'over-limit' | 'server-close';

export class PolicyMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'mailward_policy_requests_total',
    help: 'Policy requests answered, by SPF result (skipped: not checked) and action (reject, defer, prepend, dunno)',
    labelNames: ['result', 'action'] as const,
    registers: [this.registry],
  });
  private readonly decisions = new Histogram({
    name: 'mailward_policy_decision_seconds',
    help: 'Time from a request to its answer, by cache (miss: SPF evaluated, hit: answered from the per-message cache, skip)',
    labelNames: ['cache'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
    registers: [this.registry],
  });
  private readonly cache = new Counter({
    name: 'mailward_policy_cache_total',
    help: 'Per-message cache lookups (the other recipients of one message): hit or miss',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly connections = new Counter({
    name: 'mailward_policy_connections_ended_total',
    help: 'Connections ended, by reason (closed, idle, bad-request, socket-error, answer-error, over-limit, server-close)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'mailward_policy_errors_total',
    help: 'Problems: protocol (a request that broke the protocol; the connection was closed) and answer (evaluation failed: a bug)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly dns: DnsLookupCount = dnsLookupCounter(this.registry, 'mailward_policy');
  private openConnections: () => number = () => 0;

  constructor() {
    const open = () => this.openConnections();
    new Gauge({
      name: 'mailward_policy_active_connections',
      help: 'Policy connections open now',
      registers: [this.registry],
      collect() {
        this.set(open());
      },
    });
  }

  /** Where the gauge of open connections reads from (the server, once it runs). */
  watchConnections(count: () => number): void {
    this.openConnections = count;
  }

  answered(answer: PolicyAnswer, seconds: number): void {
    const decision = answer.decision;
    const result = decision?.decidedBy.result ?? 'skipped';
    // A cached prepend is DUNNO for the later recipients (evaluate.ts): count what was answered.
    const action = decision === undefined || answer.action === 'DUNNO' ? 'dunno' : decision.kind;
    this.requests.inc({ result, action });
    const cache = decision === undefined ? 'skip' : answer.cached ? 'hit' : 'miss';
    this.decisions.observe({ cache }, seconds);
    if (decision !== undefined) this.cache.inc({ outcome: cache });
  }

  answerFailed(): void {
    this.errors.inc({ kind: 'answer' });
  }

  connectionEnded(reason: PolicyConnectionEnd): void {
    this.connections.inc({ reason });
    if (reason === 'bad-request') this.errors.inc({ kind: 'protocol' });
  }

  /** A resolver that counts each lookup's outcome (wrap the network resolver, under the cache). */
  countingResolver(inner: Resolver): Resolver {
    return countingResolver(inner, this.dns);
  }
}
