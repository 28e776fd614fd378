import { isIP } from 'node:net';

/** A DNS server to send queries to. `host` is an IP address literal (v4 or v6, no brackets). */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

export const DNS_PORT = 53;

export type ParseServerResult = { ok: true; server: DnsServer } | { ok: false; reason: string };

/**
 * Parses `HOST[:PORT]` as given on a command line: `192.0.2.1`, `192.0.2.1:5353`, `[::1]:5353`,
 * `[::1]` or a bare `::1`. Only IP literals are accepted: looking up the name of a DNS server
 * would need a DNS server.
 */
export function parseServer(text: string): ParseServerResult {
  const input = text.trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(input);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (input.split(':').length === 2) {
    [host = '', portText] = input.split(':');
  } else {
    // No colon (IPv4) or several (a bare IPv6 address, which cannot carry a port).
    host = input;
  }
  if (isIP(host) === 0)
    return { ok: false, reason: `${JSON.stringify(text)}: ${JSON.stringify(host)} is not an IP address` };
  if (bracketed && isIP(host) !== 6)
    return { ok: false, reason: `${JSON.stringify(text)}: brackets are for IPv6 only` };
  if (portText === undefined) return { ok: true, server: { host, port: DNS_PORT } };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) {
    return { ok: false, reason: `${JSON.stringify(text)}: port ${JSON.stringify(portText)} is not in 1..65535` };
  }
  return { ok: true, server: { host, port } };
}

/** `192.0.2.1:53` or `[2001:db8::1]:53`, for reasons and logs. */
export function formatServer(server: DnsServer): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}
