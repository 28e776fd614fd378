import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** A UDP socket and a TCP listener bound to the same loopback port, as a DNS server needs. */
export interface BoundPair {
  readonly port: number;
  readonly udp: Socket;
  readonly tcp: Server;
}

/**
 * Binds TCP to port 0, then UDP to the port the kernel chose. The UDP port may be taken (the
 * two port spaces are separate), in which case it tries again with another port.
 */
export async function bindPair(host: string = LOOPBACK): Promise<BoundPair> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, host, () => resolve());
    });
    const address = tcp.address();
    if (address === null || typeof address === 'string') throw new Error('TCP listener has no port');
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(address.port, host, () => resolve(true));
    });
    if (bound) return { port: address.port, udp, tcp };
    udp.close();
    await closeServer(tcp);
  }
  throw new Error(`no loopback port free for both UDP and TCP on ${host}`);
}

/** A port that was free for UDP and TCP a moment ago, for a server started by another process. */
export async function freePort(host: string = LOOPBACK): Promise<number> {
  const pair = await bindPair(host);
  pair.udp.close();
  await closeServer(pair.tcp);
  return pair.port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
