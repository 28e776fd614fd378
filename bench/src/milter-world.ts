/**
 * The milter benchmark's world: one author domain, its keys and DNS records, and the messages.
 *
 * - bench.example publishes SPF `ip4:127.0.0.0/8` (every SMTP client in the bench connects from
 *   loopback, and smtp-source cannot pretend another address), DMARC p=reject, and two DKIM keys:
 *   `inbound` (RSA-2048: the inbound messages arrive pre-signed with it, as if the domain's own
 *   outbound server had signed them) and `outbound` (RSA-2048: the key both sides' milters sign
 *   with in the outbound role).
 * - Messages come from bench/src/dkim-messages.ts (realistic header block, multipart body of the
 *   nominal size, From: sender@bench.example). Inbound ones carry the inbound signature; outbound
 *   ones are unsigned.
 */
import { Buffer } from 'node:buffer';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { parseZone, signDkim, type Zone } from '@mailward/core';
import { renderZone } from '@mailward/testkit';
import { DOMAIN, makeMessage } from './dkim-messages.js';

export const AUTHOR_DOMAIN = DOMAIN;
export const INBOUND_SELECTOR = 'inbound';
export const OUTBOUND_SELECTOR = 'outbound';
export const ZONE_ORIGIN = 'example';
export const SENDER = `sender@${DOMAIN}`;
export const RECIPIENT = 'alice@receiver.test';
/** The messages' Date (2024-05-14): signatures are made "then", and nothing expires. */
const SIGNING_CLOCK = { now: () => 1_715_677_963_000 };

export interface BenchRsaKey {
  readonly selector: string;
  readonly privateKey: KeyObject;
  /** PKCS#1 PEM, the form OpenDKIM's KeyFile takes (mailward's key files take it too). */
  readonly privatePem: string;
  readonly record: string;
}

export interface MilterWorld {
  readonly inboundKey: BenchRsaKey;
  readonly outboundKey: BenchRsaKey;
  /** The same records, for core's MemoryResolver in the correctness checks. */
  readonly zone: Zone;
  /** Knot zone file text for ZONE_ORIGIN. */
  readonly zoneText: string;
}

function rsaKey(selector: string): BenchRsaKey {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = pair.publicKey.export({ type: 'spki', format: 'der' });
  return {
    selector,
    privateKey: pair.privateKey,
    privatePem: pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    record: `v=DKIM1; k=rsa; p=${der.toString('base64')}`,
  };
}

export function makeWorld(): MilterWorld {
  const inboundKey = rsaKey(INBOUND_SELECTOR);
  const outboundKey = rsaKey(OUTBOUND_SELECTOR);
  const parsed = parseZone({
    [DOMAIN]: [{ TXT: 'v=spf1 ip4:127.0.0.0/8 -all' }, { A: '127.0.0.1' }],
    [`_dmarc.${DOMAIN}`]: [{ TXT: `v=DMARC1; p=reject; rua=mailto:dmarc@${DOMAIN}` }],
    [`${INBOUND_SELECTOR}._domainkey.${DOMAIN}`]: [{ TXT: inboundKey.record }],
    [`${OUTBOUND_SELECTOR}._domainkey.${DOMAIN}`]: [{ TXT: outboundKey.record }],
    // The HELO name smtp-source and the bench's client use, so HELO checks find something real.
    [`client.${DOMAIN}`]: [{ A: '127.0.0.1' }, { TXT: 'v=spf1 ip4:127.0.0.0/8 -all' }],
  });
  if (!parsed.ok) throw new Error(`bench zone: ${parsed.errors.join('; ')}`);
  return { inboundKey, outboundKey, zone: parsed.zone, zoneText: renderZone(parsed.zone, { origin: ZONE_ORIGIN }) };
}

export interface RoleMessages {
  readonly label: string;
  /** Unsigned, for the outbound role. */
  readonly outbound: Buffer;
  /** Signed with the inbound key, for the inbound role. */
  readonly inbound: Buffer;
}

export function makeMessages(world: MilterWorld, nominal: number, label: string): RoleMessages {
  const base = makeMessage(nominal, label, 'mixed').bytes;
  const signed = signDkim(
    base,
    [{ domain: DOMAIN, selector: world.inboundKey.selector, privateKey: world.inboundKey.privateKey }],
    { clock: SIGNING_CLOCK },
  );
  return { label, outbound: base, inbound: Buffer.from(signed.message) };
}
