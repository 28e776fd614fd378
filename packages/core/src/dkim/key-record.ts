/**
 * DKIM public key records, RFC 6376 §3.6.1 (validated strictly, §6.1.2 step 5), with the
 * ed25519 key type of RFC 8463 §4.2. Returns a typed result and never throws: node:crypto errors
 * on hostile key data become error results.
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { decodeBase64String, parseTagList, quoteFragment, splitColonList } from './tag-list.js';

export type DkimKeyType = 'rsa' | 'ed25519';

export interface DkimKey {
  /** "DKIM1" when v= is present. */
  readonly version?: string;
  readonly keyType: DkimKeyType;
  /** h=, lowercased; undefined when absent, which allows every hash algorithm. */
  readonly hashAlgorithms: readonly string[] | undefined;
  /** Undefined exactly when the key is revoked (empty p=). */
  readonly publicKey: KeyObject | undefined;
  readonly revoked: boolean;
  /** RSA modulus length, or 256 for ed25519; absent when revoked. */
  readonly bits?: number;
  /** t=y: the domain is testing DKIM. */
  readonly testing: boolean;
  /** t=s: the i= domain must equal d=, not be a subdomain of it. */
  readonly strict: boolean;
  /** s=, lowercased; ["*"] by default. */
  readonly services: readonly string[];
  /** s= includes "*" or "email"; otherwise verifiers must ignore the record (§3.6.1 s=). */
  readonly usableForEmail: boolean;
  /** n= as written (qp-section, not decoded: it is for humans). */
  readonly notes?: string;
  readonly raw: string;
}

export type KeyRecordResult =
  { readonly ok: true; readonly key: DkimKey } | { readonly ok: false; readonly reason: string; readonly tag?: string };

/** RFC 8301 §3.2 asks verifiers to handle up to 4096 bits and allows more; past this the cost of
 * verifying grows out of proportion, so such keys are refused at parse time. */
export const MAX_RSA_KEY_BITS = 16384;
// Enough DER for a MAX_RSA_KEY_BITS key; larger p= data is refused before node:crypto sees it.
const MAX_RSA_KEY_BYTES = 4096;
const ED25519_KEY_BYTES = 32;
const HYPHENATED_WORD = /^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

type Failure = Extract<KeyRecordResult, { ok: false }>;

function fail(reason: string, tag?: string): Failure {
  return tag === undefined ? { ok: false, reason } : { ok: false, reason, tag };
}

export function parseKeyRecord(text: string): KeyRecordResult {
  // Non-ASCII is tolerated (§3.2 note) so that a UTF-8 n= note does not void a key.
  const parsed = parseTagList(text, { allowNonAscii: true });
  if (!parsed.ok) {
    return fail(`key record syntax error at offset ${parsed.error.position}: ${parsed.error.message}`);
  }
  const tags = parsed.tags;
  const get = (name: string): string | undefined => tags.get(name)?.value;

  const version = get('v');
  if (version !== undefined) {
    // §3.6.1: exact string comparison ("DKIM1.0" and "dkim1" are not DKIM1), and v= comes first.
    if (version !== 'DKIM1') return fail(`v=${quoteFragment(version)} is not DKIM1`, 'v');
    if (tags.keys().next().value !== 'v') return fail('v= must be the first tag of the record', 'v');
  }

  const hashAlgorithms = colonList(get('h'), 'h');
  if (!Array.isArray(hashAlgorithms) && hashAlgorithms !== undefined) return hashAlgorithms;

  const keyTypeText = get('k') ?? 'rsa';
  const keyType = keyTypeText.toLowerCase();
  if (keyType !== 'rsa' && keyType !== 'ed25519') {
    return fail(`unknown key type k=${quoteFragment(keyTypeText)}`, 'k');
  }

  const services = colonList(get('s'), 's', (item) => item === '*');
  if (!Array.isArray(services) && services !== undefined) return services;
  const serviceList = services ?? ['*'];

  const flags = colonList(get('t'), 't');
  if (!Array.isArray(flags) && flags !== undefined) return flags;

  const p = get('p');
  if (p === undefined) return fail('missing required tag p=', 'p');
  const decoded = decodeBase64String(p);
  if (!decoded.ok) return fail(`malformed base64 in p=: ${decoded.reason}`, 'p');

  const notes = get('n');
  const common = {
    ...(version !== undefined && { version }),
    keyType,
    hashAlgorithms,
    testing: flags?.includes('y') ?? false,
    strict: flags?.includes('s') ?? false,
    services: serviceList,
    usableForEmail: serviceList.includes('*') || serviceList.includes('email'),
    ...(notes !== undefined && { notes }),
    raw: text,
  } as const;

  // §3.6.1 p=: an empty value means the key has been revoked (§6.1.2 step 7 fails it).
  if (decoded.bytes.length === 0) return { ok: true, key: { ...common, publicKey: undefined, revoked: true } };

  const material = keyType === 'rsa' ? rsaKey(decoded.bytes) : ed25519Key(decoded.bytes);
  if ('reason' in material) return fail(material.reason, 'p');
  return { ok: true, key: { ...common, publicKey: material.publicKey, revoked: false, bits: material.bits } };
}

/**
 * A colon list of hyphenated-words (key h=, s=, t=), lowercased: the ABNF literals ("sha256",
 * "email", "y") are case-insensitive (RFC 5234 §2.3). `extra` admits other items (s=*).
 */
function colonList(
  value: string | undefined,
  tag: string,
  extra: (item: string) => boolean = () => false,
): string[] | undefined | Failure {
  if (value === undefined) return undefined;
  const items = splitColonList(value);
  const bad = items.find((item) => !HYPHENATED_WORD.test(item) && !extra(item));
  if (bad !== undefined) return fail(`${tag}=${quoteFragment(value)} has an invalid item ${quoteFragment(bad)}`, tag);
  return items.map((item) => item.toLowerCase());
}

type Material = { publicKey: KeyObject; bits: number } | { reason: string };

/**
 * §3.6.1 k=rsa. The RFC names RSAPublicKey, but what publishers (and openssl -pubout) emit is a
 * SubjectPublicKeyInfo wrapping it; both are accepted, SubjectPublicKeyInfo first.
 */
function rsaKey(der: Uint8Array): Material {
  if (der.length > MAX_RSA_KEY_BYTES) {
    return { reason: `p= holds ${der.length} bytes, more than any RSA key of at most ${MAX_RSA_KEY_BITS} bits` };
  }
  // OpenSSL ignores bytes after the DER structure; a key with trailing garbage is malformed.
  if (derLength(der) !== der.length) return { reason: 'p= is not a single DER structure' };
  const publicKey = importDer(der, 'spki') ?? importDer(der, 'pkcs1');
  if (publicKey === undefined)
    return { reason: 'p= is not a DER RSA public key (SubjectPublicKeyInfo or RSAPublicKey)' };
  if (publicKey.asymmetricKeyType !== 'rsa') {
    return { reason: `p= holds a ${publicKey.asymmetricKeyType ?? 'unknown'} key, but k=rsa` };
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) return { reason: 'p= RSA key has no modulus length' };
  if (bits > MAX_RSA_KEY_BITS) return { reason: `RSA key of ${bits} bits is larger than ${MAX_RSA_KEY_BITS}` };
  return { publicKey, bits };
}

function importDer(der: Uint8Array, type: 'spki' | 'pkcs1'): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type });
  } catch {
    return undefined;
  }
}

/** Total length of the DER TLV at the start of `der` (tag, length, content), or -1 if malformed. */
function derLength(der: Uint8Array): number {
  if (der.length < 2 || der[0] !== 0x30) return -1; // both key forms are a SEQUENCE
  const first = der[1] ?? 0;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || der.length < 2 + octets) return -1;
  let length = 0;
  for (let i = 0; i < octets; i += 1) length = length * 256 + (der[2 + i] ?? 0);
  return 2 + octets + length;
}

/** RFC 8463 §4.2: p= is the raw 32-byte Ed25519 public key. */
function ed25519Key(raw: Uint8Array): Material {
  if (raw.length !== ED25519_KEY_BYTES) {
    return { reason: `p= holds ${raw.length} bytes; an ed25519 key is ${ED25519_KEY_BYTES} (RFC 8463 §4.2)` };
  }
  try {
    const x = Buffer.from(raw).toString('base64url');
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    return { publicKey, bits: 256 };
  } catch {
    return { reason: 'p= is not a usable ed25519 public key' };
  }
}
