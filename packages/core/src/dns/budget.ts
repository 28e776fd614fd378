import type { Clock } from '../clock.js';
import type { LookupOptions, LookupResult, RecordType, Resolver } from './types.js';

export interface BudgetOptions {
  /** Most lookups allowed through this wrapper. */
  readonly maxLookups?: number;
  /** Milliseconds from construction after which every lookup is refused as a timeout. */
  readonly timeBudgetMs?: number;
}

/**
 * Caps the work one evaluation may cause: a number of lookups and an overall deadline. Past
 * either, lookups are not sent and come back as `timeout` outcomes whose reason names the budget,
 * so callers see an ordinary temporary failure (SPF maps it to temperror). A lookup in flight when
 * the deadline passes is abandoned the same way.
 */
export class BudgetResolver implements Resolver {
  private used = 0;
  private readonly deadline: number;

  constructor(
    private readonly inner: Resolver,
    private readonly clock: Clock,
    private readonly options: BudgetOptions,
    /** Arms a timer; injected so core does not touch global timers directly in tests. */
    private readonly timers: Timers = defaultTimers,
  ) {
    this.deadline = options.timeBudgetMs === undefined ? Number.POSITIVE_INFINITY : clock.now() + options.timeBudgetMs;
  }

  get lookups(): number {
    return this.used;
  }

  get exhausted(): boolean {
    return (
      this.clock.now() >= this.deadline ||
      (this.options.maxLookups !== undefined && this.used >= this.options.maxLookups)
    );
  }

  async lookup<T extends RecordType>(name: string, type: T, options?: LookupOptions): Promise<LookupResult<T>> {
    const remaining = this.deadline - this.clock.now();
    if (remaining <= 0) return { kind: 'timeout', reason: `time budget of ${this.options.timeBudgetMs} ms exhausted` };
    if (this.options.maxLookups !== undefined && this.used >= this.options.maxLookups) {
      return { kind: 'timeout', reason: `lookup budget of ${this.options.maxLookups} lookups exhausted` };
    }
    this.used += 1;
    if (!Number.isFinite(remaining)) return this.inner.lookup(name, type, options);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    let cancel: (() => void) | undefined;
    const expired = new Promise<LookupResult<T>>((resolve) => {
      cancel = this.timers.after(remaining, () => {
        controller.abort();
        resolve({ kind: 'timeout', reason: `time budget of ${this.options.timeBudgetMs} ms exhausted` });
      });
    });
    try {
      return await Promise.race([this.inner.lookup(name, type, { signal: controller.signal }), expired]);
    } finally {
      cancel?.();
      options?.signal?.removeEventListener('abort', onAbort);
    }
  }
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
