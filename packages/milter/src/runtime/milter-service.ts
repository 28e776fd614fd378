/**
 * `mailward milter` as a running service: settings in, a listening milter out.
 *
 * - start: load keys, parse the internal hosts and the local policy, build the resolver, listen;
 *   any problem is one line naming what is wrong (the key and its file, the CIDR, the address).
 * - reload(settings): the same checks on new settings; when they pass, new sessions use them and
 *   sessions in progress finish with the settings they started with (each session's handler holds
 *   its pipeline); when they fail, the old settings stay and the reason is logged.
 * - drain(ms): stop accepting, let open sessions finish until the deadline, then close the rest.
 * One log line per message (logger.ts), Prometheus metrics on `metrics` (metrics.ts).
 */
import type { milter } from '@mailward/core';
import { CachingResolver, parseLocalPolicy, type Clock, type LocalPolicy, type Resolver } from '@mailward/core';
import {
  NetworkResolver,
  parseServer,
  readSystemServers,
  startMilterServer,
  type DnsServer,
  type MilterServer,
} from '@mailward/adapters';
import type { DnsSettings, MilterSettings } from '../settings.js';
import type { InboundPolicy } from '../inbound/decide.js';
import { createMilterHandler } from '../milter/handler.js';
import type { MilterPipeline } from '../milter/pipeline.js';
import { MILTER_WANTS } from '../milter/wants.js';
import { loadArcSealKey, loadSigning } from './keys.js';
import { parseInternalHosts } from './internal-hosts.js';
import { messageLogLine, oneLine, type LogSink } from './logger.js';
import { verdictRecorder } from './verdict-recorder.js';
import type { VerdictJournal } from '@mailward/reports';
import { MilterMetrics } from './metrics.js';
import type { MetricsEndpoint } from './metrics-endpoint.js';
import { serveMetrics } from './metrics-serve.js';

export interface MilterServiceDeps {
  readonly log: LogSink;
  readonly clock?: Clock;
  readonly monotonicMs?: () => number;
  /** Answers DNS instead of the network resolver the settings describe (tests: a MemoryResolver). */
  readonly resolver?: Resolver;
  readonly timeouts?: Partial<milter.SessionTimeouts>;
  /** SMFIR_PROGRESS interval while a reply is being worked out (server.ts; default 10 s). */
  readonly progressMs?: number;
  /** The verdict journal (`--store`): one row per inbound message, appended before the EOM reply. */
  readonly journal?: Pick<VerdictJournal, 'appendVerdicts'>;
  /** Time the journal has to confirm one append (default 5 s); after it the verdict counts as not recorded. */
  readonly journalTimeoutMs?: number;
}

export interface MilterService {
  /** Where the milter listens (the real port when 0 was asked). */
  readonly address: string;
  /** Where /metrics is served, when asked. */
  readonly metricsAddress?: string;
  readonly metrics: MilterMetrics;
  readonly activeSessions: number;
  /** Swaps the settings for new sessions; a failure keeps the old ones (and is logged). */
  reload(settings: MilterSettings): Promise<{ ok: true } | MilterSettingsProblem>;
  /** Stops accepting; open sessions may finish for up to deadlineMs; then everything closes. */
  drain(deadlineMs: number): Promise<{ unfinished: number }>;
  close(): Promise<void>;
}

/** Which setting a start or reload failure is about, so a front end can name its flag or key. */
export type MilterSettingName =
  'listen' | 'authservId' | 'dns' | 'internalHosts' | 'signing' | 'arcSeal' | 'localPolicy' | 'metrics';

export interface MilterSettingsProblem {
  readonly ok: false;
  readonly setting: MilterSettingName;
  /** One line: what is wrong, naming the value (and the file). */
  readonly reason: string;
}

export type MilterServiceStart = { ok: true; service: MilterService } | MilterSettingsProblem;

export async function startMilterService(
  settings: MilterSettings,
  deps: MilterServiceDeps,
): Promise<MilterServiceStart> {
  const clock = deps.clock ?? Date;
  const monotonicMs = deps.monotonicMs ?? (() => performance.now());
  let server: MilterServer | undefined;
  const metrics = new MilterMetrics(() => server?.activeSessions ?? 0);
  const resolvers = new ResolverCache(deps.resolver, metrics);

  const first = await buildPipeline(settings, { ...deps, clock, monotonicMs }, resolvers, metrics);
  if (!first.ok) return first;
  let current = first.pipeline;
  let currentSettings = settings;

  const served = await serveMetrics(metrics.registry, settings);
  if (!served.ok) return { ok: false, setting: 'metrics', reason: served.reason };
  const metricsEndpoint: MetricsEndpoint | undefined = served.endpoint;

  let idle: (() => void) | undefined;
  try {
    server = await startMilterServer({
      listen: settings.listen,
      wants: MILTER_WANTS,
      // Each session takes the pipeline in force when it opens, and keeps it.
      createHandler: () => createMilterHandler(current),
      ...(deps.timeouts === undefined ? {} : { timeouts: deps.timeouts }),
      ...(deps.progressMs === undefined ? {} : { progressMs: deps.progressMs }),
      onSessionEnd: (end) => {
        metrics.sessionEnded(end.reason, end.error, end.warnings.length);
        if (end.error !== undefined && end.reason !== 'closed')
          deps.log(`milter: session ${end.id} from ${end.peer} ended (${end.reason}): ${oneLine(end.error)}`);
        for (const warning of end.warnings) deps.log(`milter: session ${end.id}: ${oneLine(warning)}`);
        if (server !== undefined && server.activeSessions === 0) idle?.();
      },
    });
  } catch (error) {
    await metricsEndpoint?.close();
    return {
      ok: false,
      setting: 'listen',
      reason: `listen on ${settings.listen}: ${listenError(error, 'is another milter running?')}`,
    };
  }
  const milterServer = server;

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await milterServer.close();
    await metricsEndpoint?.close();
    resolvers.close();
  };

  const service: MilterService = {
    address: milterServer.address,
    ...(metricsEndpoint === undefined ? {} : { metricsAddress: metricsEndpoint.address }),
    metrics,
    get activeSessions() {
      return milterServer.activeSessions;
    },
    async reload(next) {
      const built = await buildPipeline(next, { ...deps, clock, monotonicMs }, resolvers, metrics);
      metrics.reload(built.ok);
      if (!built.ok) {
        deps.log(`milter: reload failed, keeping the previous settings: ${built.reason}`);
        return built;
      }
      const restartOnly = [
        next.listen !== currentSettings.listen ? `listen (${currentSettings.listen})` : undefined,
        next.metrics !== currentSettings.metrics ? `metrics (${currentSettings.metrics ?? 'off'})` : undefined,
        next.metricsTokenSha256 !== currentSettings.metricsTokenSha256 ? 'metrics token' : undefined,
      ].filter((x) => x !== undefined);
      current = built.pipeline;
      currentSettings = next;
      deps.log(
        `milter: settings reloaded (${describe(next)}); sessions in progress finish with the previous ones` +
          (restartOnly.length > 0 ? `; still in use until a restart: ${restartOnly.join(', ')}` : ''),
      );
      return { ok: true };
    },
    async drain(deadlineMs) {
      milterServer.stopAccepting();
      if (milterServer.activeSessions > 0) {
        deps.log(`milter: draining ${milterServer.activeSessions} session(s), up to ${deadlineMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadlineMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const unfinished = milterServer.activeSessions;
      await close();
      return { unfinished };
    },
    close,
  };
  deps.log(
    `milter: listening on ${milterServer.address}${metricsEndpoint === undefined ? '' : `, metrics on http://${metricsEndpoint.address}/metrics`} (${describe(settings)})`,
  );
  return { ok: true, service };
}

function describe(settings: MilterSettings): string {
  const keys = settings.signing.keys.map((k) => `${k.domain}:${k.selector}`);
  return [
    `authserv-id ${settings.authservId}`,
    keys.length === 0 ? 'no signing keys' : `signing ${keys.join(', ')}`,
    ...(settings.arcSeal === undefined ? [] : [`ARC sealing ${settings.arcSeal.domain}:${settings.arcSeal.selector}`]),
    settings.inbound.enforce ? 'enforce' : 'dry run (label only)',
    `quarantine ${settings.inbound.quarantine}`,
    `on DNS failure ${settings.inbound.onDnsFailure}`,
  ].join('; ');
}

function listenError(error: unknown, inUseHint: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `the address is already in use (${inUseHint})`;
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EADDRNOTAVAIL') return 'no such local address';
  return error instanceof Error ? error.message : String(error);
}

type PipelineBuild = { ok: true; pipeline: MilterPipeline } | MilterSettingsProblem;

async function buildPipeline(
  settings: MilterSettings,
  deps: MilterServiceDeps & { clock: Clock; monotonicMs: () => number },
  resolvers: ResolverCache,
  metrics: MilterMetrics,
): Promise<PipelineBuild> {
  if (settings.authservId.trim() === '' || /[\s;]/.test(settings.authservId))
    return {
      ok: false,
      setting: 'authservId',
      reason: `authserv-id "${settings.authservId}" must be one word (a host name)`,
    };
  const internal = parseInternalHosts(settings.internalHosts);
  if (!internal.ok) return { ok: false, setting: 'internalHosts', reason: `internal hosts: ${internal.reason}` };
  const signing = await loadSigning(settings.signing);
  if (!signing.ok) return { ok: false, setting: 'signing', reason: signing.reason };
  const arcSeal = settings.arcSeal === undefined ? undefined : await loadArcSealKey(settings.arcSeal);
  if (arcSeal !== undefined && !arcSeal.ok) return { ok: false, setting: 'arcSeal', reason: arcSeal.reason };
  let localPolicy: LocalPolicy | undefined;
  if (settings.inbound.localPolicy !== undefined) {
    const parsed = parseLocalPolicy(settings.inbound.localPolicy);
    if (!parsed.ok) return { ok: false, setting: 'localPolicy', reason: `local policy: ${parsed.reason}` };
    localPolicy = parsed.policy;
  }
  const resolver = await resolvers.get(settings.dns);
  if (!resolver.ok) return { ok: false, setting: 'dns', reason: resolver.reason };
  const inbound: InboundPolicy = {
    enforce: settings.inbound.enforce,
    onDnsFailure: settings.inbound.onDnsFailure,
    quarantine: settings.inbound.quarantine,
    domains: new Map(Object.entries(settings.inbound.domains).map(([domain, p]) => [domain.toLowerCase(), p])),
  };
  const log = deps.log;
  return {
    ok: true,
    pipeline: {
      authservId: settings.authservId,
      isInternal: internal.isInternal,
      outboundDaemons: new Set(settings.outboundDaemons ?? []),
      signingRules: signing.rules,
      inbound,
      ...(localPolicy === undefined ? {} : { localPolicy }),
      ...(arcSeal === undefined ? {} : { arcSeal: arcSeal.key }),
      onError: settings.onError ?? 'tempfail',
      resolver: resolver.resolver,
      clock: deps.clock,
      monotonicMs: deps.monotonicMs,
      report: (report) => {
        metrics.message(report);
        log(messageLogLine(report));
      },
      ...(deps.journal === undefined
        ? {}
        : {
            recordVerdict: verdictRecorder({
              journal: deps.journal,
              receiver: 'milter',
              clock: deps.clock,
              failed: (envelope, reason) => {
                metrics.verdictNotRecorded();
                log(`milter: ${envelope.queueId ?? '-'}: verdict not recorded: ${reason}`);
              },
              ...(deps.journalTimeoutMs === undefined ? {} : { timeoutMs: deps.journalTimeoutMs }),
            }),
          }),
    },
  };
}

/**
 * The resolver for the DNS settings: the same one (and so the same cache) while the settings stay
 * the same across reloads, a new one when they change. Lookups sent are counted by outcome.
 */
class ResolverCache {
  private key: string | undefined;
  private resolver: Resolver | undefined;
  private network: NetworkResolver | undefined;

  constructor(
    private readonly fixed: Resolver | undefined,
    private readonly metrics: MilterMetrics,
  ) {}

  async get(dns: DnsSettings): Promise<{ ok: true; resolver: Resolver } | { ok: false; reason: string }> {
    if (this.fixed !== undefined) return { ok: true, resolver: this.metrics.countingResolver(this.fixed) };
    const key = JSON.stringify(dns);
    if (key === this.key && this.resolver !== undefined) return { ok: true, resolver: this.resolver };
    const servers: DnsServer[] = [];
    for (const text of dns.servers) {
      const parsed = parseServer(text);
      if (!parsed.ok) return { ok: false, reason: `DNS server ${parsed.reason}` };
      servers.push(parsed.server);
    }
    const network = new NetworkResolver({
      servers: servers.length > 0 ? servers : await readSystemServers(),
      timeoutMs: dns.timeoutMs,
    });
    // The old network resolver is not closed here: sessions started before the reload still use it.
    this.network = network;
    this.key = key;
    this.resolver = new CachingResolver(this.metrics.countingResolver(network), Date);
    return { ok: true, resolver: this.resolver };
  }

  close(): void {
    this.network?.close();
  }
}
