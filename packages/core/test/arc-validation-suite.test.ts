import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { arc } from '../src/index.js';
import { loadArcSuite, scenarioResolver } from './support/arc-suite.js';

const scenarios = loadArcSuite('arc-draft-validation-tests.yml');

/**
 * Suite cases where RFC 8617 (or RFC 6376, whose syntax the AMS shares) decides differently from
 * the draft-18 suite. Each is asserted to give the RFC's answer, so a change in behaviour fails.
 */
const EXCEPTIONS: Record<string, { readonly expected: string; readonly reason: RegExp; readonly why: string }> = {
  cv_fail_i1_as_cv_fail: {
    expected: 'fail',
    reason: /instance 1 says cv=fail/,
    why: 'the suite expects no result; RFC 8617 §5.2 step 2: a newest seal with cv=fail makes the chain fail',
  },
  cv_fail_i2_as2_fail: {
    expected: 'fail',
    reason: /instance 2 says cv=fail/,
    why: 'the suite expects no result; RFC 8617 §5.2 step 2: a newest seal with cv=fail makes the chain fail',
  },
  cv_fail_i2_as1_fail: {
    expected: 'fail',
    reason: /instance 1 has cv=fail, not none/,
    why: 'the suite expects no result; RFC 8617 §5.2 step 3C: a seal with cv=fail makes the chain fail',
  },
  ams_fields_c_na: {
    expected: 'fail',
    reason: /ARC-Message-Signature 1: signature did not verify/,
    why: 'the AMS was signed relaxed but has no c=; RFC 8617 §4.1.2 gives the AMS the DKIM-Signature semantics, where an absent c= means simple/simple (RFC 6376 §3.5), so the signature does not verify',
  },
  ams_fields_h_empty: {
    expected: 'fail',
    reason: /invalid h=/,
    why: 'an empty h= is a syntax error: RFC 6376 §3.5 sig-h-tag needs at least one header field name',
  },
  ams_fields_h_mis_hdr: {
    expected: 'fail',
    reason: /invalid h=/,
    why: 'an empty name in h= ("to::date") is a syntax error under RFC 6376 §3.5 sig-h-tag',
  },
};

/**
 * The suite's signatures carry t=12345 and no x=, so any clock after 1970 suits it; this one is the
 * date of the suite's messages (2017-01-03), fixed so the run does not depend on the real time.
 */
const clock = { now: () => Date.UTC(2017, 0, 3, 20, 32, 2) };

function expectedOf(cv: string | undefined): string {
  return (cv ?? '').trim().toLowerCase() === '' ? 'none' : (cv ?? '').trim().toLowerCase();
}

test('ARC validation suite (arc-draft-validation-tests.yml)', async () => {
  let passed = 0;
  let total = 0;
  const failures: string[] = [];
  for (const scenario of scenarios) {
    const resolver = scenarioResolver(scenario);
    for (const t of scenario.tests) {
      total++;
      const exception = EXCEPTIONS[t.name];
      const expected = exception?.expected ?? expectedOf(t.cv);
      const message = Buffer.from(t.message.replace(/\r?\n/g, '\r\n'), 'utf8');
      const result = await arc.verifyArc(message, { resolver, clock });
      if (result.result !== expected) {
        failures.push(`${t.name} (${t.description}): expected ${expected}, got ${result.result}: ${result.reason}`);
      } else if (exception !== undefined && !exception.reason.test(result.reason)) {
        failures.push(`${t.name}: ${expected} as the RFC says, but for another reason: ${result.reason}`);
      } else passed++;
    }
  }
  console.log(
    `# ARC validation suite: ${passed}/${total} as expected (${Object.keys(EXCEPTIONS).length} of them documented exceptions, asserted to give the RFC answer)`,
  );
  assert.equal(total, 171);
  assert.equal(
    Object.keys(EXCEPTIONS).filter((name) => !scenarios.some((s) => s.tests.some((t) => t.name === name))).length,
    0,
  );
  assert.deepEqual(failures, []);
});
