/**
 * DKIM key material for publishing (RFC 6376 §3.6.1, RFC 8463 §4.2): generating key pairs, the
 * TXT record that publishes a public key, its split into DNS character-strings, dated default
 * selectors, and checking that a published key belongs to a private key.
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { DkimKeyType } from './key-record.js';
import type { DkimKey } from './key-record.js';
import { dkimKeyTypeOfKeyObject } from './crypto.js';

export const DEFAULT_RSA_BITS = 2048;
/** RFC 8301 §3.2: at least 1024; more than 4096 is beyond what verifiers must support. */
export const RSA_BITS_RANGE = { min: 1024, max: 4096 } as const;
/** RFC 1035 §3.3: a character-string holds at most 255 octets. */
export const TXT_STRING_MAX = 255;

export interface GeneratedDkimKey {
  readonly type: DkimKeyType;
  readonly bits: number;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#8 PEM, for the key file. */
  readonly privateKeyPem: string;
}

export function generateDkimKey(type: DkimKeyType, bits = DEFAULT_RSA_BITS): GeneratedDkimKey {
  if (type === 'rsa') {
    if (!Number.isInteger(bits) || bits < RSA_BITS_RANGE.min || bits > RSA_BITS_RANGE.max) {
      throw new RangeError(`RSA key size must be ${RSA_BITS_RANGE.min} to ${RSA_BITS_RANGE.max} bits, not ${bits}`);
    }
    const pair = generateKeyPairSync('rsa', { modulusLength: bits });
    return { type, bits, ...pair, privateKeyPem: pem(pair.privateKey) };
  }
  const pair = generateKeyPairSync('ed25519');
  return { type, bits: 256, ...pair, privateKeyPem: pem(pair.privateKey) };
}

function pem(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The p= value: SPKI DER for RSA (§3.6.1), the raw 32-octet key for Ed25519 (RFC 8463 §4.2). */
export function publicKeyData(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  if (publicKey.asymmetricKeyType === 'ed25519') return der.subarray(der.length - 32).toString('base64');
  return der.toString('base64');
}

/** The key record to publish: "v=DKIM1; k=rsa; p=...", with t=y when testing. */
export function dkimKeyRecord(publicKey: KeyObject, options: { readonly testing?: boolean } = {}): string {
  const type = dkimKeyTypeOfKeyObject(publicKey);
  if (type === undefined) throw new RangeError('only RSA and Ed25519 keys can be published for DKIM');
  const tags = ['v=DKIM1', `k=${type}`];
  if (options.testing === true) tags.push('t=y');
  tags.push(`p=${publicKeyData(publicKey)}`);
  return tags.join('; ');
}

/** Splits a TXT value into character-strings of at most 255 octets (the record is ASCII). */
export function splitTxtValue(value: string, size = TXT_STRING_MAX): string[] {
  const strings: string[] = [];
  for (let i = 0; i < value.length; i += size) strings.push(value.slice(i, i + size));
  return strings.length > 0 ? strings : [''];
}

/** A zone-file line (RFC 1035 master format) ready to paste: `name. IN TXT ( "..." "..." )`. */
export function zoneFileRecord(name: string, value: string, ttl?: number): string {
  const strings = splitTxtValue(value).map((s) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`);
  const owner = name.endsWith('.') ? name : `${name}.`;
  const ttlText = ttl === undefined ? '' : ` ${ttl}`;
  if (strings.length === 1) return `${owner}${ttlText} IN TXT ${strings[0]}`;
  return `${owner}${ttlText} IN TXT ( ${strings.join('\n\t')} )`;
}

/**
 * A selector that carries the key type and the date, e.g. "rsa-20261128": a new one each day, so
 * a rotation never reuses (and so never overwrites) the name of a key still published.
 */
export function datedSelector(type: DkimKeyType, clock: Clock): string {
  const date = new Date(clock.now()).toISOString().slice(0, 10).replace(/-/g, '');
  return `${type === 'ed25519' ? 'ed' : 'rsa'}-${date}`;
}

export type KeyMatch = { readonly matches: true } | { readonly matches: false; readonly reason: string };

/** Whether a published key is the public half of a private key. */
export function publishedKeyMatches(privateKey: KeyObject, published: DkimKey): KeyMatch {
  if (published.revoked || published.publicKey === undefined)
    return { matches: false, reason: 'the published key is revoked (empty p=)' };
  const ownType = dkimKeyTypeOfKeyObject(privateKey);
  if (ownType !== published.keyType) {
    return {
      matches: false,
      reason: `the published key is k=${published.keyType}, the private key is ${ownType ?? 'neither RSA nor Ed25519'}`,
    };
  }
  const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromDns = published.publicKey.export({ type: 'spki', format: 'der' });
  return derived.equals(fromDns)
    ? { matches: true }
    : { matches: false, reason: 'the published key is a different key from the private key' };
}
