/**
 * Client networks as CIDRs (`192.0.2.0/24`, `2001:db8::/32`, or a single address), for the
 * policy service's skip list. Addresses are parsed by core's strict RFC 4291 parser; the prefix
 * match is a few bit operations, written here because core keeps its matcher internal to SPF and
 * node:net's BlockList is I/O-module territory for this pure code.
 */
import { parseClientIp, type IpAddress } from '@mailward/core';

export interface Network {
  readonly text: string;
  readonly address: IpAddress;
  readonly prefix: number;
}

export type NetworksResult =
  { readonly ok: true; readonly networks: readonly Network[] } | { readonly ok: false; readonly error: string };

export function parseNetworks(texts: readonly string[]): NetworksResult {
  const networks: Network[] = [];
  for (const raw of texts) {
    const text = raw.trim();
    const slash = text.indexOf('/');
    const address = parseClientIp(slash < 0 ? text : text.slice(0, slash));
    if (!address) return { ok: false, error: `"${raw}" is not an IP address or CIDR network` };
    const max = address.version === 4 ? 32 : 128;
    const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
    const prefix = Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
      return { ok: false, error: `"${raw}": prefix length must be 0-${max}` };
    }
    networks.push({ text, address, prefix });
  }
  return { ok: true, networks };
}

/** The first network that holds the address (IPv4-mapped IPv6 counts as IPv4), if any. */
export function findNetwork(ip: IpAddress, networks: readonly Network[]): Network | undefined {
  return networks.find((network) => contains(network, ip));
}

function contains(network: Network, ip: IpAddress): boolean {
  const a = network.address;
  if (ip.version === 4 || a.version === 4) {
    if (ip.version !== 4 || a.version !== 4) return false;
    // `>>> 32` is `>>> 0` in JavaScript: prefix 0 matches everything, said separately.
    return network.prefix === 0 || (ip.value ^ a.value) >>> (32 - network.prefix) === 0;
  }
  let bits = network.prefix;
  for (let i = 0; i < 8 && bits > 0; i += 1, bits -= 16) {
    const x = ip.parts[i] as number;
    const y = a.parts[i] as number;
    const shift = Math.max(0, 16 - bits);
    if (x >> shift !== y >> shift) return false;
  }
  return true;
}
