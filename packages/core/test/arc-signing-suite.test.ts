import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createPrivateKey } from 'node:crypto';
import { arc, canonicalizeHeader, parseTagList, splitMessage } from '../src/index.js';
import { loadArcSuite, scenarioResolver } from './support/arc-suite.js';

const scenarios = loadArcSuite('arc-draft-sign-tests.yml');

/** A field value from the suite (YAML lines) as a tag map, FWS removed from values. */
function tagsOf(value: string): Map<string, string> {
  const parsed = parseTagList(value.trim().replace(/\r?\n/g, ' '));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  return new Map([...parsed.tags].map(([name, tag]) => [name, tag.value.replace(/[ \t\r\n]+/g, '')]));
}

function relaxed(name: string, value: string): string {
  return canonicalizeHeader(`${name}: ${value.trim().replace(/\r?\n/g, '\r\n ')}`, 'relaxed');
}

test('ARC signing suite (arc-draft-sign-tests.yml): 17/17', async () => {
  let passed = 0;
  let total = 0;
  const failures: string[] = [];
  for (const scenario of scenarios) {
    const resolver = scenarioResolver(scenario);
    const privateKey = createPrivateKey(scenario.privateKey ?? '');
    for (const t of scenario.tests) {
      total++;
      const split = splitMessage(Buffer.from(t.message.replace(/\r?\n/g, '\r\n'), 'utf8'));
      assert.ok(split.ok);
      const chain = await arc.verifyArc(split, { resolver });
      const payload = arc.consolidateAuthenticationResults(split.headers, t.srvId ?? '');
      assert.ok(payload !== undefined, t.name);
      const sealed = arc.sealArc(split, {
        domain: scenario.domain ?? '',
        selector: scenario.selector ?? '',
        privateKey,
        authenticationResults: payload,
        chainValidation: chain.result,
        headers: (t.sigHeaders ?? '').split(':'),
        clock: { now: () => (t.t ?? 0) * 1000 },
      });
      // An empty expectation means "add no set" (a chain whose newest seal says cv=fail, §5.1 step 2).
      if ((t.AS ?? '').trim() === '') {
        if (sealed.sealed) failures.push(`${t.name}: sealed, but the suite expects no new set`);
        else passed++;
        continue;
      }
      if (!sealed.sealed) {
        failures.push(`${t.name}: not sealed: ${sealed.reason}`);
        continue;
      }
      const problems: string[] = [];
      const ours = {
        AMS: tagsOf(sealed.fields.messageSignature.slice(sealed.fields.messageSignature.indexOf(':') + 1)),
        AS: tagsOf(sealed.fields.seal.slice(sealed.fields.seal.indexOf(':') + 1)),
      };
      for (const kind of ['AMS', 'AS'] as const) {
        const expected = tagsOf(t[kind] ?? '');
        for (const [tag, value] of expected) {
          if (ours[kind].get(tag) !== value) problems.push(`${kind} ${tag}= differs`);
        }
        for (const tag of ours[kind].keys()) if (!expected.has(tag)) problems.push(`${kind} has extra ${tag}=`);
      }
      const ourAar = canonicalizeHeader(sealed.fields.authenticationResults.replace(/\r\n$/, ''), 'relaxed');
      if (ourAar !== relaxed('ARC-Authentication-Results', t.AAR ?? '')) problems.push('AAR differs');
      // What we sealed validates, unless we sealed a failed chain (cv=fail), which stays failed.
      const check = await arc.verifyArc(sealed.message, { resolver });
      const wanted = chain.result === 'fail' ? 'fail' : 'pass';
      if (check.result !== wanted) problems.push(`our sealed message validates as ${check.result}: ${check.reason}`);
      if (problems.length === 0) passed++;
      else failures.push(`${t.name} (${t.description}): ${problems.join('; ')}`);
    }
  }
  console.log(`# ARC signing suite: ${passed}/${total}`);
  assert.equal(total, 17);
  assert.deepEqual(failures, []);
});
