/** Keys and zones for DKIM sign/verify tests: generated once per process (cheap for Ed25519; RSA is cached). */
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import assert from 'node:assert/strict';
import type { Resolver } from '../../src/index.js';
import { MemoryResolver, parseZone } from '../../src/index.js';

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The p= value. */
  readonly p: string;
}

const cache = new Map<string, TestKey>();

export function rsaKey(bits = 2048): TestKey {
  const id = `rsa${bits}`;
  let key = cache.get(id);
  if (key === undefined) {
    const pair = generateKeyPairSync('rsa', { modulusLength: bits });
    key = { ...pair, p: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') };
    cache.set(id, key);
  }
  return key;
}

export function ed25519Key(): TestKey {
  let key = cache.get('ed25519');
  if (key === undefined) {
    const pair = generateKeyPairSync('ed25519');
    // RFC 8463 §4.2: p= is the raw 32-byte public key, the last 32 bytes of the SPKI DER.
    const der = pair.publicKey.export({ type: 'spki', format: 'der' });
    key = { ...pair, p: der.subarray(der.length - 32).toString('base64') };
    cache.set('ed25519', key);
  }
  return key;
}

export function resolverFor(zone: Record<string, unknown[]>): Resolver {
  const parsed = parseZone(zone);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  return new MemoryResolver(parsed.zone);
}

/** A fixed clock (seconds since the epoch). */
export function clockAt(seconds: number): { now(): number } {
  return { now: () => seconds * 1000 };
}

export const SAMPLE_MESSAGE =
  'From: Joe SixPack <joe@football.example.com>\r\n' +
  'To: Suzie Q <suzie@shopping.example.net>\r\n' +
  'Subject: Is dinner ready?\r\n' +
  'Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n' +
  'Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n' +
  '\r\n' +
  'Hi.\r\n' +
  '\r\n' +
  'We lost the game.  Are you hungry yet?\r\n' +
  '\r\n' +
  'Joe.\r\n';
