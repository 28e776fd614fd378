/**
 * One SPF evaluation per message: Postfix sends one policy request per recipient, all with the
 * same `instance` (smtpd_check.c), so the first request's result answers the others (policyd-spf
 * does the same: spf_engine/__init__.py, its per-instance cache). The key also holds the client
 * address, the sender and the HELO name, so a hit is always for the same SPF inputs even when a
 * client (Exim's snippet) sends no instance at all; a TTL bounds how stale a result may be.
 *
 * Bounded in entries: the oldest entry goes when a new one would pass the limit (a Map keeps
 * insertion order). Values are anything, so the runtime can store the promise of an evaluation
 * in flight and a second recipient waits for the first one's lookups instead of repeating them.
 */
export interface InstanceCacheKey {
  readonly instance: string;
  readonly clientAddress: string;
  readonly sender: string;
  readonly heloName: string;
}

export class InstanceCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();

  constructor(
    private readonly options: { readonly ttlMs: number; readonly maxEntries: number },
    private readonly now: () => number,
  ) {}

  get(key: InstanceCacheKey): V | undefined {
    if (this.options.ttlMs <= 0 || this.options.maxEntries <= 0) return undefined;
    const text = keyText(key);
    const entry = this.entries.get(text);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(text);
      return undefined;
    }
    return entry.value;
  }

  set(key: InstanceCacheKey, value: V): void {
    if (this.options.ttlMs <= 0 || this.options.maxEntries <= 0) return;
    const text = keyText(key);
    this.entries.delete(text);
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(text, { value, expiresAt: this.now() + this.options.ttlMs });
  }

  delete(key: InstanceCacheKey): void {
    this.entries.delete(keyText(key));
  }

  get size(): number {
    return this.entries.size;
  }
}

function keyText(key: InstanceCacheKey): string {
  // Exact values (a local part's case reaches %{l} in explanations); JSON keeps the four apart
  // whatever characters they hold.
  return JSON.stringify([key.instance, key.clientAddress, key.sender, key.heloName]);
}
