/**
 * The crafted domain set (support/crafted-domains.ts) over real DNS: every domain served by Knot
 * from zone files, looked up by the network resolver, audited in full; the exact finding codes of
 * each domain are asserted, ok and info codes included.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditDomain, parseZone } from '@mailward/core';
import type { ServedZone } from '@mailward/testkit';
import { serveZone } from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';
import { CRAFTED, craftedFixture, expectedCodes } from './support/crafted-domains.js';

let served: ServedZone;
let resolver: NetworkResolver;

before(async () => {
  const parsed = parseZone(craftedFixture());
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  served = await serveZone(parsed.zone);
  resolver = new NetworkResolver({ servers: [{ host: served.host, port: served.port }], timeoutMs: 400, retries: 1 });
});

after(async () => {
  await served?.stop();
});

test(`the crafted set has at least 40 domains (${CRAFTED.length}), each with its own name`, () => {
  assert.ok(CRAFTED.length >= 40);
  assert.equal(new Set(CRAFTED.map((c) => c.domain)).size, CRAFTED.length);
});

for (const crafted of CRAFTED) {
  test(`Knot: ${crafted.domain} (${crafted.why})`, async () => {
    const audit = await auditDomain(crafted.domain, { resolver });
    const codes = audit.findings.map((f) => f.code).sort();
    assert.deepEqual(codes, expectedCodes(crafted), JSON.stringify(audit.findings, null, 1));
  });
}
