import type { Clock } from '../clock.js';
import type { LookupOptions, LookupResult, RecordType, Resolver } from './types.js';

export interface CacheOptions {
  /** Most entries kept; the oldest inserted is evicted first. */
  readonly maxEntries?: number;
  /** TTL used for NXDOMAIN/NODATA when the answer carried none (RFC 2308 uses the SOA minimum). */
  readonly negativeTtl?: number;
  /** Upper bound on any TTL, in seconds. */
  readonly maxTtl?: number;
}

interface Entry {
  readonly expires: number;
  readonly result: LookupResult<RecordType>;
}

/**
 * Caches answers for their TTL and negative answers for their negative TTL. Failures (SERVFAIL,
 * REFUSED, timeout) are not cached: the next lookup tries again. Concurrent lookups of the same
 * question share one upstream query.
 */
export class CachingResolver implements Resolver {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<LookupResult<RecordType>>>();
  private readonly maxEntries: number;
  private readonly negativeTtl: number;
  private readonly maxTtl: number;

  constructor(
    private readonly inner: Resolver,
    private readonly clock: Clock,
    options: CacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.negativeTtl = options.negativeTtl ?? 300;
    this.maxTtl = options.maxTtl ?? 86_400;
  }

  async lookup<T extends RecordType>(name: string, type: T, options?: LookupOptions): Promise<LookupResult<T>> {
    // An unvalidated answer is a diagnosis, not an answer to keep: never cached, never served
    // from the cache.
    if (options?.checkingDisabled === true) return this.inner.lookup(name, type, options);
    const key = `${type} ${name.toLowerCase().replace(/\.$/, '')}`;
    const cached = this.entries.get(key);
    if (cached && cached.expires > this.clock.now()) return cached.result as LookupResult<T>;
    if (cached) this.entries.delete(key);
    let shared = this.inFlight.get(key);
    if (!shared) {
      // The shared upstream query gets no caller's signal: one caller giving up (its own time
      // budget ran out) must not turn the answer into a timeout for every other caller waiting.
      // The inner resolver's own timeouts still bound it.
      shared = this.inner.lookup(name, type).then(
        (result) => {
          this.inFlight.delete(key);
          this.store(key, result);
          return result;
        },
        (error: unknown) => {
          this.inFlight.delete(key);
          throw error;
        },
      );
      this.inFlight.set(key, shared);
    }
    return (options?.signal ? abortable(shared, options.signal) : shared) as Promise<LookupResult<T>>;
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, result: LookupResult<RecordType>): void {
    let ttl: number;
    if (result.kind === 'answer') ttl = result.ttl;
    else if (result.kind === 'nxdomain' || result.kind === 'nodata') ttl = result.ttl ?? this.negativeTtl;
    else return;
    ttl = Math.min(ttl, this.maxTtl);
    if (ttl <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { expires: this.clock.now() + ttl * 1000, result });
  }
}

/** Resolves with the lookup, or with a timeout outcome as soon as `signal` aborts. */
function abortable(lookup: Promise<LookupResult<RecordType>>, signal: AbortSignal): Promise<LookupResult<RecordType>> {
  const aborted: LookupResult<RecordType> = { kind: 'timeout', reason: 'aborted' };
  if (signal.aborted) return Promise.resolve(aborted);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(aborted);
    signal.addEventListener('abort', onAbort, { once: true });
    lookup.then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
