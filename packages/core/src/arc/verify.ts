/**
 * ARC chain validation, RFC 8617 §5.2. Streaming like DkimVerifier: construct with the header
 * fields (structure is checked and key lookups start at once), push the body, then finish().
 * "All failures are permanent" (§5.2.1): a DNS failure makes the chain fail, not temperror.
 */
import { Buffer } from 'node:buffer';
import type { Clock } from '../clock.js';
import type { Resolver } from '../dns/types.js';
import type { HeaderField } from '../message/header.js';
import type { SplitMessage } from '../message/split.js';
import { splitMessage } from '../message/split.js';
import type { BodyHashHandle } from '../dkim/body-hash.js';
import { BodyHashSet } from '../dkim/body-hash.js';
import { canonicalizeHeader, canonicalizeSignatureHeader } from '../dkim/canonicalize.js';
import { hashOf, keyTypeOf, verifyHeaderData } from '../dkim/crypto.js';
import { buildHeaderData, HeaderIndex } from '../dkim/header-hash.js';
import type { KeyFetchResult } from '../dkim/key-fetch.js';
import { fetchDkimKey } from '../dkim/key-fetch.js';
import type { DkimKey } from '../dkim/key-record.js';
import { DEFAULT_CLOCK_SKEW_SECONDS, MIN_RSA_KEY_BITS } from '../dkim/verify.js';
import type { ArcChainStructure, ArcFieldIndex, ArcSet } from './chain.js';
import { chainValidationProblem, collectArcSets, indexArcFields } from './chain.js';
import type { ArcMessageSignature, ArcSeal, ChainValidation } from './headers.js';
import { parseSeal } from './headers.js';

export interface ArcVerifyOptions {
  readonly resolver: Resolver;
  /**
   * Enables the time rules the AMS inherits from DKIM (§4.1.2): an AMS whose x= has passed fails,
   * and an AMS or AS whose t= is more than `clockSkewSeconds` in the future fails. Without a clock
   * no time rule is applied (core never reads the system clock).
   */
  readonly clock?: Clock;
  /** Default 300 s, as for DKIM. */
  readonly clockSkewSeconds?: number;
  readonly signal?: AbortSignal;
}

export interface ArcSignatureCheck {
  readonly ok: boolean;
  readonly reason: string;
}

export interface ArcSetResult {
  readonly instance: number;
  readonly sealer: { readonly domain: string; readonly selector: string };
  readonly chainValidation: ChainValidation;
  /** Present when this set's AMS was validated (the newest always; older ones for oldest-pass). */
  readonly messageSignature?: ArcSignatureCheck;
  /** Present when this set's seal was validated. */
  readonly seal?: ArcSignatureCheck;
  /** The AAR payload (authserv-id and results) of this hop. */
  readonly authenticationResults: string;
}

export interface ArcVerification {
  /** The Chain Validation Status (RFC 8617 §5.2), the `arc=` result of Authentication-Results. */
  readonly result: ChainValidation;
  readonly reason: string;
  /** N, the highest instance; 0 without a chain. */
  readonly instances: number;
  /** §5.2 step 5: the oldest instance whose AMS (and every newer one) validates; 0 when all do. */
  readonly oldestPass?: number;
  /** One entry per set, oldest first; empty when the chain's structure is broken. */
  readonly sets: readonly ArcSetResult[];
}

type Early = { readonly result: ChainValidation; readonly reason: string; readonly instances: number };

/** Streaming ARC validator for one message. */
export class ArcVerifier {
  private readonly hashes = new BodyHashSet();
  /** Set when the outcome is known from the header alone (§5.2 steps 1 to 3). */
  private readonly early: Early | undefined;
  private readonly sets: readonly ArcSet[] = [];
  private readonly bodyHashes = new Map<number, BodyHashHandle>();
  private readonly keys = new Map<string, Promise<KeyFetchResult>>();
  private readonly index: HeaderIndex;
  private readonly now: number | undefined;
  private readonly skew: number;

  constructor(
    headers: readonly HeaderField[],
    private readonly options: ArcVerifyOptions,
  ) {
    this.skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
    if (!(this.skew >= 0)) throw new RangeError(`invalid clockSkewSeconds ${options.clockSkewSeconds}`);
    this.now = options.clock === undefined ? undefined : Math.floor(options.clock.now() / 1000);
    this.index = new HeaderIndex(headers);
    const arcFields = indexArcFields(headers);
    const early = earlyOutcome(arcFields);
    if (!early.ok) {
      this.early = early.outcome;
      return;
    }
    this.sets = early.sets;
    // §5.2 steps 4 to 6 need every AMS body hash and every key: request them all now, so the
    // lookups run while the body streams in.
    for (const set of this.sets) {
      const { ams } = set;
      this.bodyHashes.set(
        ams.instance,
        this.hashes.request({
          canonicalization: ams.bodyCanon,
          algorithm: hashOf(ams.algorithm),
          ...(ams.bodyLength !== undefined && { length: ams.bodyLength }),
        }),
      );
      this.key(ams.selector, ams.domain);
      this.key(set.seal.selector, set.seal.domain);
    }
  }

  push(chunk: Uint8Array): void {
    this.hashes.push(chunk);
  }

  async finish(): Promise<ArcVerification> {
    this.hashes.finish();
    if (this.early !== undefined) return { ...this.early, sets: [] };
    const sets = this.sets;
    const n = sets.length;
    const results = new Map<number, { messageSignature?: ArcSignatureCheck; seal?: ArcSignatureCheck }>();
    const record = (instance: number, part: 'messageSignature' | 'seal', check: ArcSignatureCheck): void => {
      results.set(instance, { ...results.get(instance), [part]: check });
    };
    const done = (result: ChainValidation, reason: string, oldestPass?: number): ArcVerification => ({
      result,
      reason,
      instances: n,
      ...(oldestPass !== undefined && { oldestPass }),
      sets: sets.map((set) => ({
        instance: set.ams.instance,
        sealer: { domain: set.seal.domain, selector: set.seal.selector },
        chainValidation: set.seal.chainValidation,
        authenticationResults: set.aar.payload,
        ...results.get(set.ams.instance),
      })),
    });

    // Step 4: the newest AMS decides.
    const newest = sets[n - 1]!;
    const newestAms = await this.checkAms(newest.ams);
    record(n, 'messageSignature', newestAms);
    if (!newestAms.ok) return done('fail', `ARC-Message-Signature ${n}: ${newestAms.reason}`);
    // Step 5 (optional): oldest-pass. A failing older AMS is expected after a modifying hop and
    // does not affect the chain's validity.
    let oldestPass = 0;
    for (let i = n - 1; i >= 1; i--) {
      const check = await this.checkAms(sets[i - 1]!.ams);
      record(i, 'messageSignature', check);
      if (!check.ok) {
        oldestPass = i + 1;
        break;
      }
    }
    // Step 6: every seal, newest first.
    for (let i = n; i >= 1; i--) {
      const check = await this.checkSeal(sets, i);
      record(i, 'seal', check);
      if (!check.ok) return done('fail', `ARC-Seal ${i}: ${check.reason}`, oldestPass);
    }
    const sealer = newest.seal;
    return done(
      'pass',
      `chain of ${n} set(s) validates; last sealed by ${sealer.domain} (s=${sealer.selector})`,
      oldestPass,
    );
  }

  private key(selector: string, domain: string): Promise<KeyFetchResult> {
    const id = `${selector}._domainkey.${domain}`.toLowerCase();
    let pending = this.keys.get(id);
    if (pending === undefined) {
      pending = fetchDkimKey(this.options.resolver, selector, domain, {
        ...(this.options.signal !== undefined && { signal: this.options.signal }),
      }).catch((error: unknown) => ({
        kind: 'unavailable' as const,
        reason: `key lookup failed: ${error instanceof Error ? error.message : String(error)}`,
        name: id,
      }));
      this.keys.set(id, pending);
    }
    return pending;
  }

  private async checkAms(ams: ArcMessageSignature): Promise<ArcSignatureCheck> {
    const time = this.timeProblem(ams);
    if (time !== undefined) return { ok: false, reason: time };
    const body = this.bodyHashes.get(ams.instance)?.result();
    if (body === undefined) return { ok: false, reason: 'no body hash (internal error)' };
    if (ams.bodyLength !== undefined && ams.bodyLength > body.canonicalLength) {
      return { ok: false, reason: `l=${ams.bodyLength} is larger than the canonical body` };
    }
    if (!equalBytes(body.digest, ams.bodyHash)) return { ok: false, reason: 'body hash did not verify' };
    // The AMS header hash is DKIM's (§4.1.2): h= taken bottom-up, the AMS itself last with b= emptied.
    const data = buildHeaderData(this.index, ams, ams.field);
    return this.verifyWithKey(ams, data);
  }

  /**
   * §5.1.1: the seal of instance k signs the sets 1..k in increasing order, each as AAR, AMS, AS,
   * relaxed (§4.1.3), its own AS with b= emptied. Sets are known to be intact (cv checked), so the
   * §5.1.2 "own set only" scope of a cv=fail seal never applies here.
   */
  private async checkSeal(sets: readonly ArcSet[], instance: number): Promise<ArcSignatureCheck> {
    const seal = sets[instance - 1]!.seal;
    const time = this.timeProblem(seal);
    if (time !== undefined) return { ok: false, reason: time };
    const parts: string[] = [];
    for (let i = 1; i <= instance; i++) {
      const set = sets[i - 1]!;
      parts.push(canonicalizeHeader(set.aar.field, 'relaxed'), canonicalizeHeader(set.ams.field, 'relaxed'));
      parts.push(
        i === instance
          ? canonicalizeSignatureHeader(set.seal.field, 'relaxed')
          : canonicalizeHeader(set.seal.field, 'relaxed'),
      );
    }
    return this.verifyWithKey(seal, parts.join(''));
  }

  /** DKIM's time rules (RFC 6376 §3.5 t=, x=), applied only when a clock was given. */
  private timeProblem(signed: ArcMessageSignature | ArcSeal): string | undefined {
    if (this.now === undefined) return undefined;
    if (signed.kind === 'ams' && signed.expiration !== undefined && signed.expiration < this.now) {
      return `signature expired at x=${signed.expiration} (now ${this.now})`;
    }
    if (signed.timestamp !== undefined && signed.timestamp > this.now + this.skew) {
      return `t=${signed.timestamp} is in the future (now ${this.now})`;
    }
    return undefined;
  }

  private async verifyWithKey(signed: ArcMessageSignature | ArcSeal, data: string): Promise<ArcSignatureCheck> {
    // RFC 8301 §3.1 applies to ARC's DKIM-derived signatures: rsa-sha1 never validates.
    if (signed.algorithm === 'rsa-sha1') return { ok: false, reason: 'rsa-sha1 is not acceptable (RFC 8301)' };
    const fetched = await this.key(signed.selector, signed.domain);
    if (fetched.kind !== 'keys') return { ok: false, reason: fetched.reason };
    let problem = 'signature did not verify';
    for (const key of fetched.keys) {
      const unusable = keyProblem(signed, key);
      if (unusable !== undefined) {
        problem = unusable;
        continue;
      }
      if (verifyHeaderData(signed.algorithm, key.publicKey!, data, signed.signature)) {
        return { ok: true, reason: `verified with ${signed.selector}._domainkey.${signed.domain}` };
      }
      problem = 'signature did not verify';
    }
    return { ok: false, reason: problem };
  }
}

/** Validates a whole message's ARC chain. */
export async function verifyArc(
  message: Uint8Array | SplitMessage,
  options: ArcVerifyOptions,
): Promise<ArcVerification> {
  const split = message instanceof Uint8Array ? splitMessage(message) : message;
  if (!split.ok)
    return { result: 'fail', reason: `message cannot be examined: ${split.message}`, instances: 0, sets: [] };
  const verifier = new ArcVerifier(split.headers, options);
  verifier.push(split.body);
  return verifier.finish();
}

/** §5.2 steps 1 to 3, which need only the header fields. */
function earlyOutcome(
  index: ArcFieldIndex,
): { readonly ok: true; readonly sets: readonly ArcSet[] } | { readonly ok: false; readonly outcome: Early } {
  // Step 1.
  if (index.fields.length === 0) {
    return { ok: false, outcome: { result: 'none', reason: 'no ARC header fields', instances: 0 } };
  }
  // Step 2, before the structure: a chain the newest sealer declared failed stays failed.
  const newestSeals = index.byInstance.get(index.highest)?.seal ?? [];
  if (newestSeals.length === 1) {
    const newest = parseSeal(newestSeals[0]!);
    if (newest.ok && newest.value.chainValidation === 'fail') {
      const reason = `the ARC-Seal of instance ${index.highest} says cv=fail`;
      return { ok: false, outcome: { result: 'fail', reason, instances: index.highest } };
    }
  }
  // Step 3A/3B.
  const structure: ArcChainStructure = collectArcSets(index);
  if (!structure.ok) {
    return { ok: false, outcome: { result: 'fail', reason: structure.reason, instances: structure.instances } };
  }
  // Step 3C.
  const problem = chainValidationProblem(structure.sets);
  if (problem !== undefined) {
    return { ok: false, outcome: { result: 'fail', reason: problem, instances: structure.sets.length } };
  }
  return { ok: true, sets: structure.sets };
}

/** DKIM's key checks (RFC 6376 §6.1.2 steps 5 to 8) and RFC 8301's minimum RSA size, for one record. */
function keyProblem(signed: ArcMessageSignature | ArcSeal, key: DkimKey): string | undefined {
  if (key.revoked || key.publicKey === undefined) return 'key revoked (empty p=)';
  if (key.keyType !== keyTypeOf(signed.algorithm)) {
    return `key type ${key.keyType} does not match a=${signed.algorithm}`;
  }
  const hash = hashOf(signed.algorithm);
  if (key.hashAlgorithms !== undefined && !key.hashAlgorithms.includes(hash)) {
    return `the key allows h=${key.hashAlgorithms.join(':')}, not ${hash}`;
  }
  if (key.keyType === 'rsa' && (key.bits ?? 0) < MIN_RSA_KEY_BITS) {
    return `${key.bits}-bit RSA key is under ${MIN_RSA_KEY_BITS} bits (RFC 8301)`;
  }
  return undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
