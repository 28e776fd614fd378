import assert from 'node:assert/strict';
import type { SpfCheckResult } from '@mailward/core';
import type { SuiteTest } from './openspf-suite.js';

/** Runs one suite test through `check` and asserts the result (and explanation, where given). */
export async function runSuiteTest(
  suiteTest: SuiteTest,
  check: (input: { ip: string; mailFrom: string; helo: string }) => Promise<SpfCheckResult>,
): Promise<void> {
  const outcome = await check({ ip: suiteTest.host, mailFrom: suiteTest.mailfrom, helo: suiteTest.helo });
  const context = `${suiteTest.name}: got ${outcome.result} (${outcome.reason}), expected ${suiteTest.results.join(' or ')}`;
  assert.ok(suiteTest.results.includes(outcome.result), context);
  if (suiteTest.explanation !== undefined && outcome.result === 'fail') {
    if (suiteTest.explanation === 'DEFAULT') assert.equal(outcome.explanationSource, 'default', context);
    else assert.equal(outcome.explanation, suiteTest.explanation, `${context}; explanation`);
  }
}
