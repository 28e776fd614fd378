import type { Resolver } from '@mailward/core';

/**
 * The address to connect to for a host name, looked up through the Resolver (so `--dns` and zone
 * fixtures apply): its first IPv4 address, else its first IPv6 one; or why there is none.
 */
export async function hostAddress(
  resolver: Resolver,
  host: string,
): Promise<{ readonly address: string } | { readonly problem: string }> {
  const [a, aaaa] = await Promise.all([resolver.lookup(host, 'A'), resolver.lookup(host, 'AAAA')]);
  const address =
    (a.kind === 'answer' ? a.records[0] : undefined) ?? (aaaa.kind === 'answer' ? aaaa.records[0] : undefined);
  return address === undefined ? { problem: `${host} has no address (${a.kind})` } : { address };
}
