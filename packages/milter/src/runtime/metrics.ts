/**
 * Prometheus metrics of the milter (prom-client, in a registry of its own so two services in one
 * process, or tests, do not share counters). metrics-endpoint.ts serves them behind a token.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RecordType, Resolver } from '@mailward/core';
import type { MessageReport } from '../milter/pipeline.js';
import { countingResolver, dnsLookupCounter } from './metrics-dns.js';

export class MilterMetrics {
  readonly registry = new Registry();
  private readonly messages = new Counter({
    name: 'mailward_milter_messages_total',
    help: 'Messages handled, by direction, verdict (DMARC result inbound; signed or unsigned outbound) and action',
    labelNames: ['direction', 'verdict', 'action'] as const,
    registers: [this.registry],
  });
  private readonly stages = new Histogram({
    name: 'mailward_milter_stage_seconds',
    help: 'Time per stage: message (MAIL to the reply at end of message) and finish (the end-of-message work: DNS, signing)',
    labelNames: ['stage', 'direction'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly dns = dnsLookupCounter(this.registry, 'mailward_milter');
  private readonly sessions = new Counter({
    name: 'mailward_milter_sessions_ended_total',
    help: 'Milter sessions ended, by reason (quit, closed, timeout, protocol, socket-error, server-close, busy)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'mailward_milter_errors_total',
    help: 'Problems: protocol errors (the session ended), handler errors (the message got the on-error answer), journal (a verdict not recorded)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly reloads = new Counter({
    name: 'mailward_milter_reloads_total',
    help: 'Settings reloads, by result (ok, failed: the old settings stay)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor(activeSessions: () => number) {
    new Gauge({
      name: 'mailward_milter_active_sessions',
      help: 'Milter sessions open now',
      registers: [this.registry],
      collect() {
        this.set(activeSessions());
      },
    });
  }

  message(report: MessageReport): void {
    const verdict =
      report.direction === 'inbound'
        ? report.error === undefined
          ? (report.dmarc ?? 'none')
          : 'error'
        : report.error !== undefined
          ? 'error'
          : report.signatures === undefined
            ? 'unsigned'
            : 'signed';
    this.messages.inc({ direction: report.direction, verdict, action: report.action });
    this.stages.observe({ stage: 'message', direction: report.direction }, report.totalMs / 1000);
    this.stages.observe({ stage: 'finish', direction: report.direction }, report.finishMs / 1000);
    if (report.error !== undefined) this.errors.inc({ kind: 'handler' });
  }

  sessionEnded(reason: string, error: string | undefined, warnings: number): void {
    this.sessions.inc({ reason });
    if (reason === 'protocol' && error !== undefined) this.errors.inc({ kind: 'protocol' });
    if (warnings > 0) this.errors.inc({ kind: 'session-warning' }, warnings);
  }

  /** A verdict the journal (`--store`) failed to record. */
  verdictNotRecorded(): void {
    this.errors.inc({ kind: 'journal' });
  }

  reload(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'ok' : 'failed' });
  }

  dnsLookup(type: RecordType, outcome: string): void {
    this.dns(type, outcome);
  }

  /** A resolver that counts each lookup's outcome, then passes it on unchanged. */
  countingResolver(inner: Resolver): Resolver {
    return countingResolver(inner, this.dns);
  }
}
