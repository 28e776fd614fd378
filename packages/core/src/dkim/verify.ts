/**
 * DKIM verification, RFC 6376 §6 with RFC 8301 (no rsa-sha1, RSA keys of at least 1024 bits) and
 * RFC 8463 (ed25519-sha256). Streaming: construct with the header fields (key lookups start at
 * once, as §6.1.3's note suggests), push the body in chunks, then finish(). Every DKIM-Signature
 * field gets one verdict with an RFC 8601 result and a reason; nothing throws on message content.
 *
 * Mapping of RFC 6376 outcomes to RFC 8601 results (docs/dkim.md explains the choice):
 * - verified → pass; "body hash did not verify", "signature did not verify", l= beyond the body → fail;
 * - every other PERMFAIL (syntax, missing tag, no key, revoked key, key/hash mismatch, expired) → permerror;
 * - TEMPFAIL (key unavailable) → temperror;
 * - a signature that verifies but that local policy refuses (rsa-sha1, a short RSA key, unsigned body
 *   content when so configured) → policy;
 * - signatures past the evaluation cap → neutral ("not otherwise able to be processed", RFC 8601 §2.7.1).
 */
import { Buffer } from 'node:buffer';
import type { Clock } from '../clock.js';
import type { Resolver } from '../dns/types.js';
import type { HeaderField } from '../message/header.js';
import type { SplitMessage } from '../message/split.js';
import { splitMessage } from '../message/split.js';
import type { BodyHashHandle } from './body-hash.js';
import { BodyHashSet } from './body-hash.js';
import { verifyHeaderData, hashOf, keyTypeOf } from './crypto.js';
import type { KeyFetchResult } from './key-fetch.js';
import { fetchDkimKey } from './key-fetch.js';
import type { DkimKey } from './key-record.js';
import { buildHeaderData, HeaderIndex } from './header-hash.js';
import type { DkimSignature } from './signature.js';
import { parseSignature } from './signature.js';

export type DkimResult = 'pass' | 'fail' | 'neutral' | 'policy' | 'temperror' | 'permerror';

/** RFC 8301 §3.2: verifiers MUST NOT accept RSA keys under 1024 bits. The minimum can only be raised. */
export const MIN_RSA_KEY_BITS = 1024;
export const DEFAULT_MAX_SIGNATURES = 10;
/** Tolerance for a t= slightly in the future (clocks drift); beyond it the signature is refused. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 300;

export interface DkimVerifyOptions {
  readonly resolver: Resolver;
  /** Wall-clock time, for t= and x=. */
  readonly clock: Clock;
  /** Smallest RSA key accepted, in bits; values under 1024 are refused (RangeError). */
  readonly minRsaBits?: number;
  /** Signatures evaluated, top to bottom; the rest get `neutral`. Default 10. */
  readonly maxSignatures?: number;
  /**
   * What a verified signature with l= shorter than the canonical body gets: `flag` (default) keeps
   * pass and reports the unsigned octets; `policy` turns it into a policy result (§8.2 attacks).
   */
  readonly unsignedBody?: 'flag' | 'policy';
  /** How far t= may be in the future. Default 300 s. */
  readonly clockSkewSeconds?: number;
  readonly signal?: AbortSignal;
}

export interface DkimKeyInfo {
  readonly type: DkimKey['keyType'];
  /** RSA modulus bits, or 256 for Ed25519. */
  readonly bits: number | undefined;
  /** t=y: the signing domain says it is testing DKIM. */
  readonly testing: boolean;
}

export interface DkimVerdict {
  readonly result: DkimResult;
  readonly reason: string;
  /** Position of the field among the message's DKIM-Signature fields, 0 = topmost. */
  readonly index: number;
  readonly domain?: string;
  readonly selector?: string;
  readonly algorithm?: string;
  /** i=, or "@" + d= when absent. */
  readonly identity?: string;
  /** b= in base64 without FWS, for Authentication-Results header.b (RFC 6008). */
  readonly b?: string;
  readonly key?: DkimKeyInfo;
  /** With l=: canonical octets signed, and in the whole body. */
  readonly bodyLength?: { readonly signed: number; readonly canonical: number };
  /** The parsed signature, when it parsed. */
  readonly signature?: DkimSignature;
}

export interface DkimVerification {
  readonly signatures: readonly DkimVerdict[];
  /** Set when the message could not be examined at all (say, a header block over the size limit). */
  readonly unverifiable?: string;
}

interface Pending {
  readonly index: number;
  readonly field: HeaderField;
  readonly signature: DkimSignature;
  readonly bodyHash: BodyHashHandle;
  readonly key: Promise<KeyFetchResult>;
}

type Settled = { readonly index: number; readonly verdict: DkimVerdict };

/** Streaming verifier for one message. */
export class DkimVerifier {
  private readonly hashes = new BodyHashSet();
  private readonly pending: Pending[] = [];
  private readonly settled: Settled[] = [];
  private readonly index: HeaderIndex;
  private readonly options: Required<Omit<DkimVerifyOptions, 'signal'>> & Pick<DkimVerifyOptions, 'signal'>;

  constructor(headers: readonly HeaderField[], options: DkimVerifyOptions) {
    const minRsaBits = options.minRsaBits ?? MIN_RSA_KEY_BITS;
    if (!(minRsaBits >= MIN_RSA_KEY_BITS)) {
      throw new RangeError(`minRsaBits ${minRsaBits} is below the RFC 8301 minimum of ${MIN_RSA_KEY_BITS}`);
    }
    const maxSignatures = options.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
    if (!Number.isSafeInteger(maxSignatures) || maxSignatures < 0) throw new RangeError('invalid maxSignatures');
    this.options = {
      resolver: options.resolver,
      clock: options.clock,
      minRsaBits,
      maxSignatures,
      unsignedBody: options.unsignedBody ?? 'flag',
      clockSkewSeconds: options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
      signal: options.signal,
    };
    this.index = new HeaderIndex(headers);
    const fields = headers.filter((field) => field.lowerName === 'dkim-signature');
    const now = Math.floor(options.clock.now() / 1000);
    fields.forEach((field, index) => this.admit(field, index, now));
  }

  push(chunk: Uint8Array): void {
    this.hashes.push(chunk);
  }

  async finish(): Promise<DkimVerification> {
    this.hashes.finish();
    const checked = await Promise.all(
      this.pending.map(async (item) => ({ index: item.index, verdict: await this.check(item) })),
    );
    const all = [...this.settled, ...checked].sort((a, b) => a.index - b.index);
    return { signatures: all.map((entry) => entry.verdict) };
  }

  private admit(field: HeaderField, index: number, now: number): void {
    const settle = (verdict: Omit<DkimVerdict, 'index'>): void => {
      this.settled.push({ index, verdict: { index, ...verdict } });
    };
    if (index >= this.options.maxSignatures) {
      settle({
        result: 'neutral',
        reason: `not evaluated: only the first ${this.options.maxSignatures} DKIM-Signature fields are checked`,
      });
      return;
    }
    const parsed = parseSignature(field.raw.slice(field.raw.indexOf(':') + 1));
    if (!parsed.ok) {
      settle({
        result: 'permerror',
        reason: parsed.reason,
        ...(parsed.domain !== undefined && { domain: parsed.domain }),
        ...(parsed.selector !== undefined && { selector: parsed.selector }),
        ...(parsed.algorithm !== undefined && { algorithm: parsed.algorithm }),
      });
      return;
    }
    const signature = parsed.signature;
    // §6.1.1: an expired signature is PERMFAIL (signature expired).
    if (signature.expiration !== undefined && signature.expiration < now) {
      settle({
        ...describe(signature),
        result: 'permerror',
        reason: `signature expired at x=${signature.expiration} (now ${now})`,
      });
      return;
    }
    // §3.5 t=: verifiers MAY ignore signatures with a timestamp in the future.
    if (signature.timestamp !== undefined && signature.timestamp > now + this.options.clockSkewSeconds) {
      settle({
        ...describe(signature),
        result: 'permerror',
        reason: `t=${signature.timestamp} is in the future (now ${now})`,
      });
      return;
    }
    const bodyHash = this.hashes.request({
      canonicalization: signature.bodyCanon,
      algorithm: hashOf(signature.algorithm),
      ...(signature.bodyLength !== undefined && { length: signature.bodyLength }),
    });
    const key = fetchDkimKey(this.options.resolver, signature.selector, signature.domain, {
      ...(this.options.signal !== undefined && { signal: this.options.signal }),
    }).catch((error: unknown) => ({
      kind: 'unavailable' as const,
      reason: `key lookup failed: ${error instanceof Error ? error.message : String(error)}`,
      name: `${signature.selector}._domainkey.${signature.domain}`,
    }));
    this.pending.push({ index, field, signature, bodyHash, key });
  }

  private async check(item: Pending): Promise<DkimVerdict> {
    const { signature } = item;
    const base = { index: item.index, ...describe(signature) };
    const fetched = await item.key;
    if (fetched.kind === 'absent' || fetched.kind === 'invalid') {
      return { ...base, result: 'permerror', reason: fetched.reason };
    }
    if (fetched.kind === 'unavailable') return { ...base, result: 'temperror', reason: fetched.reason };

    const body = item.bodyHash.result();
    const bodyLength =
      signature.bodyLength === undefined ? undefined : { signed: body.hashedLength, canonical: body.canonicalLength };
    const withBody = bodyLength === undefined ? base : { ...base, bodyLength };
    if (signature.bodyLength !== undefined && signature.bodyLength > body.canonicalLength) {
      // §3.5 l=: "MUST NOT be larger than the actual number of octets in the canonicalized message
      // body": the body is shorter than what was signed, so it was changed in transit.
      return {
        ...withBody,
        result: 'fail',
        reason: `l=${signature.bodyLength} is larger than the canonical body (${body.canonicalLength} octets)`,
      };
    }

    const headerData = buildHeaderData(this.index, signature, item.field);
    let lastProblem: { result: DkimResult; reason: string; key?: DkimKeyInfo } | undefined;
    for (const key of fetched.keys) {
      const keyInfo: DkimKeyInfo = { type: key.keyType, bits: key.bits, testing: key.testing };
      const problem = keyProblem(signature, key);
      if (problem !== undefined) {
        lastProblem = { result: 'permerror', reason: problem, key: keyInfo };
        continue;
      }
      // §6.1.3 step 3 before step 4: the body hash first.
      if (!equalBytes(body.digest, signature.bodyHash)) {
        return {
          ...withBody,
          key: keyInfo,
          result: 'fail',
          reason: `body hash did not verify (computed ${body.base64}, bh= says ${toBase64(signature.bodyHash)})`,
        };
      }
      if (
        key.publicKey === undefined ||
        !verifyHeaderData(signature.algorithm, key.publicKey, headerData, signature.signature)
      ) {
        lastProblem = { result: 'fail', reason: 'signature did not verify', key: keyInfo };
        continue;
      }
      return { ...withBody, key: keyInfo, ...this.policy(signature, key, body.canonicalLength - body.hashedLength) };
    }
    const outcome = lastProblem ?? { result: 'permerror' as const, reason: 'no usable key' };
    return { ...withBody, ...outcome };
  }

  /** Local policy over a signature that verified (RFC 8301, §8.2). */
  private policy(
    signature: DkimSignature,
    key: DkimKey,
    unsignedOctets: number,
  ): { result: DkimResult; reason: string } {
    const where = `${signature.domain} (s=${signature.selector})`;
    if (signature.algorithm === 'rsa-sha1') {
      return {
        result: 'policy',
        reason: `signature by ${where} verified, but rsa-sha1 is not acceptable (RFC 8301 §3.1)`,
      };
    }
    if (key.keyType === 'rsa' && (key.bits ?? 0) < this.options.minRsaBits) {
      return {
        result: 'policy',
        reason: `signature by ${where} verified, but its ${key.bits}-bit RSA key is under the ${this.options.minRsaBits}-bit minimum`,
      };
    }
    const notes: string[] = [];
    if (unsignedOctets > 0) {
      const text = `${unsignedOctets} canonical body octets after l=${signature.bodyLength} are not signed`;
      if (this.options.unsignedBody === 'policy') {
        return { result: 'policy', reason: `signature by ${where} verified, but ${text}` };
      }
      notes.push(text);
    }
    if (key.testing) notes.push('the key is in testing mode (t=y)');
    const suffix = notes.length > 0 ? `; ${notes.join('; ')}` : '';
    return { result: 'pass', reason: `signature by ${where} verified${suffix}` };
  }
}

/** Verifies every DKIM signature of a whole message (raw bytes or already split). */
export async function verifyDkim(
  message: Uint8Array | SplitMessage,
  options: DkimVerifyOptions,
): Promise<DkimVerification> {
  const split = message instanceof Uint8Array ? splitMessage(message) : message;
  // Message content never throws: a message too large to split is a result too.
  if (!split.ok) return { signatures: [], unverifiable: split.message };
  const verifier = new DkimVerifier(split.headers, options);
  verifier.push(split.body);
  return verifier.finish();
}

/** §6.1.2 steps 5-8, and §3.6.1 t=s, for one key record. */
function keyProblem(signature: DkimSignature, key: DkimKey): string | undefined {
  if (key.revoked) return 'key revoked (empty p=)';
  const wantedType = keyTypeOf(signature.algorithm);
  if (key.keyType !== wantedType)
    return `inappropriate key algorithm: a=${signature.algorithm} but the key is k=${key.keyType}`;
  const hash = hashOf(signature.algorithm);
  if (key.hashAlgorithms !== undefined && !key.hashAlgorithms.includes(hash)) {
    return `inappropriate hash algorithm: the key allows h=${key.hashAlgorithms.join(':')}, not ${hash}`;
  }
  if (key.strict && signature.identityDomain !== signature.normalizedDomain) {
    return `domain mismatch: the key has t=s but i= is in ${signature.identityDomain}, not ${signature.normalizedDomain}`;
  }
  return undefined;
}

function describe(signature: DkimSignature): Omit<DkimVerdict, 'index' | 'result' | 'reason'> {
  const b = signature.tags.get('b')?.value.replace(/[\t\r\n ]+/g, '');
  return {
    domain: signature.domain,
    selector: signature.selector,
    algorithm: signature.algorithm,
    identity: signature.identity,
    ...(b !== undefined && { b }),
    signature,
  };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
