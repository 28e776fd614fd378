/**
 * The internal-hosts list (CIDRs) as a predicate, with node:net's BlockList doing the matching
 * (a well-kept implementation of exactly this; IPv4-mapped IPv6 client addresses are compared as
 * IPv4, as Postfix's mynetworks does).
 */
import { BlockList, isIP } from 'node:net';

export type InternalHosts = { ok: true; isInternal: (address: string) => boolean } | { ok: false; reason: string };

export function parseInternalHosts(cidrs: readonly string[]): InternalHosts {
  const list = new BlockList();
  for (const text of cidrs) {
    const [host = '', prefixText, ...rest] = text.trim().split('/');
    const family = isIP(host);
    const max = family === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (
      family === 0 ||
      rest.length > 0 ||
      (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) ||
      !Number.isInteger(prefix) ||
      prefix > max
    ) {
      return { ok: false, reason: `"${text}" is not an address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)` };
    }
    list.addSubnet(host, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return {
    ok: true,
    isInternal(address) {
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
      const plain = mapped ?? address;
      const family = isIP(plain);
      if (family === 0) return false;
      return list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}
