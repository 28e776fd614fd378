/**
 * Starts a service's metrics endpoint from its settings (`metrics`, `metricsTokenSha256`), or
 * says in one line why not. The same rules for the milter, the policy service and Exim's check.
 */
import type { Registry } from 'prom-client';
import { METRICS_TOKEN_HOWTO, sha256HexProblem } from '../config/metrics-token.js';
import { parseMetricsAddress, startMetricsEndpoint, type MetricsEndpoint } from './metrics-endpoint.js';

export interface MetricsSettings {
  readonly metrics?: string;
  readonly metricsTokenSha256?: string;
}

export type ServeMetrics =
  { readonly ok: true; readonly endpoint?: MetricsEndpoint } | { readonly ok: false; readonly reason: string };

/** Metrics off (no `metrics`) is fine; `metrics` without a good token hash is not. Pure. */
export function metricsSettingsProblem(settings: MetricsSettings): string | undefined {
  if (settings.metrics === undefined) return undefined;
  const address = parseMetricsAddress(settings.metrics);
  if (!address.ok) return `metrics address ${address.reason}`;
  if (settings.metricsTokenSha256 === undefined)
    return `metrics on ${settings.metrics} need a token hash (every scrape must send the token): ${METRICS_TOKEN_HOWTO}`;
  const problem = sha256HexProblem(settings.metricsTokenSha256);
  return problem === undefined ? undefined : `metrics token hash: ${problem}`;
}

export async function serveMetrics(registry: Registry, settings: MetricsSettings): Promise<ServeMetrics> {
  const problem = metricsSettingsProblem(settings);
  if (problem !== undefined) return { ok: false, reason: problem };
  if (settings.metrics === undefined || settings.metricsTokenSha256 === undefined) return { ok: true };
  const address = parseMetricsAddress(settings.metrics);
  if (!address.ok) return { ok: false, reason: address.reason };
  try {
    const endpoint = await startMetricsEndpoint(registry, {
      host: address.host,
      port: address.port,
      tokenSha256: settings.metricsTokenSha256,
    });
    return { ok: true, endpoint };
  } catch (error) {
    return { ok: false, reason: `metrics on ${settings.metrics}: ${listenProblem(error)}` };
  }
}

function listenProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return 'the address is already in use (is another program serving metrics there?)';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EADDRNOTAVAIL') return 'no such local address';
  return error instanceof Error ? error.message : String(error);
}
