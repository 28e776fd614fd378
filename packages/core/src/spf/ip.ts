/**
 * IP addresses for SPF: strict parsing of the RFC 4291 §2.2 text forms and prefix matching on a
 * compact form. Written by hand (a few lines of bit operations) because matching runs for every
 * ip4/ip6 term and every A/AAAA answer, and because ipaddr.js both accepts forms RFC 4291 does
 * not (`00000::1`, nine groups) and rewrites `::1.2.3.4` as `::ffff:1.2.3.4`, which changes
 * which ip4/ip6 terms match.
 */

export type IpAddress =
  | { readonly version: 4; readonly value: number }
  | { readonly version: 6; readonly parts: readonly number[] /* 8 × 16-bit */ };

/** Strict dotted quad; `noLeadingZeros` applies RFC 7208's qnum rule for records. */
function parseIpv4(text: string, noLeadingZeros: boolean): IpAddress | undefined {
  const octets = text.split('.');
  if (octets.length !== 4) return undefined;
  let value = 0;
  for (const octet of octets) {
    if (octet.length === 0 || octet.length > 3 || !/^[0-9]+$/.test(octet)) return undefined;
    if (noLeadingZeros && octet.length > 1 && octet[0] === '0') return undefined;
    const n = Number(octet);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return { version: 4, value };
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** RFC 4291 §2.2: eight 1–4 digit hex groups, one "::" at most, optionally a dotted quad last. */
function parseIpv6(text: string): IpAddress | undefined {
  if (text.length > 45 || text.length < 2) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const pieces = half.split(':');
    for (const [index, piece] of pieces.entries()) {
      if (index === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece, true);
        if (!v4 || v4.version !== 4) return undefined;
        out.push(v4.value >>> 16, v4.value & 0xffff);
      } else if (HEX_GROUP.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groupsOf(halves[0] as string);
  const tail = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  // A dotted quad may only end the address, so it may not sit in the head when a tail follows.
  if (halves.length === 2 && (halves[0] as string).includes('.')) return undefined;
  if (halves.length === 1) return head.length === 8 ? { version: 6, parts: head } : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return { version: 6, parts: [...head, ...new Array<number>(missing).fill(0), ...tail] };
}

/** A client address; IPv4-mapped IPv6 (::ffff:a.b.c.d) is treated as IPv4 (RFC 7208 §5). */
export function parseClientIp(text: string): IpAddress | undefined {
  const trimmed = text.trim();
  if (!trimmed.includes(':')) return parseIpv4(trimmed, false);
  const ip6 = parseIpv6(trimmed);
  if (!ip6 || ip6.version !== 6) return undefined;
  const p = ip6.parts;
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0xffff) {
    return { version: 4, value: (p[6] as number) * 65536 + (p[7] as number) };
  }
  return ip6;
}

// RFC 7208 §5.6: ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros.
export function parseIp4Network(text: string): IpAddress | undefined {
  return parseIpv4(text, true);
}

export function parseIp6Network(text: string): IpAddress | undefined {
  return parseIpv6(text);
}

const answerCache = new Map<string, IpAddress | null>();
const ANSWER_CACHE_SIZE = 10_000;

/** Parses an address from an A or AAAA answer (memoised: the same answers recur); undefined if unusable. */
export function parseAnswerAddress(text: string): IpAddress | undefined {
  let cached = answerCache.get(text);
  if (cached === undefined) {
    cached = (text.includes(':') ? parseIpv6(text) : parseIpv4(text, false)) ?? null;
    if (answerCache.size >= ANSWER_CACHE_SIZE) answerCache.clear();
    answerCache.set(text, cached);
  }
  return cached ?? undefined;
}

/** True when `ip` lies in `network`/`prefix` of the same family. */
export function inNetwork(ip: IpAddress, network: IpAddress, prefix: number): boolean {
  if (ip.version === 4) {
    if (network.version !== 4) return false;
    if (prefix === 0) return true;
    // `>>> 32` would be `>>> 0` in JavaScript, so prefix 0 is handled above.
    return (ip.value ^ network.value) >>> (32 - prefix) === 0;
  }
  if (network.version !== 6) return false;
  let bits = prefix;
  for (let i = 0; i < 8 && bits > 0; i += 1) {
    const a = ip.parts[i] as number;
    const b = network.parts[i] as number;
    if (bits >= 16) {
      if (a !== b) return false;
      bits -= 16;
    } else {
      const shift = 16 - bits;
      return a >> shift === b >> shift;
    }
  }
  return true;
}

function hexNibbles(ip: Extract<IpAddress, { version: 6 }>): string {
  return ip.parts.map((part) => part.toString(16).toUpperCase().padStart(4, '0')).join('');
}

function ipv4Text(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * `%{i}` (RFC 7208 §7.3): dotted IPv4, or IPv6 as 32 dot-separated nibbles. The nibbles are
 * upper-case, as the OpenSPF suite (v-macro-ip6) expects in explanations; DNS ignores the case.
 */
export function ipForMacro(ip: IpAddress): string {
  if (ip.version === 4) return ipv4Text(ip.value);
  return hexNibbles(ip).split('').join('.');
}

/** The reverse-mapping name for a PTR query (in-addr.arpa / ip6.arpa). */
export function reverseName(ip: IpAddress): string {
  if (ip.version === 4) return `${ipv4Text(ip.value).split('.').reverse().join('.')}.in-addr.arpa`;
  return `${hexNibbles(ip).toLowerCase().split('').reverse().join('.')}.ip6.arpa`;
}

/** The usual text form: dotted quad, or RFC 5952 (lower case, longest zero run compressed). */
export function ipText(ip: IpAddress): string {
  if (ip.version === 4) return ipv4Text(ip.value);
  let bestStart = -1;
  let bestLength = 1; // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8;) {
    if (ip.parts[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && ip.parts[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = ip.parts.map((part) => part.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
