import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMailFrom, parseZone } from '@mailward/core';
import { NetworkResolver } from '../src/index.js';
import type { ServedZone } from '@mailward/testkit';
import { loadOpenSpfSuite, runSuiteTest, serveZone } from '@mailward/testkit';

// The OpenSPF RFC 7208 suite with each scenario's zone data served by a real Knot DNS server and
// queried through the network resolver. The suite's TIMEOUT entries are emulated by a proxy in
// front of Knot that never answers those questions (see support/serve-zone.ts).
const scenarios = loadOpenSpfSuite();
let passed = 0;
let total = 0;

for (const scenario of scenarios) {
  describe(`Knot: ${scenario.description}`, () => {
    let served: ServedZone | undefined;
    let resolver: NetworkResolver | undefined;
    before(async () => {
      const parsed = parseZone(scenario.zone);
      if (!parsed.ok) throw new Error(parsed.errors.join('; '));
      served = await serveZone(parsed.zone);
      // Short timeouts: the suite's TIMEOUT names never answer, and we do not want to wait 6 s each.
      resolver = new NetworkResolver({
        servers: [{ host: served.host, port: served.port }],
        timeoutMs: 300,
        retries: 1,
      });
    });
    after(async () => {
      await served?.stop();
    });
    for (const suiteTest of scenario.tests) {
      total += 1;
      test(suiteTest.name, async () => {
        assert.ok(resolver, 'Knot started');
        const dns = resolver;
        await runSuiteTest(suiteTest, (input) =>
          checkMailFrom(input, { resolver: dns, clock: Date, receiver: 'receiver.example' }),
        );
        passed += 1;
      });
    }
  });
}

test('the whole suite ran through Knot: 203 tests', () => {
  assert.equal(total, 203);
});

process.on('exit', () => {
  process.stdout.write(`OpenSPF RFC 7208 suite (Knot DNS via the network resolver): ${passed}/${total} passed\n`);
});
