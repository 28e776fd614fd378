/**
 * Prometheus metrics of `mailward exim`, in a registry of its own: messages by DMARC verdict and
 * action, the time of the checks, DNS outcomes, requests that went wrong.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Resolver } from '@mailward/core';
import type { EximCheckOutcome } from '../exim/check.js';
import { countingResolver, dnsLookupCounter, type DnsLookupCount } from './metrics-dns.js';

/** What went wrong with a request (exim-server.ts). */
export type EximRequestError =
  'bad-request' | 'idle' | 'request-timeout' | 'refused' | 'check-timeout' | 'internal' | 'journal';

/** The labels of one answered message. */
export interface EximMessageLabels {
  /** The DMARC result, `unchecked` (not checked: authenticated, no IP, too big), `timeout` or `error`. */
  readonly verdict: string;
  /** What Exim was told to do: accept, reject, tempfail, quarantine, or none (not checked). */
  readonly action: string;
}

/** The labels of a message that got a verdict, or was not checked. */
export function eximMessageLabels(outcome: EximCheckOutcome): EximMessageLabels {
  return outcome.verdict === undefined
    ? { verdict: 'unchecked', action: 'none' }
    : { verdict: outcome.verdict.dmarc, action: outcome.verdict.action.kind };
}

export class EximMetrics {
  readonly registry = new Registry();
  private readonly messages = new Counter({
    name: 'mailward_exim_messages_total',
    help: 'Messages answered, by DMARC verdict (unchecked, timeout, error when there is none) and action',
    labelNames: ['verdict', 'action'] as const,
    registers: [this.registry],
  });
  private readonly checks = new Histogram({
    name: 'mailward_exim_check_seconds',
    help: 'Time of the checks of one message (SPF, DKIM, ARC, DMARC, with their DNS), from a complete request to the answer',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'mailward_exim_request_errors_total',
    help: 'Requests that went wrong, by kind (bad-request, idle, request-timeout, refused, check-timeout, internal, journal: a verdict not recorded)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly dns: DnsLookupCount = dnsLookupCounter(this.registry, 'mailward_exim');
  private openConnections: () => number = () => 0;

  constructor() {
    const open = () => this.openConnections();
    new Gauge({
      name: 'mailward_exim_active_connections',
      help: "Exim's connections open now",
      registers: [this.registry],
      collect() {
        this.set(open());
      },
    });
  }

  watchConnections(count: () => number): void {
    this.openConnections = count;
  }

  message(labels: EximMessageLabels, seconds: number): void {
    this.messages.inc({ verdict: labels.verdict, action: labels.action });
    this.checks.observe(seconds);
  }

  requestError(kind: EximRequestError): void {
    this.errors.inc({ kind });
  }

  /** A resolver that counts each lookup's outcome (wrap the network resolver, under the cache). */
  countingResolver(inner: Resolver): Resolver {
    return countingResolver(inner, this.dns);
  }
}
