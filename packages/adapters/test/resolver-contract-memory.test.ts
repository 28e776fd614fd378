import { MemoryResolver, parseZone } from '@mailward/core';
import { resolverContract } from '@mailward/testkit';

resolverContract('MemoryResolver', (fixture) => {
  const parsed = parseZone(fixture);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return Promise.resolve({ resolver: new MemoryResolver(parsed.zone), close: () => Promise.resolve() });
});
