/**
 * `mailward policy` as a library call: validates the settings, builds the evaluator on the given
 * resolver and starts the socket server. The CLI (and the lead's YAML-driven start) call this.
 */
import { parseListenAddress } from '@mailward/adapters';
import type { Clock, Resolver } from '@mailward/core';
import { PolicyEvaluator } from '../policy/evaluate.js';
import { compilePolicySettings } from '../policy/plan.js';
import type { PolicySettings } from '../settings.js';
import type { PolicyServer, PolicyServerOptions } from './policy-server.js';
import { startPolicyServer } from './policy-server.js';

export interface PolicyServiceOptions {
  readonly settings: PolicySettings;
  readonly resolver: Resolver;
  readonly log: (line: string) => void;
  readonly clock?: Clock;
  readonly server?: Pick<PolicyServerOptions, 'idleTimeoutMs' | 'maxConnections' | 'limits'>;
}

export interface PolicyService extends PolicyServer {
  readonly evaluator: PolicyEvaluator;
}

export type StartPolicyServiceResult = { ok: true; service: PolicyService } | { ok: false; error: string };

export async function startPolicyService(options: PolicyServiceOptions): Promise<StartPolicyServiceResult> {
  const compiled = compilePolicySettings(options.settings);
  if (!compiled.ok) return { ok: false, error: compiled.error };
  const listen = parseListenAddress(options.settings.listen);
  if (!listen.ok) return { ok: false, error: listen.error.replace(/^milter address/, 'policy address') };
  const evaluator = new PolicyEvaluator(compiled.compiled, {
    resolver: options.resolver,
    clock: options.clock ?? Date,
  });
  const server = await startPolicyServer({
    ...options.server,
    listen: options.settings.listen,
    answer: (request) => evaluator.answer(request),
    log: options.log,
  });
  return {
    ok: true,
    service: {
      evaluator,
      address: server.address,
      get connections() {
        return server.connections;
      },
      close: () => server.close(),
    },
  };
}
