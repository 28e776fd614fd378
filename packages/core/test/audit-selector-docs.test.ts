// The docs' account of the DKIM selectors `check` and `scan` probe, held against the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COMMON_SELECTORS } from '../src/audit/dkim.js';

const read = (path: string) => readFileSync(new URL(`../../../../${path}`, import.meta.url), 'utf8');

test('docs/audit.md lists exactly the selectors the DKIM audit probes, and counts them right', () => {
  const audit = read('docs/audit.md').replace(/\s+/g, ' ');
  const listed = /Probed selectors: the (\d+) of `COMMON_SELECTORS` in `[^`]+` \(([^)]+)\)/.exec(audit);
  assert.ok(listed, 'the "Probed selectors" paragraph');
  assert.deepEqual(
    listed[2]?.split(/[;,] ?/).map((s) => s.trim()),
    [...COMMON_SELECTORS],
  );
  assert.equal(Number(listed[1]), COMMON_SELECTORS.length);
  assert.ok(
    audit.includes(
      `then for the ${COMMON_SELECTORS.length} names unless that answered NXDOMAIN (${COMMON_SELECTORS.length + 1} queries, or 1)`,
    ),
  );
});

test('every "N common selectors" in the README and docs is the length of the list', () => {
  const texts = ['README.md', 'docs/audit.md', 'docs/benchmarks.md'].map((path) => [
    path,
    read(path).replace(/\s+/g, ' '),
  ]);
  let claims = 0;
  for (const [path, text] of texts) {
    for (const match of text?.matchAll(/(\d+) common selectors/g) ?? []) {
      claims++;
      assert.equal(Number(match[1]), COMMON_SELECTORS.length, `${path}: "${match[0]}"`);
    }
  }
  assert.ok(claims >= 2, 'the README and docs/audit.md state the count');
});
