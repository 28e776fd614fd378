import { readFile } from 'node:fs/promises';
import type { DnsServer } from './server.js';
import { DNS_PORT } from './server.js';
import { systemServers } from './resolv-conf.js';

export const RESOLV_CONF_PATH = '/etc/resolv.conf';

/** What glibc uses when resolv.conf names no server (or is missing): the local host. */
export const FALLBACK_SERVERS: readonly DnsServer[] = [{ host: '127.0.0.1', port: DNS_PORT }];

/** The system's DNS servers from resolv.conf, falling back to 127.0.0.1:53 like glibc does. */
export async function readSystemServers(path: string = RESOLV_CONF_PATH): Promise<DnsServer[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [...FALLBACK_SERVERS];
  }
  const servers = systemServers(text);
  return servers.length > 0 ? servers : [...FALLBACK_SERVERS];
}
