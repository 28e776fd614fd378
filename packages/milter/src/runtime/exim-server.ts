/**
 * The socket side of Exim's content check: a TCP (or Unix) server speaking the rspamd variant of
 * Exim's `spam` condition. One request per connection, as Exim sends it (spam.c opens a
 * connection per message and reads the reply to EOF), so the reply is followed by a close.
 *
 * Bounds: connections at once (`maxConnections`; Node closes the excess at once, and Exim then
 * defers that message), the request sizes (EximRequestLimits), an idle timeout while reading, and
 * a time budget for the checks (DNS), after which the answer is "could not check".
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import type { Clock, LocalPolicy, Resolver } from '@mailward/core';
import type { EximSettings } from '../settings.js';
import { DEFAULT_EXIM_REQUEST_LIMITS, EximRequestReader } from '../exim/request.js';
import type { EximRequest, EximRequestLimits } from '../exim/request.js';
import { checkEximRequest, eximTimeoutOutcome, inboundPolicyFromSettings } from '../exim/check.js';
import type { EximCheckOutcome } from '../exim/check.js';
import { encodeEximProtocolError } from '../exim/reply.js';
import { parseListenSpec } from '../exim/listen.js';
import type { ListenAddress } from '../exim/listen.js';
import type { VerdictJournal } from '@mailward/reports';
import { DEFAULT_JOURNAL_TIMEOUT_MS, verdictRecorder } from './verdict-recorder.js';
import { eximMessageLabels, type EximMetrics } from './metrics-exim.js';

export interface EximServerOptions {
  readonly settings: EximSettings;
  readonly resolver: Resolver;
  readonly localPolicy?: LocalPolicy;
  readonly clock?: Clock;
  readonly limits?: EximRequestLimits;
  /** One line per message (and per refused connection). */
  readonly log: (line: string) => void;
  readonly maxConnections?: number;
  /** Silence allowed while a request is being read. */
  readonly idleTimeoutMs?: number;
  /**
   * Time allowed to send a whole request, however steadily the bytes trickle in. Exim gives up
   * after its own `tmo=` (default 120 s), so a request still incomplete after that is dead.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Time for the checks of one message. Below Exim's own `tmo=` (default 120 s) so that Exim gets
   * our "try again later" rather than timing out itself.
   */
  readonly checkTimeoutMs?: number;
  /**
   * Where each checked message's verdict is appended (`--store`), before Exim gets the answer. A
   * failed append is logged and counted; the message still gets its verdict.
   */
  readonly journal?: Pick<VerdictJournal, 'appendVerdicts'>;
  /** Time the journal has to confirm one append (default 5 s); after it the verdict counts as not recorded. */
  readonly journalTimeoutMs?: number;
  /** Counts messages, check times and request errors (the caller serves them; metrics-serve.ts). */
  readonly metrics?: EximMetrics;
}

export interface EximServer {
  readonly address: ListenAddress;
  /** Stops accepting, lets the checks under way answer (up to `graceMs`), then closes the rest. */
  close(graceMs?: number): Promise<void>;
  /** Verdicts the journal failed to store since start. */
  unrecordedVerdicts(): number;
  /**
   * New settings for the checks that follow (SIGHUP): authserv-id, the inbound decision and the
   * local policy. `listen`, `dns`, `store` and `metrics` need a restart; checks under way finish
   * with the settings they started with.
   */
  reload(settings: EximSettings, localPolicy?: LocalPolicy): void;
}

export const DEFAULT_EXIM_MAX_CONNECTIONS = 64;
const DEFAULT_IDLE_MS = 30_000;
const DEFAULT_CHECK_MS = 25_000;
const DEFAULT_REQUEST_MS = 150_000;

export async function startEximServer(options: EximServerOptions): Promise<EximServer> {
  const parsed = parseListenSpec(options.settings.listen);
  if (!parsed.ok) throw new RangeError(`listen ${parsed.reason}`);
  const limits = options.limits ?? DEFAULT_EXIM_REQUEST_LIMITS;
  const clock = options.clock ?? Date;
  const checkOptionsFor = (settings: EximSettings, localPolicy: LocalPolicy | undefined) => ({
    authservId: settings.authservId,
    resolver: options.resolver,
    clock,
    inbound: inboundPolicyFromSettings(settings.inbound),
    ...(localPolicy === undefined ? {} : { localPolicy }),
  });
  let settings = options.settings;
  let checkOptions = checkOptionsFor(settings, options.localPolicy);
  const checkMs = options.checkTimeoutMs ?? DEFAULT_CHECK_MS;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  const requestMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_MS;
  const journalMs = options.journalTimeoutMs ?? DEFAULT_JOURNAL_TIMEOUT_MS;
  const sockets = new Set<Socket>();
  let unrecorded = 0;
  const busy = new Set<Promise<void>>();

  const serve = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(idleMs, () => {
      options.log(`exim connection from ${peer(socket)}: no data for ${idleMs / 1000} s, closed`);
      options.metrics?.requestError('idle');
      socket.destroy();
    });
    const deadline = setTimeout(() => {
      options.log(`exim connection from ${peer(socket)}: request not complete after ${requestMs / 1000} s, closed`);
      options.metrics?.requestError('request-timeout');
      socket.destroy();
    }, requestMs);
    socket.on('close', () => clearTimeout(deadline));
    const reader = new EximRequestReader(limits);
    const handle = (result: ReturnType<EximRequestReader['push']>): void => {
      if (result.state === 'more') return;
      socket.removeAllListeners('data');
      socket.removeAllListeners('end');
      socket.setTimeout(0);
      clearTimeout(deadline);
      if (result.state === 'error') {
        options.log(`exim connection from ${peer(socket)}: bad request: ${result.reason}`);
        options.metrics?.requestError('bad-request');
        socket.end(encodeEximProtocolError(result.reason), 'latin1');
        return;
      }
      const job = answer(result.request).then(async (outcome) => {
        await record(result.request, outcome);
        options.log(outcome.log);
        if (!socket.destroyed) socket.end(outcome.reply, 'latin1');
      });
      busy.add(job);
      void job.finally(() => busy.delete(job));
    };
    socket.on('data', (chunk: Buffer) => handle(reader.push(chunk)));
    socket.on('end', () => handle(reader.end()));
  };

  const answer = async (request: EximRequest): Promise<EximCheckOutcome> => {
    const started = performance.now();
    // The settings this check started with, whatever a reload does meanwhile.
    const current = { settings, checkOptions };
    const counted = (outcome: EximCheckOutcome, labels = eximMessageLabels(outcome)): EximCheckOutcome => {
      options.metrics?.message(labels, (performance.now() - started) / 1000);
      return outcome;
    };
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const late = new Promise<EximCheckOutcome>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve(eximTimeoutOutcome(request, current.checkOptions, checkMs / 1000));
      }, checkMs);
    });
    try {
      const outcome = await Promise.race([checkEximRequest(request, current.checkOptions), late]);
      if (!timedOut) return counted(outcome);
      options.metrics?.requestError('check-timeout');
      const action = current.settings.inbound.onDnsFailure === 'accept' ? 'none' : 'tempfail';
      return counted(outcome, { verdict: 'timeout', action });
    } catch (error) {
      // A bug, not the sender's fault: Exim defers the message (or accepts it with /defer_ok).
      const reason = `internal error: ${error instanceof Error ? error.message : String(error)}`;
      options.metrics?.requestError('internal');
      const outcome = {
        reply: encodeEximProtocolError(reason),
        log: `exim queue-id=${request.queueId ?? '-'} ${reason}`,
      };
      return counted(outcome, { verdict: 'error', action: 'tempfail' });
    } finally {
      clearTimeout(timer);
    }
  };

  const recordVerdict =
    options.journal === undefined
      ? undefined
      : verdictRecorder({
          journal: options.journal,
          receiver: 'exim',
          clock,
          timeoutMs: journalMs,
          failed: (envelope, reason) => {
            unrecorded += 1;
            options.metrics?.requestError('journal');
            options.log(
              `exim queue-id=${envelope.queueId ?? '-'} verdict not recorded (${unrecorded} since start): ${reason}`,
            );
          },
        });

  /** Appends the verdict of a checked message (committed before the reply goes out). */
  const record = async (request: EximRequest, outcome: EximCheckOutcome): Promise<void> => {
    if (recordVerdict === undefined || outcome.verdict === undefined || outcome.authentication === undefined) return;
    if (request.ip === undefined) return;
    await recordVerdict(outcome.authentication, outcome.verdict, {
      ip: request.ip,
      mailFrom: request.mailFrom,
      recipients: request.recipients,
      ...(request.helo === undefined ? {} : { helo: request.helo }),
      ...(request.queueId === undefined ? {} : { queueId: request.queueId }),
    });
  };

  // Half-open allowed: a client that shuts down its write side after the request (rspamc, nc) still gets the reply.
  const server: Server = createServer({ allowHalfOpen: true }, serve);
  server.maxConnections = options.maxConnections ?? DEFAULT_EXIM_MAX_CONNECTIONS;
  server.on('drop', (data) => {
    options.log(
      `exim connection from ${data?.remoteAddress ?? '-'} refused: ${server.maxConnections} connections already open`,
    );
    options.metrics?.requestError('refused');
  });
  options.metrics?.watchConnections(() => sockets.size);
  const address = parsed.address;
  if (address.kind === 'unix') await rm(address.path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
  const bound = server.address();
  const actual: ListenAddress =
    address.kind === 'inet' && bound !== null && typeof bound === 'object' ? { ...address, port: bound.port } : address;

  return {
    address: actual,
    unrecordedVerdicts: () => unrecorded,
    reload(next, localPolicy) {
      settings = next;
      checkOptions = checkOptionsFor(next, localPolicy);
    },
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([...busy]), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function peer(socket: Socket): string {
  return socket.remoteAddress === undefined ? 'local socket' : `${socket.remoteAddress}:${socket.remotePort}`;
}
