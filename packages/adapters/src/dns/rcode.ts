import type { DecodedPacket } from 'dns-packet';

/** RCODE mnemonics (RFC 1035, 2136, 6891); others are shown as numbers. */
const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADVERS',
};

export const NOERROR = 0;
export const SERVFAIL = 2;
export const NXDOMAIN = 3;
export const REFUSED = 5;

/**
 * The full RCODE: 4 bits in the header plus, with EDNS0, 8 more bits in the OPT record
 * (RFC 6891 §6.1.3), so that e.g. BADVERS is not mistaken for NOERROR.
 */
export function rcodeOf(packet: DecodedPacket): number {
  const low = (packet.flags ?? 0) & 0x0f;
  const opt = (packet.additionals ?? []).find((record) => record.type === 'OPT');
  const high = opt && 'extendedRcode' in opt ? opt.extendedRcode : 0;
  return (high << 4) | low;
}

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE ${rcode}`;
}
