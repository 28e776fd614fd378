import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { authorDomains, splitMessage } from '../src/index.js';

function authors(headerBlock: string) {
  const split = splitMessage(Buffer.from(`${headerBlock}\r\n\r\nbody\r\n`, 'latin1'));
  assert.ok(split.ok);
  return authorDomains(split.headers);
}

test('RFC 9989 §5.3.1: the From domain, lower case, whatever the display name and comments', () => {
  assert.deepEqual(authors('From: "Joe, Q. Public" <Joe@Example.COM>'), {
    kind: 'single',
    domain: 'example.com',
    addresses: ['Joe@Example.COM'],
  });
  assert.deepEqual(authors('From: joe@example.com (Joe)'), {
    kind: 'single',
    domain: 'example.com',
    addresses: ['joe@example.com'],
  });
  assert.equal(authors('From: Joe\r\n <joe@example.com>').kind, 'single', 'folded');
  const same = authors('From: a@example.com, b@example.com');
  assert.deepEqual(same.kind === 'single' && same.addresses, ['a@example.com', 'b@example.com']);
});

test('§5.3.1: several domains in one From are reported as multiple (exempt by default)', () => {
  assert.deepEqual(authors('From: a@example.com, Team: b@example.net, c@example.org;'), {
    kind: 'multiple',
    domains: ['example.com', 'example.net', 'example.org'],
    addresses: ['a@example.com', 'b@example.net', 'c@example.org'],
  });
});

test('UTF-8 domains become A-labels (RFC 5890 §2.3)', () => {
  const field = Buffer.from('From: Jö <jo@bücher.example>', 'utf8').toString('latin1');
  assert.deepEqual(authors(field), {
    kind: 'single',
    domain: 'xn--bcher-kva.example',
    addresses: ['jo@bücher.example'],
  });
});

test('no From, two From fields, garbage and empty groups are invalid with a reason', () => {
  const cases: [string, RegExp][] = [
    ['To: a@example.com', /no From field/],
    ['From: a@example.com\r\nFrom: b@example.org', /2 From fields/],
    ['From: not an address', /not a valid RFC 5322 address list/],
    ['From: undisclosed:;', /no address/],
  ];
  for (const [block, reason] of cases) {
    const result = authors(block);
    assert.equal(result.kind, 'invalid', block);
    assert.match(result.kind === 'invalid' ? result.reason : '', reason);
  }
});

test('a From with 1,000 addresses is answered in bounded time from the first 100', () => {
  const list = Array.from({ length: 1000 }, (_, i) => `user${i}@d${i % 7}.example`).join(', ');
  const started = performance.now();
  const result = authors(`From: ${list}`);
  assert.ok(performance.now() - started < 2_000);
  assert.equal(result.kind, 'multiple');
  assert.equal(result.kind === 'multiple' && result.addresses.length, 100);
  assert.equal(result.kind === 'multiple' && result.domains.length, 7);
});
