/**
 * `mailward exim`: Exim's content check at DATA. A long-running server that answers Exim's
 * `spam` condition (`spamd_address = 127.0.0.1 11333 variant=rspamd`) with the DMARC action and
 * the Authentication-Results / Received-SPF fields; see docs/exim.md. Thin: flags → settings
 * (eximSettingsFromFlags, which the YAML configuration feeds too) → the runtime in @mailward/milter.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { LocalPolicy } from '@mailward/core';
import { parseLocalPolicy } from '@mailward/core';
import { readLocalPolicyFile } from '@mailward/adapters';
import type { EximSettings, QuarantineStyle } from '@mailward/milter';
import {
  DEFAULT_DNS,
  DEFAULT_EXIM_LISTEN,
  DEFAULT_INBOUND,
  formatConfigError,
  EximMetrics,
  loadConfigFile,
  parseListenSpec,
  serveMetrics,
  startEximServer,
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
import { openStore, STORE_SCHEMES } from './store-setup.js';
import type { ProgramEnvironment } from './program.js';

/** The flags of `mailward exim`, as commander gives them (absent = not given). */
export interface EximFlags {
  readonly listen?: string;
  readonly authservId?: string;
  readonly dns?: readonly string[];
  readonly dnsTimeout?: number;
  readonly enforce?: boolean;
  readonly quarantine?: QuarantineStyle;
  readonly onDnsFailure?: 'tempfail' | 'accept';
  readonly store?: string;
  readonly metrics?: string;
  readonly metricsTokenSha256?: string;
}

/**
 * Settings from flags: a flag given wins over `base` (the YAML file's settings), and what neither
 * gives takes the default. Pure; the local-policy file is read by the command, not here.
 */
export function eximSettingsFromFlags(flags: EximFlags, base: EximSettings): EximSettings {
  const dns = {
    servers: flags.dns !== undefined && flags.dns.length > 0 ? [...flags.dns] : base.dns.servers,
    timeoutMs: flags.dnsTimeout ?? base.dns.timeoutMs,
  };
  const inbound = {
    ...base.inbound,
    ...(flags.enforce === true && { enforce: true }),
    ...(flags.quarantine !== undefined && { quarantine: flags.quarantine }),
    ...(flags.onDnsFailure !== undefined && { onDnsFailure: flags.onDnsFailure }),
  };
  const store = flags.store ?? base.store;
  return {
    listen: flags.listen ?? base.listen,
    authservId: flags.authservId ?? base.authservId,
    dns,
    inbound,
    ...(store === undefined ? {} : { store }),
    ...metricsSettingsFromFlags(flags, base),
  };
}

/** The settings without a configuration file: the defaults, with this host as authserv-id. */
export function defaultEximSettings(hostname: string): EximSettings {
  return { listen: DEFAULT_EXIM_LISTEN, authservId: hostname, dns: DEFAULT_DNS, inbound: DEFAULT_INBOUND };
}

interface EximCliOptions extends EximFlags {
  readonly dns: string[];
  readonly localPolicy?: string;
  readonly config?: string;
  readonly dnsFixture?: string;
}

/** Settings and local policy from --config, --local-policy and the flags: at start and on SIGHUP. */
async function loadEximSettings(
  options: EximCliOptions,
  hostname: string,
): Promise<{ settings: EximSettings; localPolicy?: LocalPolicy } | CommandResult> {
  const base = await eximBase(options, hostname);
  if ('exitCode' in base) return base;
  const settings = eximSettingsFromFlags(options, base);
  const listen = parseListenSpec(settings.listen);
  if (!listen.ok) return usageError('exim', `--listen ${listen.reason}`);
  const noToken = missingMetricsToken(settings);
  if (noToken !== undefined) return usageError('exim', noToken);
  let localPolicy: LocalPolicy | undefined;
  if (settings.inbound.localPolicy !== undefined) {
    // Already validated by the configuration loader, with its line; parsed again into rules here.
    const parsed = parseLocalPolicy(settings.inbound.localPolicy);
    if (!parsed.ok) return usageError('exim', `--config ${options.config ?? ''}: localPolicy: ${parsed.reason}`);
    localPolicy = parsed.policy;
  }
  if (options.localPolicy !== undefined) {
    const read = await readLocalPolicyFile(options.localPolicy);
    if (!read.ok) return usageError('exim', `--local-policy ${read.reason}`);
    localPolicy = read.policy;
  }
  return localPolicy === undefined ? { settings } : { settings, localPolicy };
}

/** The exim section of a mailward.yaml, read by the same loader as `mailward config check`. */
async function eximBase(options: EximCliOptions, hostname: string): Promise<EximSettings | CommandResult> {
  if (options.config === undefined) return defaultEximSettings(hostname);
  // Key files belong to the milter: a problem there is `config check`'s to report, not Exim's check's.
  const loaded = await loadConfigFile(options.config, { hostname, checkKeys: false });
  if (!loaded.ok) {
    const lines = loaded.errors.map((error) => `mailward exim: ${formatConfigError(error)}\n`).join('');
    return { exitCode: 1, stdout: '', stderr: lines };
  }
  if (loaded.config.exim === undefined) return usageError('exim', `--config ${options.config} has no exim section`);
  return loaded.config.exim;
}

export function registerEximCommand(
  program: Command,
  env: ProgramEnvironment,
  done: (result: CommandResult) => void,
): void {
  program
    .command('exim')
    .description(
      "Exim's content check at DATA: answers Exim's spam condition (spamd_address ... variant=rspamd) with the DMARC action and Authentication-Results (docs/exim.md)",
    )
    .option('--config <file>', "take the settings from mailward.yaml's exim section; flags override them")
    .option('--listen <spec>', `inet:HOST:PORT or unix:/PATH (default ${DEFAULT_EXIM_LISTEN})`)
    .option('--authserv-id <name>', 'authserv-id in Authentication-Results, RFC 8601 §2.5 (default: this host name)')
    .addOption(
      new Option('--dns <host[:port]>', 'DNS server to ask (repeatable)')
        .argParser(collect)
        .default([], 'the system resolv.conf'),
    )
    .addOption(new Option('--dns-timeout <ms>', 'timeout of one DNS attempt').argParser(positiveInt))
    .option('--dns-fixture <file>', 'answer DNS from a zone fixture file instead (tests, demonstrations)')
    .option('--enforce', 'act on DMARC failures (reject, quarantine); without it only label (dry run)')
    .addOption(
      new Option('--quarantine <style>', 'p=quarantine failures: hold (Exim freezes the message) or header').choices([
        'hold',
        'header',
      ]),
    )
    .addOption(
      new Option('--on-dns-failure <action>', 'when DNS failed: tempfail (451 4.7.5) or accept').choices([
        'tempfail',
        'accept',
      ]),
    )
    .option(
      '--local-policy <file>',
      'local policy for DMARC failures (trusted forwarders, mailing lists; YAML or JSON)',
    )
    .option('--store <store>', `where to record each checked message's verdict for DMARC reports: ${STORE_SCHEMES}`)
    .option('--metrics <host:port>', METRICS_FLAG_HELP)
    .addOption(metricsTokenOption())
    .addHelpText(
      'after',
      `
Runs until SIGTERM or SIGINT and logs one line per message, keyed by Exim's queue id.
Exim configuration (docs/exim.md):
  spamd_address = 127.0.0.1 11333 variant=rspamd
and in acl_smtp_data a "warn spam = nobody:true/defer_ok" statement with $spam_action tests.`,
    )
    .action(async (options: EximCliOptions) => {
      const loaded = await loadEximSettings(options, env.hostname);
      if ('exitCode' in loaded) return done(loaded);
      const { settings, localPolicy } = loaded;
      const metrics = new EximMetrics();
      const setup = await setupResolver({
        ...(options.dnsFixture === undefined ? { dns: settings.dns.servers } : { dnsFixture: options.dnsFixture }),
        dnsTimeoutMs: settings.dns.timeoutMs,
        wrapLookups: (resolver) => metrics.countingResolver(resolver),
      });
      if (!setup.ok) return done(setup.usage ? usageError('exim', setup.reason) : runError('exim', setup.reason));
      let journal;
      if (settings.store !== undefined) {
        const opened = await openStore(settings.store, { journal: true });
        if (!opened.ok) return done(opened.usage ? usageError('exim', opened.reason) : runError('exim', opened.reason));
        journal = opened;
      }
      const served = await serveMetrics(metrics.registry, settings);
      if (!served.ok) {
        await journal?.store.close();
        return done(runError('exim', served.reason));
      }
      const log = env.log ?? env.progress ?? (() => {});
      let server;
      try {
        server = await startEximServer({
          settings,
          resolver: setup.resolver,
          log,
          metrics,
          ...(localPolicy === undefined ? {} : { localPolicy }),
          ...(journal === undefined ? {} : { journal: journal.store }),
        });
      } catch (error) {
        await served.endpoint?.close();
        await journal?.store.close();
        return done(runError('exim', `cannot listen on ${settings.listen}: ${(error as Error).message}`));
      }
      const where =
        server.address.kind === 'unix' ? server.address.path : `${server.address.host}:${server.address.port}`;
      log(
        `mailward exim listening on ${where}${served.endpoint === undefined ? '' : `, metrics on http://${served.endpoint.address}/metrics`} (authserv-id ${settings.authservId}, ${settings.inbound.enforce ? 'enforcing' : 'dry run'}, DNS ${setup.describe}${journal === undefined ? '' : `, verdicts to ${journal.description}`})`,
      );
      // SIGHUP: the file (when --config), the local policy and the flags again, as at start.
      let reloading = Promise.resolve();
      const running = server;
      env.onReload?.(() => {
        reloading = reloading.then(async () => {
          log('mailward exim: SIGHUP: reading the settings again');
          const next = await loadEximSettings(options, env.hostname);
          if ('exitCode' in next) {
            const why = next.stderr
              .trim()
              .replaceAll('\nmailward exim: ', '; ')
              .replace(/^mailward exim: /, '');
            log(`mailward exim: reload failed, keeping the previous settings: ${why}`);
            return;
          }
          running.reload(next.settings, next.localPolicy);
          log('mailward exim: settings reloaded (listen, DNS, store and metrics change only with a restart)');
        });
      });
      await new Promise<void>((resolve) => {
        if (env.stopSignal === undefined || env.stopSignal.aborted) return resolve();
        env.stopSignal.addEventListener('abort', () => resolve(), { once: true });
      });
      await reloading;
      await server.close();
      await served.endpoint?.close();
      // After the server: the checks still answering during the grace time append their verdicts.
      await journal?.store.close();
      log('mailward exim stopped');
      done({ exitCode: 0, stdout: '', stderr: '' });
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError('must be a positive integer (milliseconds)');
  return parsed;
}
