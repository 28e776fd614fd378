import { isIP } from 'node:net';
import type { DnsServer } from './server.js';
import { DNS_PORT } from './server.js';

/** glibc uses at most this many `nameserver` lines (MAXNS in resolv.h); later ones are ignored. */
const MAX_NAMESERVERS = 3;

/**
 * The servers named by `nameserver` lines in resolv.conf(5) text, in order, on port 53.
 * Pure, so it is testable with fixtures; `readSystemServers` does the file reading.
 * Lines that glibc would skip (comments, unknown keywords, addresses that do not parse) are
 * skipped here too. An IPv6 scope (`fe80::1%eth0`) is kept: node's sockets understand it.
 */
export function systemServers(resolvConfText: string): DnsServer[] {
  const servers: DnsServer[] = [];
  for (const rawLine of resolvConfText.split(/\r?\n/)) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const [keyword, address] = line.split(/\s+/);
    if (keyword !== 'nameserver' || address === undefined || isIP(address) === 0) continue;
    servers.push({ host: address, port: DNS_PORT });
    if (servers.length === MAX_NAMESERVERS) break;
  }
  return servers;
}
