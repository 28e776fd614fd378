/**
 * DKIM body hashes (RFC 6376 §3.7 hash step 1): canonicalize the body as c= says, keep only the
 * first l= octets of the canonical body (§3.5 l=), hash with the a= hash. Streaming: push chunks,
 * then finish.
 *
 * The full canonical length is counted even past l=, so a verifier can see an unsigned remainder
 * (§8.2) or an l= longer than the body (which §3.5 says "MUST NOT" happen).
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { BodyCanonicalizer } from './body-canonicalizer.js';
import type { DkimCanonicalization } from './signature.js';

export type DkimHashAlgorithm = 'sha256' | 'sha1';

export interface BodyHashKey {
  readonly canonicalization: DkimCanonicalization;
  readonly algorithm: DkimHashAlgorithm;
  /** l=: hash only this many canonical octets. Absent: the whole body. */
  readonly length?: number;
}

export interface BodyHashResult {
  /** The raw digest, to compare with the decoded bh=. */
  readonly digest: Uint8Array;
  /** The digest in base64, the form bh= is written in. */
  readonly base64: string;
  /** Canonical octets hashed: min(l, canonicalLength). */
  readonly hashedLength: number;
  /** Canonical octets in the whole body, l= regardless. */
  readonly canonicalLength: number;
}

/** A hash over the first `limit` bytes it is given, counting all of them. */
class LimitedHash {
  private readonly hash: Hash;
  private hashed = 0;
  private total = 0;
  private result: BodyHashResult | undefined;

  constructor(
    algorithm: DkimHashAlgorithm,
    private readonly limit: number,
  ) {
    this.hash = createHash(algorithm);
  }

  write(bytes: Uint8Array): void {
    this.total += bytes.length;
    const room = this.limit - this.hashed;
    if (room <= 0) return;
    const take = bytes.length <= room ? bytes : bytes.subarray(0, room);
    this.hash.update(take);
    this.hashed += take.length;
  }

  finish(): BodyHashResult {
    if (this.result === undefined) {
      const digest = this.hash.digest();
      this.result = {
        digest,
        base64: digest.toString('base64'),
        hashedLength: this.hashed,
        canonicalLength: this.total,
      };
    }
    return this.result;
  }
}

/** l= as a hashing limit. Callers pass the value the signature parser validated, so anything
 * else is a bug, not a message property. */
function limitOf(length: number | undefined): number {
  if (length === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid body length ${length}`);
  return length;
}

/** One body hash: a canonicalizer feeding one hash. */
export class BodyHasher {
  private readonly hash: LimitedHash;
  private readonly canonicalizer: BodyCanonicalizer;

  constructor(key: BodyHashKey) {
    const hash = new LimitedHash(key.algorithm, limitOf(key.length));
    this.hash = hash;
    this.canonicalizer = new BodyCanonicalizer(key.canonicalization, (bytes) => hash.write(bytes), {
      transientSink: true,
    });
  }

  push(chunk: Uint8Array): void {
    this.canonicalizer.push(chunk);
  }

  finish(): BodyHashResult {
    this.canonicalizer.finish();
    return this.hash.finish();
  }
}

export interface BodyHashHandle {
  readonly key: BodyHashKey;
  /** The result; only after BodyHashSet.finish() (calling it earlier is a bug and throws). */
  result(): BodyHashResult;
}

/**
 * The body hashes several signatures need, computed in one pass over the body: requests with the
 * same (c=, hash, l=) share one hash, and all hashes of one body canonicalization share one
 * canonicalizer. A message with many signatures thus canonicalizes its body at most twice.
 */
export class BodyHashSet {
  private readonly canonicalizers = new Map<DkimCanonicalization, BodyCanonicalizer>();
  private readonly hashes = new Map<string, LimitedHash>();
  private readonly sinks = new Map<DkimCanonicalization, LimitedHash[]>();
  private started = false;
  private finished = false;

  /** Registers a body hash to compute. All requests must come before the first push(). */
  request(key: BodyHashKey): BodyHashHandle {
    if (this.started) throw new Error('BodyHashSet: request() after push() or finish()');
    const limit = limitOf(key.length);
    const id = `${key.canonicalization}/${key.algorithm}/${key.length ?? ''}`;
    let hash = this.hashes.get(id);
    if (hash === undefined) {
      hash = new LimitedHash(key.algorithm, limit);
      this.hashes.set(id, hash);
      this.sinksFor(key.canonicalization).push(hash);
    }
    const shared = hash;
    return {
      key,
      result: () => {
        if (!this.finished) throw new Error('BodyHashSet: result() before finish()');
        return shared.finish();
      },
    };
  }

  push(chunk: Uint8Array): void {
    this.started = true;
    for (const canonicalizer of this.canonicalizers.values()) canonicalizer.push(chunk);
  }

  finish(): void {
    this.started = true;
    for (const canonicalizer of this.canonicalizers.values()) canonicalizer.finish();
    for (const hash of this.hashes.values()) hash.finish();
    this.finished = true;
  }

  private sinksFor(mode: DkimCanonicalization): LimitedHash[] {
    let sinks = this.sinks.get(mode);
    if (sinks === undefined) {
      const list: LimitedHash[] = [];
      sinks = list;
      this.sinks.set(mode, list);
      this.canonicalizers.set(
        mode,
        new BodyCanonicalizer(
          mode,
          (bytes) => {
            for (const hash of list) hash.write(bytes);
          },
          // Hashes consume each view in update() and keep nothing.
          { transientSink: true },
        ),
      );
    }
    return sinks;
  }
}
