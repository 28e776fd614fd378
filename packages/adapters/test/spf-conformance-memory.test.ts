import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryResolver, checkMailFrom, parseZone } from '@mailward/core';
import { loadOpenSpfSuite, runSuiteTest } from '@mailward/testkit';

// The OpenSPF RFC 7208 suite with its zone data served by core's in-memory resolver.
const scenarios = loadOpenSpfSuite();
let passed = 0;
let total = 0;

for (const scenario of scenarios) {
  const parsed = parseZone(scenario.zone);
  if (!parsed.ok) throw new Error(`zone of "${scenario.description}": ${parsed.errors.join('; ')}`);
  const resolver = new MemoryResolver(parsed.zone);
  for (const suiteTest of scenario.tests) {
    total += 1;
    test(`${scenario.description} / ${suiteTest.name}`, async () => {
      await runSuiteTest(suiteTest, (input) =>
        checkMailFrom(input, { resolver, clock: Date, receiver: 'receiver.example' }),
      );
      passed += 1;
    });
  }
}

test('the whole suite ran: 203 tests', () => {
  assert.equal(total, 203);
});

process.on('exit', () => {
  process.stdout.write(`OpenSPF RFC 7208 suite (in-memory resolver): ${passed}/${total} passed\n`);
});
