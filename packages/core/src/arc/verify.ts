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
import { MIN_RSA_KEY_BITS } from '../dkim/verify.js';
import type { ArcAuthenticationResults, ArcMessageSignature, ArcSeal, ChainValidation } from './headers.js';
import {
  ARC_AUTHENTICATION_RESULTS,
  ARC_MESSAGE_SIGNATURE,
  ARC_SEAL,
  instanceOf,
  MAX_ARC_INSTANCE,
  parseAar,
  parseAms,
  parseSeal,
} from './headers.js';

export interface ArcVerifyOptions {
  readonly resolver: Resolver;
  /** Not used by the rules (ARC has no x=); kept for symmetry with DKIM and future t= checks. */
  readonly clock?: Clock;
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
  readonly sets: readonly ArcSetResult[];
}

interface ArcSet {
  readonly aar: ArcAuthenticationResults;
  readonly ams: ArcMessageSignature;
  readonly seal: ArcSeal;
}

type Structure =
  | { readonly ok: true; readonly sets: readonly ArcSet[] }
  | { readonly ok: false; readonly reason: string; readonly instances: number };

/** Streaming ARC validator for one message. */
export class ArcVerifier {
  private readonly hashes = new BodyHashSet();
  private readonly structure: Structure | undefined;
  private readonly bodyHashes = new Map<number, BodyHashHandle>();
  private readonly keys = new Map<string, Promise<KeyFetchResult>>();
  private readonly index: HeaderIndex;

  constructor(
    headers: readonly HeaderField[],
    private readonly options: ArcVerifyOptions,
  ) {
    this.index = new HeaderIndex(headers);
    const arcFields = headers.filter(
      (f) =>
        f.lowerName === ARC_SEAL || f.lowerName === ARC_MESSAGE_SIGNATURE || f.lowerName === ARC_AUTHENTICATION_RESULTS,
    );
    if (arcFields.length === 0) return;
    this.structure = collectSets(arcFields);
    if (!this.structure.ok) return;
    for (const set of this.structure.sets) {
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
    const structure = this.structure;
    if (structure === undefined) return { result: 'none', reason: 'no ARC header fields', instances: 0, sets: [] };
    if (!structure.ok) return { result: 'fail', reason: structure.reason, instances: structure.instances, sets: [] };
    const sets = structure.sets;
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

    const newest = sets[n - 1]!;
    // §5.2 step 2: a chain the last sealer already declared failed stays failed.
    if (newest.seal.chainValidation === 'fail') return done('fail', `the ARC-Seal of instance ${n} says cv=fail`);
    // Step 3C.
    for (const set of sets) {
      const expected = set.seal.instance === 1 ? 'none' : 'pass';
      if (set.seal.chainValidation !== expected) {
        return done(
          'fail',
          `the ARC-Seal of instance ${set.seal.instance} has cv=${set.seal.chainValidation}, not ${expected}`,
        );
      }
    }
    // Step 4: the newest AMS.
    const newestAms = await this.checkAms(newest.ams);
    record(n, 'messageSignature', newestAms);
    if (!newestAms.ok) return done('fail', `ARC-Message-Signature ${n}: ${newestAms.reason}`);
    // Step 5 (optional): oldest-pass.
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
    const body = this.bodyHashes.get(ams.instance)?.result();
    if (body === undefined) return { ok: false, reason: 'no body hash (internal error)' };
    if (ams.bodyLength !== undefined && ams.bodyLength > body.canonicalLength) {
      return { ok: false, reason: `l=${ams.bodyLength} is larger than the canonical body` };
    }
    if (!equalBytes(body.digest, ams.bodyHash)) return { ok: false, reason: 'body hash did not verify' };
    const data = buildHeaderData(this.index, ams, ams.field);
    return this.verifyWithKey(ams, data);
  }

  /** §5.1.1: the seal signs every ARC set up to its own, each as AAR, AMS, AS, relaxed. */
  private async checkSeal(sets: readonly ArcSet[], instance: number): Promise<ArcSignatureCheck> {
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
    return this.verifyWithKey(sets[instance - 1]!.seal, parts.join(''));
  }

  private async verifyWithKey(signed: ArcMessageSignature | ArcSeal, data: string): Promise<ArcSignatureCheck> {
    // RFC 8301 §3.1 applies to ARC's DKIM-derived signatures too.
    if (signed.algorithm === 'rsa-sha1') return { ok: false, reason: 'rsa-sha1 is not acceptable (RFC 8301)' };
    const fetched = await this.key(signed.selector, signed.domain);
    if (fetched.kind !== 'keys') return { ok: false, reason: fetched.reason };
    let problem = 'signature did not verify';
    for (const key of fetched.keys) {
      if (key.revoked || key.publicKey === undefined) {
        problem = 'key revoked';
        continue;
      }
      if (key.keyType !== keyTypeOf(signed.algorithm)) {
        problem = `key type ${key.keyType} does not match a=${signed.algorithm}`;
        continue;
      }
      if (key.keyType === 'rsa' && (key.bits ?? 0) < MIN_RSA_KEY_BITS) {
        problem = `${key.bits}-bit RSA key is under ${MIN_RSA_KEY_BITS} bits (RFC 8301)`;
        continue;
      }
      if (verifyHeaderData(signed.algorithm, key.publicKey, data, signed.signature)) {
        return { ok: true, reason: `verified with ${signed.selector}._domainkey.${signed.domain}` };
      }
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

/** §5.2 step 3A/3B: exactly one AAR, AMS and AS per instance, instances 1..N. */
function collectSets(fields: readonly HeaderField[]): Structure {
  const byInstance = new Map<number, { aar?: HeaderField[]; ams?: HeaderField[]; seal?: HeaderField[] }>();
  let highest = 0;
  for (const field of fields) {
    const instance = instanceOf(field);
    if (!instance.ok) return { ok: false, reason: instance.reason, instances: 0 };
    highest = Math.max(highest, instance.value);
    const slot = byInstance.get(instance.value) ?? {};
    const kind = field.lowerName === ARC_SEAL ? 'seal' : field.lowerName === ARC_MESSAGE_SIGNATURE ? 'ams' : 'aar';
    (slot[kind] ??= []).push(field);
    byInstance.set(instance.value, slot);
  }
  if (highest > MAX_ARC_INSTANCE)
    return { ok: false, reason: `more than ${MAX_ARC_INSTANCE} ARC sets`, instances: highest };
  const sets: ArcSet[] = [];
  for (let i = 1; i <= highest; i++) {
    const slot = byInstance.get(i);
    if (slot === undefined)
      return { ok: false, reason: `ARC set ${i} is missing (instances must run 1..${highest})`, instances: highest };
    for (const [kind, name] of [
      ['aar', 'ARC-Authentication-Results'],
      ['ams', 'ARC-Message-Signature'],
      ['seal', 'ARC-Seal'],
    ] as const) {
      const count = slot[kind]?.length ?? 0;
      if (count !== 1) {
        return {
          ok: false,
          reason: `ARC set ${i} has ${count === 0 ? 'no' : count} ${name} field${count === 1 ? '' : 's'}`,
          instances: highest,
        };
      }
    }
    const aar = parseAar(slot.aar![0]!);
    const ams = parseAms(slot.ams![0]!);
    const seal = parseSeal(slot.seal![0]!);
    for (const parsed of [aar, ams, seal])
      if (!parsed.ok) return { ok: false, reason: parsed.reason, instances: highest };
    if (aar.ok && ams.ok && seal.ok) sets.push({ aar: aar.value, ams: ams.value, seal: seal.value });
  }
  return { ok: true, sets };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
