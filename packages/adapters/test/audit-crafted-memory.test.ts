/**
 * The crafted domain set (support/crafted-domains.ts) through the in-memory resolver: the same
 * fixture and expectations as the Knot test, so the two paths agree code for code, and the unit
 * suite catches a changed finding without starting Knot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryResolver, auditDomain, parseZone } from '@mailward/core';
import { CRAFTED, craftedFixture, expectedCodes } from './support/crafted-domains.js';

const parsed = parseZone(craftedFixture());
assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
const resolver = new MemoryResolver(parsed.zone);

for (const crafted of CRAFTED) {
  test(`memory: ${crafted.domain} (${crafted.why})`, async () => {
    const audit = await auditDomain(crafted.domain, { resolver });
    const codes = audit.findings.map((f) => f.code).sort();
    assert.deepEqual(codes, expectedCodes(crafted), JSON.stringify(audit.findings, null, 1));
  });
}
