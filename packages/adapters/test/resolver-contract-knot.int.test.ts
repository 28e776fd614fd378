import { parseZone } from '@mailward/core';
import { NetworkResolver } from '../src/index.js';
import { resolverContract, serveZone } from '@mailward/testkit';

// Knot serves the fixture (SERVFAIL names as broken zones, TIMEOUT/REFUSED through the dropping
// proxy); short timeouts keep the TIMEOUT cases quick.
resolverContract('NetworkResolver against Knot', async (fixture) => {
  const parsed = parseZone(fixture);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const served = await serveZone(parsed.zone);
  const resolver = new NetworkResolver({ servers: [served], timeoutMs: 250, retries: 1 });
  return { resolver, close: () => served.stop() };
});

// The same contract over pipelined TCP (the transport of `mailward scan`).
resolverContract('NetworkResolver against Knot over pipelined TCP', async (fixture) => {
  const parsed = parseZone(fixture);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const served = await serveZone(parsed.zone);
  const resolver = new NetworkResolver({ servers: [served], timeoutMs: 250, retries: 1, transport: 'tcp' });
  return {
    resolver,
    close: async () => {
      resolver.close();
      await served.stop();
    },
  };
});
