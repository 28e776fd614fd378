import { test } from 'node:test';
import assert from 'node:assert/strict';
import { organizationalDomain, sameOrganizationalDomain } from '../src/index.js';
import { readTestdata } from './support/dkim-testdata.js';

/** The PSL project's own cases (tests/tests.txt): "checkPublicSuffix(input, expected)" lines as
 * "input expected", with "null" for none. Commented-out cases stay out. */
function suite(): [string | null, string | null][] {
  const text = Buffer.from(readTestdata('publicsuffix', 'tests', 'tests.txt'), 'latin1').toString('utf8');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('//'))
    .map((line) => {
      const [input, expected] = line.split(/\s+/);
      const value = (word: string | undefined): string | null => (word === undefined || word === 'null' ? null : word);
      return [value(input), value(expected)];
    });
}

test('public suffix list test cases (publicsuffix/tests/tests.txt): 78/78', () => {
  const cases = suite();
  assert.equal(cases.length, 78);
  let passed = 0;
  const failures: string[] = [];
  for (const [input, expected] of cases) {
    const actual = input === null ? undefined : organizationalDomain(input);
    if ((actual ?? null) === expected) passed++;
    else failures.push(`${input} → ${actual} (expected ${expected})`);
  }
  console.log(`# public suffix list cases: ${passed}/${cases.length}`);
  assert.deepEqual(failures, []);
});

test('alignment helper and odd names', () => {
  assert.equal(sameOrganizationalDomain('mail.example.com', 'EXAMPLE.com.'), true);
  assert.equal(sameOrganizationalDomain('a.example.co.uk', 'b.example.co.uk'), true);
  assert.equal(sameOrganizationalDomain('a.github.io', 'b.github.io'), false);
  assert.equal(sameOrganizationalDomain('com', 'com'), false);
  for (const bad of ['', '.', 'a..b', '.example.com']) assert.equal(organizationalDomain(bad), undefined, bad);
  const deep = Array.from({ length: 127 }, () => 'a').join('.') + '.example.com';
  assert.equal(organizationalDomain(deep), 'example.com');
});

test('the ICANN section alone joins customers of a private-section registry into one organization', () => {
  assert.equal(organizationalDomain('a.github.io'), 'a.github.io');
  assert.equal(organizationalDomain('a.github.io', { privateDomains: false }), 'github.io');
  assert.equal(organizationalDomain('mail.example.co.uk', { privateDomains: false }), 'example.co.uk');
});
