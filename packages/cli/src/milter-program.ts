/**
 * `mailward milter`: flags → MilterSettings → startMilterService, then run until SIGTERM/SIGINT
 * (drain) with SIGHUP re-reading the settings and keys. The settings come from one function,
 * milterSettingsFromFlags: `--config FILE` (mailward.yaml's milter section) gives the base, the
 * flags override it; SIGHUP reads the file again.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { MemoryResolver } from '@mailward/core';
import { parseListenAddress, readZoneFixture } from '@mailward/adapters';
import {
  formatConfigError,
  loadConfigFile,
  DEFAULT_DNS,
  DEFAULT_INBOUND,
  DEFAULT_INTERNAL_HOSTS,
  DEFAULT_MILTER_LISTEN,
  readLocalPolicyDocument,
  startMilterService,
  type MilterService,
  type MilterSettingName,
  type MilterSettings,
  type SigningKeySettings,
  type SigningRuleSettings,
} from '@mailward/milter';
import type { CommandResult } from './commands/result.js';
import { openStore, STORE_SCHEMES } from './store-setup.js';
import { METRICS_FLAG_HELP, metricsTokenOption, missingMetricsToken } from './metrics-flags.js';

export interface MilterProgramEnvironment {
  readonly hostname: string;
  /** Aborted on SIGTERM or SIGINT: the milter drains and exits. */
  readonly stopSignal?: AbortSignal;
  /** Calls the listener on SIGHUP: the milter re-reads its settings and keys. */
  readonly onReload?: (listener: () => void) => void;
  /** Writes one log line at once (stderr); without it, lines are returned with the result. */
  readonly log?: (line: string) => void;
}

type Done = (result: CommandResult) => void;

/** The flags as commander gives them: undefined when not given, so a base can fill them in. */
export interface MilterFlags {
  readonly listen?: string;
  readonly authservId?: string;
  readonly dns?: readonly string[];
  readonly dnsTimeout?: number;
  readonly sign?: readonly string[];
  /** DOMAIN:SELECTOR:KEYFILE of the key that seals an ARC set on inbound mail. */
  readonly arcSeal?: string;
  readonly internalHosts?: string;
  readonly outboundDaemons?: string;
  readonly enforce?: boolean;
  readonly quarantine?: 'hold' | 'header';
  readonly onDnsFailure?: 'tempfail' | 'accept';
  readonly onError?: 'tempfail' | 'accept';
  /** The local-policy document, already read from --local-policy FILE. */
  readonly localPolicy?: unknown;
  readonly metrics?: string;
  readonly metricsTokenSha256?: string;
  /** Where inbound verdicts go (the verdict journal). */
  readonly store?: string;
}

export type MilterSettingsFromFlags =
  { ok: true; settings: MilterSettings } | { ok: false; flag: string; reason: string };

const DEFAULT_SETTINGS = (hostname: string): MilterSettings => ({
  listen: DEFAULT_MILTER_LISTEN,
  authservId: hostname,
  dns: DEFAULT_DNS,
  internalHosts: DEFAULT_INTERNAL_HOSTS,
  signing: { keys: [], rules: [] },
  inbound: DEFAULT_INBOUND,
});

/**
 * Settings from flags over a base (a configuration file's settings, or the defaults). `--sign
 * DOMAIN:SELECTOR:KEYFILE` adds a key and signs mail whose From domain is DOMAIN or one of its
 * subdomains with it; several --sign for one domain (an RSA and an Ed25519 key, say) all sign.
 * Checks the syntax only; files and CIDRs are checked when the service starts.
 */
export function milterSettingsFromFlags(flags: MilterFlags, base: MilterSettings): MilterSettingsFromFlags {
  if (flags.listen !== undefined) {
    const parsed = parseListenAddress(flags.listen);
    if (!parsed.ok) return { ok: false, flag: '--listen', reason: parsed.error };
  }
  let signing = base.signing;
  if (flags.sign !== undefined && flags.sign.length > 0) {
    const keys: SigningKeySettings[] = [];
    const byDomain = new Map<string, string[]>();
    for (const text of flags.sign) {
      const [domain = '', selector = '', ...rest] = text.split(':');
      const keyFile = rest.join(':');
      if (domain === '' || selector === '' || keyFile === '')
        return { ok: false, flag: '--sign', reason: `"${text}" is not DOMAIN:SELECTOR:KEYFILE` };
      const id = `${domain}:${selector}`;
      if (keys.some((k) => `${k.domain}:${k.selector}`.toLowerCase() === id.toLowerCase()))
        return { ok: false, flag: '--sign', reason: `${id} is given twice` };
      keys.push({ domain, selector, keyFile });
      const lower = domain.toLowerCase();
      byDomain.set(lower, [...(byDomain.get(lower) ?? []), id]);
    }
    const rules: SigningRuleSettings[] = [...byDomain].flatMap(([domain, ids]) => [
      { from: domain, keys: ids },
      { from: `*.${domain}`, keys: ids },
    ]);
    signing = { keys, rules };
  }
  let arcSeal = base.arcSeal;
  if (flags.arcSeal !== undefined) {
    const [domain = '', selector = '', ...rest] = flags.arcSeal.split(':');
    const keyFile = rest.join(':');
    if (domain === '' || selector === '' || keyFile === '')
      return { ok: false, flag: '--arc-seal', reason: `"${flags.arcSeal}" is not DOMAIN:SELECTOR:KEYFILE` };
    arcSeal = { domain, selector, keyFile };
  }
  const internalHosts =
    flags.internalHosts === undefined
      ? base.internalHosts
      : flags.internalHosts
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  const outboundDaemons =
    flags.outboundDaemons === undefined
      ? base.outboundDaemons
      : flags.outboundDaemons
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  const inbound = {
    ...base.inbound,
    ...(flags.enforce === undefined ? {} : { enforce: flags.enforce }),
    ...(flags.quarantine === undefined ? {} : { quarantine: flags.quarantine }),
    ...(flags.onDnsFailure === undefined ? {} : { onDnsFailure: flags.onDnsFailure }),
    ...(flags.localPolicy === undefined ? {} : { localPolicy: flags.localPolicy }),
  };
  const dns = {
    servers: flags.dns !== undefined && flags.dns.length > 0 ? flags.dns : base.dns.servers,
    timeoutMs: flags.dnsTimeout ?? base.dns.timeoutMs,
  };
  const settings: MilterSettings = {
    ...base,
    ...(flags.listen === undefined ? {} : { listen: flags.listen }),
    ...(flags.authservId === undefined ? {} : { authservId: flags.authservId }),
    ...(flags.metrics === undefined ? {} : { metrics: flags.metrics }),
    ...(flags.store === undefined ? {} : { store: flags.store }),
    ...(flags.metricsTokenSha256 === undefined ? {} : { metricsTokenSha256: flags.metricsTokenSha256 }),
    ...(flags.onError === undefined ? {} : { onError: flags.onError }),
    dns,
    internalHosts,
    ...(outboundDaemons === undefined ? {} : { outboundDaemons }),
    signing,
    inbound,
    ...(arcSeal === undefined ? {} : { arcSeal }),
  };
  return { ok: true, settings };
}

/** The flag that sets each setting, for start-up errors. */
const FLAG_OF: Record<MilterSettingName, string> = {
  listen: '--listen',
  authservId: '--authserv-id',
  dns: '--dns',
  internalHosts: '--internal-hosts',
  signing: '--sign',
  arcSeal: '--arc-seal',
  localPolicy: '--local-policy',
  metrics: '--metrics',
};

interface MilterCliOptions {
  config?: string;
  listen?: string;
  authservId?: string;
  dns: string[];
  dnsTimeout?: number;
  dnsFixture?: string;
  sign: string[];
  arcSeal?: string;
  internalHosts?: string;
  outboundDaemons?: string;
  enforce?: boolean;
  quarantine?: 'hold' | 'header';
  onDnsFailure?: 'tempfail' | 'accept';
  onError?: 'tempfail' | 'accept';
  localPolicy?: string;
  metrics?: string;
  store?: string;
  metricsTokenSha256?: string;
  drainTimeout: number;
}

export function registerMilterCommand(program: Command, env: MilterProgramEnvironment, done: Done): void {
  program
    .command('milter')
    .description(
      'Run the milter for Postfix (or Sendmail): DKIM-sign outbound mail; verify SPF, DKIM, ARC and DMARC on inbound mail, label it and act on DMARC failures',
    )
    .option('--config <file>', "take the settings from mailward.yaml's milter section; flags override them")
    .option('--listen <address>', `inet:HOST:PORT or unix:PATH (default ${DEFAULT_MILTER_LISTEN})`)
    .option('--authserv-id <id>', "this receiver's name in Authentication-Results (default: this host name)")
    .addOption(
      new Option('--dns <host[:port]>', 'DNS resolver to ask (repeatable)')
        .argParser(collect)
        .default([], 'resolv.conf'),
    )
    .addOption(new Option('--dns-timeout <ms>', 'timeout of one DNS attempt (default 3000)').argParser(positiveInt))
    .option('--dns-fixture <file>', 'answer DNS from a zone fixture file instead (tests, demonstrations)')
    .addOption(
      new Option(
        '--sign <domain:selector:keyfile>',
        'sign mail From this domain and its subdomains with this key (repeatable)',
      )
        .argParser(collect)
        .default([], 'none: nothing is signed'),
    )
    .option(
      '--arc-seal <domain:selector:keyfile>',
      'seal an ARC set (RFC 8617) on inbound mail with this key (for a forwarder or mailing list host)',
    )
    .option(
      '--internal-hosts <cidrs>',
      `clients whose mail is outbound, comma-separated (default ${DEFAULT_INTERNAL_HOSTS.join(',')}; SASL logins are outbound too)`,
    )
    .option(
      '--outbound-daemons <names>',
      'MTA services whose mail is outbound, by {daemon_name} (e.g. ORIGINATING: Postfix -o milter_macro_daemon_name=ORIGINATING on submission), comma-separated',
    )
    .option('--enforce', 'act on DMARC failures (reject, quarantine); without it only label (dry run)')
    .addOption(
      new Option(
        '--quarantine <how>',
        'p=quarantine failures: hold (Postfix hold queue) or header (default hold)',
      ).choices(['hold', 'header']),
    )
    .addOption(
      new Option(
        '--on-dns-failure <what>',
        'when DNS fails where the verdict depends on it (default tempfail: 451 4.7.5)',
      ).choices(['tempfail', 'accept']),
    )
    .addOption(
      new Option('--on-error <what>', 'when handling a message fails (default tempfail: 451 4.3.0)').choices([
        'tempfail',
        'accept',
      ]),
    )
    .option(
      '--local-policy <file>',
      'YAML or JSON rules for DMARC failures: trusted forwarders, mailing lists, ARC sealers, actions',
    )
    .option('--metrics <host:port>', METRICS_FLAG_HELP)
    .addOption(metricsTokenOption())
    .option(
      '--store <store>',
      `record each inbound message's verdict for DMARC reports (docs/verdicts.md): ${STORE_SCHEMES}`,
    )
    .addOption(
      new Option('--drain-timeout <ms>', 'on SIGTERM, how long open sessions may finish')
        .argParser(positiveInt)
        .default(30_000),
    )
    .action(async (options: MilterCliOptions) => {
      const lines: string[] = [];
      const log = env.log ?? ((line: string) => lines.push(line));
      const finish = (exitCode: 0 | 1 | 2, error?: string) =>
        done({
          exitCode,
          stdout: '',
          stderr: [...lines, ...(error === undefined ? [] : [`mailward milter: ${error}`])]
            .map((l) => `${l}\n`)
            .join(''),
        });

      const load = async (): Promise<
        { ok: true; settings: MilterSettings } | { ok: false; usage: boolean; reason: string }
      > => {
        let base = DEFAULT_SETTINGS(env.hostname);
        if (options.config !== undefined) {
          // Key files are checked by the service, which names the key and the file.
          const loaded = await loadConfigFile(options.config, { hostname: env.hostname, checkKeys: false });
          if (!loaded.ok)
            return {
              ok: false,
              usage: false,
              reason: loaded.errors.map(formatConfigError).join('\nmailward milter: '),
            };
          if (loaded.config.milter === undefined)
            return { ok: false, usage: true, reason: `--config ${options.config} has no milter section` };
          base = loaded.config.milter;
        }
        let localPolicy: unknown;
        if (options.localPolicy !== undefined) {
          const read = await readLocalPolicyDocument(options.localPolicy);
          if (!read.ok) return { ok: false, usage: false, reason: `--local-policy ${read.reason}` };
          localPolicy = read.document;
        }
        const built = milterSettingsFromFlags(
          { ...options, ...(localPolicy === undefined ? {} : { localPolicy }) },
          base,
        );
        if (!built.ok) return { ok: false, usage: true, reason: `${built.flag} ${built.reason}` };
        return built;
      };

      if (options.dnsFixture !== undefined && options.dns.length > 0)
        return finish(2, 'give either --dns or --dns-fixture, not both');
      let fixtureResolver: MemoryResolver | undefined;
      if (options.dnsFixture !== undefined) {
        const fixture = await readZoneFixture(options.dnsFixture);
        if (!fixture.ok) return finish(2, `--dns-fixture ${fixture.reason}`);
        fixtureResolver = new MemoryResolver(fixture.zone);
      }
      const first = await load();
      if (!first.ok) return finish(first.usage ? 2 : 1, first.reason);
      const noToken = missingMetricsToken(first.settings);
      if (noToken !== undefined) return finish(2, noToken);
      // Opened once: a reload keeps the store it started with (changing it needs a restart).
      const storeSpec = first.settings.store;
      let journal;
      if (storeSpec !== undefined) {
        const opened = await openStore(storeSpec, { journal: true });
        if (!opened.ok) return finish(opened.usage ? 2 : 1, opened.reason);
        journal = opened;
        log(`milter: verdicts to ${opened.description}`);
      }
      const started = await startMilterService(first.settings, {
        log,
        ...(fixtureResolver === undefined ? {} : { resolver: fixtureResolver }),
        ...(journal === undefined ? {} : { journal: journal.store }),
      });
      if (!started.ok) {
        await journal?.store.close();
        const usage = started.setting === 'internalHosts' || started.setting === 'authservId';
        const where =
          options.config === undefined ? FLAG_OF[started.setting] : `${FLAG_OF[started.setting]} or ${options.config}`;
        return finish(usage ? 2 : 1, `${where}: ${started.reason}`);
      }
      const service: MilterService = started.service;

      // SIGHUP: re-read the local policy and the keys; a failure keeps what runs (the service logs it).
      let reloading = Promise.resolve();
      env.onReload?.(() => {
        reloading = reloading.then(async () => {
          log('milter: SIGHUP: reloading settings and keys');
          const next = await load();
          if (!next.ok) {
            service.metrics.reload(false);
            log(
              `milter: reload failed, keeping the previous settings: ${next.reason.replaceAll('\nmailward milter: ', '; ')}`,
            );
            return;
          }
          // The service logs the outcome (and a failure's reason) itself.
          await service.reload(next.settings);
        });
      });

      await untilAborted(env.stopSignal);
      log(`milter: stopping: no new sessions; open ones may finish for ${options.drainTimeout} ms`);
      const drained = await service.drain(options.drainTimeout);
      // After the drain: the sessions finishing meanwhile append their verdicts.
      await journal?.store.close();
      log(
        `milter: stopped${drained.unfinished > 0 ? ` (${drained.unfinished} session(s) cut off at the deadline)` : ''}`,
      );
      finish(0);
    });
}

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  // Without a stop signal (a test calling runProgram), the command would run forever; it stops at once.
  if (signal === undefined || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}
