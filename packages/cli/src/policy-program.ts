/**
 * `mailward policy`: the SPF policy service for Postfix (check_policy_service) and Exim
 * (${readsocket}), running until SIGTERM/SIGINT. The flags become PolicySettings through
 * policySettingsFromFlags, the one place that maps them, so a YAML file can provide the base
 * and the flags override only what they name.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { describeSystemError } from '@mailward/adapters';
import {
  DEFAULT_DNS,
  DEFAULT_POLICY_ACTIONS,
  DEFAULT_POLICY_CACHE,
  DEFAULT_POLICY_HELO,
  DEFAULT_POLICY_LISTEN,
  DEFAULT_POLICY_SKIP_AUTHENTICATED,
  DEFAULT_POLICY_SKIP_HOSTS,
  formatConfigError,
  loadConfigFile,
  PolicyMetrics,
  startPolicyService,
  type PolicyAction,
  type PolicySettings,
} from '@mailward/milter';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { setupResolver } from './resolver-setup.js';
import {
  METRICS_FLAG_HELP,
  metricsSettingsFromFlags,
  metricsTokenOption,
  missingMetricsToken,
} from './metrics-flags.js';

type Done = (result: CommandResult) => void;

export interface PolicyProgramEnvironment {
  readonly hostname: string;
  readonly progress?: (line: string) => void;
  /** Writes one log line at once (stderr, as the milter logs); without it, `progress`. */
  readonly log?: (line: string) => void;
  readonly stopSignal?: AbortSignal;
  /** Calls the listener on SIGHUP: the service reads its configuration again. */
  readonly onReload?: (listener: () => void) => void;
}

/** The flags as commander gives them: only those given are set. */
export interface PolicyFlags {
  readonly listen?: string;
  readonly receiver?: string;
  readonly dns?: readonly string[];
  readonly dnsTimeout?: number;
  readonly helo?: boolean;
  readonly fail?: string;
  readonly softfail?: string;
  readonly neutral?: string;
  readonly none?: string;
  readonly pass?: string;
  readonly temperror?: string;
  readonly permerror?: string;
  readonly skipHosts?: string;
  readonly skipAuthenticated?: boolean;
  readonly cacheTtl?: number;
  readonly cacheEntries?: number;
  readonly metrics?: string;
  readonly metricsTokenSha256?: string;
}

const RESULTS = ['fail', 'softfail', 'neutral', 'none', 'pass', 'temperror', 'permerror'] as const;
const ACTIONS: readonly PolicyAction[] = ['reject', 'defer', 'prepend', 'dunno'];

/** What `mailward policy` runs with when neither a file nor a flag says otherwise: mailward.yaml's defaults. */
export function defaultPolicySettings(hostname: string): PolicySettings {
  return {
    listen: DEFAULT_POLICY_LISTEN,
    receiver: hostname,
    dns: DEFAULT_DNS,
    helo: DEFAULT_POLICY_HELO,
    actions: DEFAULT_POLICY_ACTIONS,
    skipHosts: DEFAULT_POLICY_SKIP_HOSTS,
    skipAuthenticated: DEFAULT_POLICY_SKIP_AUTHENTICATED,
    cache: DEFAULT_POLICY_CACHE,
  };
}

export function policySettingsFromFlags(
  flags: PolicyFlags,
  base: PolicySettings,
): { ok: true; settings: PolicySettings } | { ok: false; reason: string } {
  const actions: Record<(typeof RESULTS)[number], PolicyAction> = { ...base.actions };
  for (const result of RESULTS) {
    const given = flags[result];
    if (given === undefined) continue;
    const action = given.toLowerCase() as PolicyAction;
    if (!ACTIONS.includes(action)) return { ok: false, reason: `--${result} ${given}: use ${ACTIONS.join(', ')}` };
    actions[result] = action;
  }
  const skipHosts =
    flags.skipHosts === undefined
      ? base.skipHosts
      : flags.skipHosts
          .split(',')
          .map((text) => text.trim())
          .filter((text) => text !== '');
  return {
    ok: true,
    settings: {
      ...base,
      ...(flags.listen === undefined ? {} : { listen: flags.listen }),
      ...(flags.receiver === undefined ? {} : { receiver: flags.receiver }),
      dns: {
        servers: flags.dns !== undefined && flags.dns.length > 0 ? flags.dns : base.dns.servers,
        timeoutMs: flags.dnsTimeout ?? base.dns.timeoutMs,
      },
      helo: flags.helo ?? base.helo,
      actions,
      skipHosts,
      skipAuthenticated: flags.skipAuthenticated ?? base.skipAuthenticated,
      cache: {
        ttlSeconds: flags.cacheTtl ?? base.cache.ttlSeconds,
        maxEntries: flags.cacheEntries ?? base.cache.maxEntries,
      },
      ...metricsSettingsFromFlags(flags, base),
    },
  };
}

export function registerPolicyCommand(program: Command, env: PolicyProgramEnvironment, done: Done): void {
  const command = program
    .command('policy')
    .description(
      'SPF policy service at RCPT time for Postfix (check_policy_service) and Exim (${readsocket}); runs until SIGTERM (see docs/policy.md)',
    )
    .option('--config <file>', "take the settings from mailward.yaml's policy section; flags override them")
    .option('--listen <address>', `inet:HOST:PORT or unix:PATH (default ${DEFAULT_POLICY_LISTEN})`)
    .option('--receiver <name>', 'this host in Received-SPF receiver= and %{r} (default the host name)')
    .addOption(
      new Option('--dns <host[:port]>', 'DNS server to ask (repeatable; default the system resolv.conf)').argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
    )
    .addOption(new Option('--dns-timeout <ms>', 'timeout of one DNS attempt (default 3000)').argParser(nonNegative))
    .option('--dns-fixture <file>', 'answer DNS from a zone fixture file instead (tests, demonstrations)')
    .option('--helo', 'also check the HELO name; its fail acts like a fail (default)')
    .option('--no-helo', 'check only the MAIL FROM identity');
  for (const result of RESULTS) {
    const fallback = DEFAULT_POLICY_ACTIONS[result];
    command.addOption(
      new Option(`--${result} <action>`, `what an SPF ${result} gets (default ${fallback})`).choices(ACTIONS),
    );
  }
  command
    .option(
      '--skip-hosts <cidrs>',
      `client networks never checked (DUNNO), comma-separated CIDRs; '' for none (default ${DEFAULT_POLICY_SKIP_HOSTS.join(',')})`,
    )
    .option('--skip-authenticated', 'SASL-authenticated clients get DUNNO (default)')
    .option('--no-skip-authenticated', 'check SASL-authenticated clients too')
    .addOption(
      new Option(
        '--cache-ttl <seconds>',
        `how long one message's result answers its other recipients (default ${DEFAULT_POLICY_CACHE.ttlSeconds}; 0 = off)`,
      ).argParser(nonNegative),
    )
    .addOption(
      new Option('--cache-entries <n>', `results kept at most (default ${DEFAULT_POLICY_CACHE.maxEntries})`).argParser(
        nonNegative,
      ),
    )
    .option('--metrics <host:port>', METRICS_FLAG_HELP)
    .addOption(metricsTokenOption())
    .action(async (flags: PolicyFlags & { dnsFixture?: string; config?: string }) => {
      const base = flags.config === undefined ? defaultPolicySettings(env.hostname) : await fromFile(flags.config, env);
      if ('exitCode' in base) return done(base);
      const built = policySettingsFromFlags(flags, base);
      if (!built.ok) return done(usageError('policy', built.reason));
      const noToken = missingMetricsToken(built.settings);
      if (noToken !== undefined) return done(usageError('policy', noToken));
      // SIGHUP: the file (when --config) and the flags again, as at start.
      const reread = async (): Promise<{ ok: true; settings: PolicySettings } | { ok: false; error: string }> => {
        const again =
          flags.config === undefined ? defaultPolicySettings(env.hostname) : await fromFile(flags.config, env);
        if ('exitCode' in again)
          return { ok: false, error: again.stderr.trim().replaceAll('\nmailward policy: ', '; ') };
        const next = policySettingsFromFlags(flags, again);
        return next.ok ? { ok: true, settings: next.settings } : { ok: false, error: next.reason };
      };
      done(await runPolicy(built.settings, flags.dnsFixture, env, reread));
    });
}

/** The policy section of a mailward.yaml, read by the same loader as `mailward config check`. */
async function fromFile(path: string, env: PolicyProgramEnvironment): Promise<PolicySettings | CommandResult> {
  // Key files belong to the milter: a problem there is `config check`'s to report, not the policy's.
  const loaded = await loadConfigFile(path, { hostname: env.hostname, checkKeys: false });
  if (!loaded.ok) {
    const lines = loaded.errors.map((error) => `mailward policy: ${formatConfigError(error)}\n`).join('');
    return { exitCode: 1, stdout: '', stderr: lines };
  }
  if (loaded.config.policy === undefined) return usageError('policy', `${path} has no policy section`);
  return loaded.config.policy;
}

async function runPolicy(
  settings: PolicySettings,
  dnsFixture: string | undefined,
  env: PolicyProgramEnvironment,
  reread: () => Promise<{ ok: true; settings: PolicySettings } | { ok: false; error: string }>,
): Promise<CommandResult> {
  const say = env.log ?? env.progress ?? (() => undefined);
  const metrics = new PolicyMetrics();
  const setup = await setupResolver({
    ...(dnsFixture === undefined ? { dns: settings.dns.servers } : { dnsFixture }),
    dnsTimeoutMs: settings.dns.timeoutMs,
    wrapLookups: (resolver) => metrics.countingResolver(resolver),
  });
  if (!setup.ok) return setup.usage ? usageError('policy', setup.reason) : runError('policy', setup.reason);
  let started;
  try {
    started = await startPolicyService({ settings, resolver: setup.resolver, log: say, metrics });
  } catch (error) {
    return runError('policy', describeSystemError(error) ?? (error instanceof Error ? error.message : String(error)));
  }
  if (!started.ok) return usageError('policy', started.error);
  const service = started.service;
  const metricsAt = service.metricsAddress === undefined ? '' : `, metrics on http://${service.metricsAddress}/metrics`;
  say(
    `mailward policy: listening on ${service.address}${metricsAt} (DNS ${setup.describe}, receiver ${settings.receiver})`,
  );
  let reloading = Promise.resolve();
  env.onReload?.(() => {
    reloading = reloading.then(async () => {
      say('mailward policy: SIGHUP: reading the settings again');
      const next = await reread();
      const applied = next.ok ? service.reload(next.settings) : next;
      if (!applied.ok) say(`mailward policy: reload failed, keeping the previous settings: ${applied.error}`);
      else say('mailward policy: settings reloaded (listen, DNS and metrics change only with a restart)');
    });
  });
  await new Promise<void>((resolve) => {
    if (env.stopSignal === undefined || env.stopSignal.aborted) return resolve();
    env.stopSignal.addEventListener('abort', () => resolve(), { once: true });
  });
  await reloading;
  await service.close();
  say('mailward policy: stopped');
  return { exitCode: 0, stdout: '', stderr: '' };
}

function nonNegative(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError('must be a whole number, 0 or more');
  }
  return parsed;
}
