/**
 * `mailward policy` as a library call: validates the settings, builds the evaluator on the given
 * resolver and starts the socket server, and the metrics endpoint when `metrics` is set. The CLI
 * (and the lead's YAML-driven start) call this.
 */
import { parseListenAddress } from '@mailward/adapters';
import type { Clock, Resolver } from '@mailward/core';
import { PolicyEvaluator } from '../policy/evaluate.js';
import { compilePolicySettings } from '../policy/plan.js';
import type { PolicySettings } from '../settings.js';
import type { MetricsEndpoint } from './metrics-endpoint.js';
import { PolicyMetrics } from './metrics-policy.js';
import { serveMetrics } from './metrics-serve.js';
import type { PolicyServer, PolicyServerOptions } from './policy-server.js';
import { startPolicyServer } from './policy-server.js';

export interface PolicyServiceOptions {
  readonly settings: PolicySettings;
  readonly resolver: Resolver;
  readonly log: (line: string) => void;
  readonly clock?: Clock;
  readonly server?: Pick<PolicyServerOptions, 'idleTimeoutMs' | 'maxConnections' | 'limits'>;
  /**
   * The metrics to count into. Give them when `resolver` already counts its network lookups
   * through `metrics.countingResolver` (under its cache, as the CLI does); without them the
   * service makes its own and counts the lookups the checks ask for, above any cache.
   */
  readonly metrics?: PolicyMetrics;
}

export interface PolicyService extends PolicyServer {
  /** The evaluator answering now (a reload replaces it). */
  readonly evaluator: PolicyEvaluator;
  /**
   * New settings for the requests that follow (SIGHUP): actions, HELO, skips, cache, receiver.
   * `listen`, `dns` and `metrics` need a restart. Invalid settings keep the running ones.
   */
  reload(settings: PolicySettings): { ok: true } | { ok: false; error: string };
  readonly metrics: PolicyMetrics;
  /** Where /metrics is served, when asked. */
  readonly metricsAddress?: string;
}

export type StartPolicyServiceResult = { ok: true; service: PolicyService } | { ok: false; error: string };

export async function startPolicyService(options: PolicyServiceOptions): Promise<StartPolicyServiceResult> {
  const compiled = compilePolicySettings(options.settings);
  if (!compiled.ok) return { ok: false, error: compiled.error };
  const listen = parseListenAddress(options.settings.listen);
  if (!listen.ok) return { ok: false, error: listen.error.replace(/^milter address/, 'policy address') };
  const metrics = options.metrics ?? new PolicyMetrics();
  const resolver = options.metrics === undefined ? metrics.countingResolver(options.resolver) : options.resolver;
  let evaluator = new PolicyEvaluator(compiled.compiled, { resolver, clock: options.clock ?? Date });
  const served = await serveMetrics(metrics.registry, options.settings);
  if (!served.ok) return { ok: false, error: served.reason };
  const endpoint: MetricsEndpoint | undefined = served.endpoint;
  let server: PolicyServer;
  try {
    server = await startPolicyServer({
      ...options.server,
      listen: options.settings.listen,
      answer: async (request) => {
        const started = performance.now();
        try {
          const answer = await evaluator.answer(request);
          metrics.answered(answer, (performance.now() - started) / 1000);
          return answer;
        } catch (error) {
          metrics.answerFailed();
          throw error;
        }
      },
      log: options.log,
      onConnectionEnd: (reason) => metrics.connectionEnded(reason),
    });
  } catch (error) {
    await endpoint?.close();
    throw error;
  }
  metrics.watchConnections(() => server.connections);
  return {
    ok: true,
    service: {
      get evaluator() {
        return evaluator;
      },
      reload(settings) {
        const next = compilePolicySettings(settings);
        if (!next.ok) return { ok: false, error: next.error };
        // A new evaluator, with an empty cache: answers cached under the old actions must not
        // outlive them. Requests already being evaluated finish with the old one.
        evaluator = new PolicyEvaluator(next.compiled, { resolver, clock: options.clock ?? Date });
        return { ok: true };
      },
      metrics,
      ...(endpoint === undefined ? {} : { metricsAddress: endpoint.address }),
      address: server.address,
      get connections() {
        return server.connections;
      },
      close: async () => {
        await server.close();
        await endpoint?.close();
      },
    },
  };
}
