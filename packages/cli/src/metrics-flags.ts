/**
 * `--metrics HOST:PORT` and `--metrics-token-sha256 HEX`, the same on `mailward milter`, `policy`
 * and `exim`: the flags, and the start-up check that metrics never run without a token.
 */
import { InvalidArgumentError, Option } from 'commander';
import { METRICS_TOKEN_HOWTO, sha256HexProblem } from '@mailward/milter';

export interface MetricsFlags {
  readonly metrics?: string;
  readonly metricsTokenSha256?: string;
}

export const METRICS_FLAG_HELP =
  'serve Prometheus metrics on http://HOST:PORT/metrics (a bare port: 127.0.0.1); needs --metrics-token-sha256';

/** The token flag, next to `--metrics` on each of the three commands. */
export function metricsTokenOption(): Option {
  return new Option(
    '--metrics-token-sha256 <hex>',
    'SHA-256 of the bearer token a scrape must send (the token file\'s line without its newline; docs/milter.md "Metrics")',
  ).argParser((value: string) => {
    const problem = sha256HexProblem(value);
    if (problem !== undefined) throw new InvalidArgumentError(problem);
    return value.toLowerCase();
  });
}

/** The flags over a base's (the file's) metrics settings. */
export function metricsSettingsFromFlags(flags: MetricsFlags, base: MetricsFlags): MetricsFlags {
  const metrics = flags.metrics ?? base.metrics;
  const metricsTokenSha256 = flags.metricsTokenSha256 ?? base.metricsTokenSha256;
  return {
    ...(metrics === undefined ? {} : { metrics }),
    ...(metricsTokenSha256 === undefined ? {} : { metricsTokenSha256 }),
  };
}

/** Metrics asked for without a token hash: a usage error naming both flags and how to make one. */
export function missingMetricsToken(settings: MetricsFlags): string | undefined {
  if (settings.metrics === undefined || settings.metricsTokenSha256 !== undefined) return undefined;
  return `--metrics ${settings.metrics} needs --metrics-token-sha256 HEX (every scrape must send the token): ${METRICS_TOKEN_HOWTO}`;
}
