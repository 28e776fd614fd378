import ipaddr from 'ipaddr.js';

/** A parsed client or network address; IPv4-mapped IPv6 addresses are treated as IPv4 (RFC 7208 §5). */
export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

export function parseClientIp(text: string): IpAddress | undefined {
  const trimmed = text.trim();
  if (!ipaddr.isValid(trimmed) || trimmed.includes('%')) return undefined;
  if (ipaddr.IPv4.isValid(trimmed) && !ipaddr.IPv4.isValidFourPartDecimal(trimmed)) return undefined;
  return ipaddr.process(trimmed);
}

// RFC 7208 §5.6: ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros.
const QNUM = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])';
const IP4_NETWORK = new RegExp(`^${QNUM}\\.${QNUM}\\.${QNUM}\\.${QNUM}$`);

export function parseIp4Network(text: string): ipaddr.IPv4 | undefined {
  return IP4_NETWORK.test(text) ? ipaddr.IPv4.parse(text) : undefined;
}

export function parseIp6Network(text: string): ipaddr.IPv6 | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !ipaddr.IPv6.isValid(text)) return undefined;
  return ipaddr.IPv6.parse(text);
}

/** True when `ip` lies in `network`/`prefix` of the same family. */
export function inNetwork(ip: IpAddress, network: IpAddress, prefix: number): boolean {
  if (ip.kind() !== network.kind()) return false;
  return ip.kind() === 'ipv4'
    ? (ip as ipaddr.IPv4).match(network as ipaddr.IPv4, prefix)
    : (ip as ipaddr.IPv6).match(network as ipaddr.IPv6, prefix);
}

/** Parses an address from a DNS answer (A or AAAA record data); undefined if unusable. */
export function parseAnswerAddress(text: string): IpAddress | undefined {
  return ipaddr.isValid(text) ? ipaddr.parse(text) : undefined;
}

/**
 * `%{i}` (RFC 7208 §7.3): dotted IPv4, or IPv6 as 32 dot-separated nibbles. The nibbles are
 * upper-case, as the OpenSPF suite (v-macro-ip6) expects in explanations; DNS ignores the case.
 */
export function ipForMacro(ip: IpAddress): string {
  if (ip.kind() === 'ipv4') return ip.toString();
  return (ip as ipaddr.IPv6).parts
    .map((part) => part.toString(16).toUpperCase().padStart(4, '0'))
    .join('')
    .split('')
    .join('.');
}

/** The reverse-mapping name for a PTR query (in-addr.arpa / ip6.arpa). */
export function reverseName(ip: IpAddress): string {
  if (ip.kind() === 'ipv4') return `${ip.toByteArray().reverse().join('.')}.in-addr.arpa`;
  return `${ipForMacro(ip).toLowerCase().split('.').reverse().join('.')}.ip6.arpa`;
}

export function ipText(ip: IpAddress): string {
  return ip.kind() === 'ipv4' ? ip.toString() : (ip as ipaddr.IPv6).toRFC5952String();
}
