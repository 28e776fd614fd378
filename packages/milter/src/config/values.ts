/**
 * Checks of single configuration values that zod's built-in types do not know: networks, listen
 * specs, host:port pairs, domain names and signing patterns. Each returns a reason when the value
 * is unusable and undefined when it is fine, so the schema can report the reason at the value.
 */
import { domainNameProblem, parseClientIp } from '@mailward/core';
import { parseListenAddress } from '@mailward/adapters';

/**
 * An address or CIDR network (`192.0.2.0/24`, `2001:db8::/32`, `::1`). The address part is parsed
 * by core's strict RFC 4291 §2.2 / dotted-quad parser (parseClientIp; core exports no network
 * parser), the prefix length here.
 */
export function networkProblem(text: string): string | undefined {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const isV6 = addressText.includes(':');
  const address = addressText.trim() === addressText ? parseClientIp(addressText) : undefined;
  // RFC 7208 §5.6's ip4-network has no leading zeros (parseIp4Network's rule; core exports only
  // the lenient client parser): "010" reads as 10 to some tools and as 8 (octal) to others.
  if (address === undefined || (!isV6 && /(^|\.)0[0-9]/.test(addressText))) {
    return `"${text}" is not an IPv4 or IPv6 address or network`;
  }
  if (slash < 0) return undefined;
  const max = isV6 ? 128 : 32;
  const prefixText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `"${text}" has a prefix length outside 0..${max}`;
  }
  return undefined;
}

/** `inet:HOST:PORT`, `inet6:...` or `unix:PATH`, as the milter and policy servers take them. */
export function listenProblem(text: string): string | undefined {
  const parsed = parseListenAddress(text);
  // A relative socket path would depend on the directory the service is started from.
  if (parsed.ok && parsed.address.kind === 'unix' && !parsed.address.path.startsWith('/'))
    return `"${text}": a unix: socket path must be absolute (e.g. unix:/run/mailward/milter.sock)`;
  if (parsed.ok) return undefined;
  // parseListenAddress names the text and the accepted forms; drop its "milter address" lead-in,
  // as the same notation serves the policy service and Exim's check.
  return parsed.error.replace(/^milter address /, '');
}

/**
 * A store as `--store` takes it (packages/cli/src/store-setup.ts): `postgres://...`,
 * `sqlite:PATH` or a plain path ("C:\\..." is a path, not a scheme). Refused here, with its line,
 * rather than when the service starts.
 */
export function storeProblem(text: string): string | undefined {
  if (/^postgres(ql)?:\/\//i.test(text)) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(text)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'sqlite')
    return `${scheme} is not a supported store (use a path, sqlite:PATH or postgres://USER@HOST/DB)`;
  if (text === '' || text.toLowerCase() === 'sqlite:') return 'give the SQLite file: sqlite:PATH or a path';
  return undefined;
}

/** `HOST:PORT` or `[V6]:PORT` (the metrics endpoint). */
export function hostPortProblem(text: string): string | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  if (match === null) return `"${text}" is not HOST:PORT (use [ADDRESS]:PORT for IPv6)`;
  if (Number(match[3]) > 65535) return `"${text}": port ${match[3]} is not 0-65535`;
  return undefined;
}

/** A DNS resolver: `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address. */
export function resolverProblem(text: string): string | undefined {
  if (text === '') return 'empty resolver address';
  if (text.startsWith('[')) return hostPortProblem(text);
  const colons = text.split(':').length - 1;
  if (colons === 0) return undefined;
  if (colons === 1) return hostPortProblem(text);
  return parseClientIp(text) === undefined
    ? `"${text}" is not an IPv6 address (write [ADDRESS]:PORT with a port)`
    : undefined;
}

/** A domain name in the form the services compare: ASCII (A-labels), no trailing dot. */
export function domainProblem(text: string): string | undefined {
  const name = text.replace(/\.$/, '');
  const problem =
    domainNameProblem(name) ??
    (/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name)
      ? undefined
      : 'use letters, digits, hyphens and dots (the xn-- form for international names)');
  return problem === undefined ? undefined : `"${text}" is not a domain name: ${problem}`;
}

/** A signing rule's From pattern: `example.com`, `*.example.com` or `*` (see SigningRuleSettings). */
export function fromPatternProblem(text: string): string | undefined {
  if (text === '*') return undefined;
  const domain = text.startsWith('*.') ? text.slice(2) : text;
  const problem = domainProblem(domain);
  return problem === undefined ? undefined : `"${text}" is not a From pattern (example.com, *.example.com or *)`;
}

/** Lower case, no trailing dot: how the services look domains up. */
export function normalDomain(text: string): string {
  return text.toLowerCase().replace(/\.$/, '');
}
