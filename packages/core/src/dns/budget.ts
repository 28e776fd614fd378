import { setMaxListeners } from 'node:events';
import type { Clock } from '../clock.js';
import type { LookupOptions, LookupResult, RecordType, Resolver, Timeout } from './types.js';

export interface BudgetOptions {
  /** Most lookups allowed through this wrapper. */
  readonly maxLookups?: number;
  /** Milliseconds from construction after which every lookup is refused as a timeout. */
  readonly timeBudgetMs?: number;
}

export interface Timers {
  /** Calls `callback` after `ms` milliseconds; returns a function that cancels it. */
  after(ms: number, callback: () => void): () => void;
}

// Timers are not I/O: they exist in every JavaScript runtime, so the default uses them directly.
export const defaultTimers: Timers = {
  after(ms, callback) {
    const handle = setTimeout(callback, ms);
    return () => clearTimeout(handle);
  },
};

/**
 * Caps the work one evaluation may cause: a number of lookups and an overall deadline. Past
 * either, lookups are not sent and come back as `timeout` outcomes whose reason names the budget,
 * so callers see an ordinary temporary failure (SPF maps it to temperror). Lookups in flight when
 * the deadline passes are aborted and answered the same way.
 *
 * One timer and one AbortController serve all lookups (armed at the first lookup): a timer per
 * lookup was the largest cost of an SPF check in the benchmark. Call `dispose()` when done so the
 * timer does not keep the process alive.
 */
export class BudgetResolver implements Resolver {
  private used = 0;
  private readonly deadline: number;
  private controller: AbortController | undefined;
  private expired: Promise<Timeout> | undefined;
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly inner: Resolver,
    private readonly clock: Clock,
    private readonly options: BudgetOptions,
    private readonly timers: Timers = defaultTimers,
  ) {
    this.deadline =
      options.timeBudgetMs === undefined || !Number.isFinite(options.timeBudgetMs)
        ? Number.POSITIVE_INFINITY
        : clock.now() + options.timeBudgetMs;
  }

  get lookups(): number {
    return this.used;
  }

  lookup<T extends RecordType>(name: string, type: T, options?: LookupOptions): Promise<LookupResult<T>> {
    if (this.clock.now() >= this.deadline) return Promise.resolve(this.timeUp());
    if (this.options.maxLookups !== undefined && this.used >= this.options.maxLookups) {
      return Promise.resolve({
        kind: 'timeout',
        reason: `lookup budget of ${this.options.maxLookups} lookups exhausted`,
      });
    }
    this.used += 1;
    if (this.deadline === Number.POSITIVE_INFINITY) return this.inner.lookup(name, type, options);
    const { signal, expired } = this.arm();
    // A caller's own signal still works: it is passed on instead of ours (rare; ours is shared).
    const query = this.inner.lookup(name, type, { ...options, signal: options?.signal ?? signal });
    return Promise.race([query, expired as Promise<LookupResult<T>>]);
  }

  /** Cancels the deadline timer. Lookups after this still respect the deadline by the clock. */
  dispose(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private arm(): { signal: AbortSignal; expired: Promise<Timeout> } {
    if (!this.controller || !this.expired) {
      const controller = new AbortController();
      // Every lookup in flight listens on this one signal (a DKIM audit has dozens at once).
      setMaxListeners(0, controller.signal);
      this.controller = controller;
      this.expired = new Promise<Timeout>((resolve) => {
        this.cancelTimer = this.timers.after(Math.max(0, this.deadline - this.clock.now()), () => {
          controller.abort();
          resolve(this.timeUp());
        });
      });
    }
    return { signal: this.controller.signal, expired: this.expired };
  }

  private timeUp(): Timeout {
    return { kind: 'timeout', reason: `time budget of ${this.options.timeBudgetMs} ms exhausted` };
  }
}
