/**
 * The signature step of DKIM and ARC (RFC 6376 §3.3, RFC 8463 §3): sign or verify the canonical
 * header data with the a= algorithm. RSA is RSASSA-PKCS1-v1_5 over the hash of the data; Ed25519
 * is PureEdDSA over the SHA-256 digest of the data (RFC 8463 §3: the hash is signed, not the data).
 */
import type { KeyObject } from 'node:crypto';
import { Buffer } from 'node:buffer';
import * as nodeCrypto from 'node:crypto';
import { createHash, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { DkimKeyType } from './key-record.js';
import type { DkimAlgorithm } from './signature.js';
import type { DkimHashAlgorithm } from './body-hash.js';

export function keyTypeOf(algorithm: DkimAlgorithm): DkimKeyType {
  return algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
}

export function hashOf(algorithm: DkimAlgorithm): DkimHashAlgorithm {
  return algorithm === 'rsa-sha1' ? 'sha1' : 'sha256';
}

/** The key type of a node:crypto key as DKIM names it, or undefined for any other kind of key. */
export function dkimKeyTypeOfKeyObject(key: KeyObject): DkimKeyType | undefined {
  const type = key.asymmetricKeyType;
  return type === 'rsa' ? 'rsa' : type === 'ed25519' ? 'ed25519' : undefined;
}

/**
 * SHA-256 of a whole buffer. crypto.hash (Node 20.12 and later) does it without creating a Hash
 * object, whose native handle survives young-generation GC; createHash serves older releases.
 */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

export function sha256(bytes: Uint8Array): Buffer {
  return oneShotHash !== undefined
    ? oneShotHash('sha256', bytes, 'buffer')
    : createHash('sha256').update(bytes).digest();
}

/** Signs the canonical header data (a Latin-1 string, one char per octet). */
export function signHeaderData(algorithm: DkimAlgorithm, privateKey: KeyObject, data: string): Uint8Array {
  const bytes = Buffer.from(data, 'latin1');
  if (algorithm === 'ed25519-sha256') return cryptoSign(null, sha256(bytes), privateKey);
  return cryptoSign(hashOf(algorithm), bytes, privateKey);
}

/**
 * Verifies a header signature. False for a wrong signature and for any input node:crypto
 * refuses (a b= of the wrong length, say): either way the signature does not verify.
 */
export function verifyHeaderData(
  algorithm: DkimAlgorithm,
  publicKey: KeyObject,
  data: string,
  signature: Uint8Array,
): boolean {
  const bytes = Buffer.from(data, 'latin1');
  try {
    if (algorithm === 'ed25519-sha256') {
      return cryptoVerify(null, sha256(bytes), publicKey, signature);
    }
    return cryptoVerify(hashOf(algorithm), bytes, publicKey, signature);
  } catch {
    return false;
  }
}
