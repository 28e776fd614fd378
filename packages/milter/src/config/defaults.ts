/**
 * Defaults of the policy service that settings.ts does not (yet) name. They follow policyd-spf
 * (spf-engine's policyd-spf.conf): HELO checked, loopback skipped, authenticated clients skipped.
 */
import { DEFAULT_INTERNAL_HOSTS } from '../settings.js';

export const DEFAULT_POLICY_HELO = true;
export const DEFAULT_POLICY_SKIP_HOSTS: readonly string[] = DEFAULT_INTERNAL_HOSTS;
export const DEFAULT_POLICY_SKIP_AUTHENTICATED = true;
/** One SPF result per (client IP, identity) for a minute: a message's recipients share one check. */
export const DEFAULT_POLICY_CACHE = { ttlSeconds: 60, maxEntries: 10_000 } as const;
