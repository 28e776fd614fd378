import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthenticationResults } from '../src/index.js';
import {
  formatAuthenticationResults,
  formatAuthenticationResultsField,
  parseAuthenticationResults,
} from '../src/index.js';

function parsed(text: string): AuthenticationResults {
  const result = parseAuthenticationResults(text);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.value;
}

test('RFC 8601 Appendix B examples parse', () => {
  assert.deepEqual(parsed(' example.org 1; none'), { authservId: 'example.org', version: 1, results: [] });
  assert.deepEqual(parsed(' example.com;\r\n          spf=pass smtp.mailfrom=example.net'), {
    authservId: 'example.com',
    results: [
      { method: 'spf', result: 'pass', properties: [{ ptype: 'smtp', property: 'mailfrom', value: 'example.net' }] },
    ],
  });
  const three = parsed(
    ' example.com;\r\n    auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n    spf=pass smtp.mailfrom=example.net',
  );
  assert.equal(three.results.length, 2);
  assert.equal(three.results[0]?.comment, 'cram-md5');
  assert.deepEqual(three.results[0]?.properties, [{ ptype: 'smtp', property: 'auth', value: 'sender@example.net' }]);
  const reasons = parsed(
    ' example.com;\r\n  dkim=pass reason="good signature"\r\n    header.i=@mail-router.example.net;\r\n  dkim=fail reason="bad signature"\r\n    header.i=@newyork.example.com',
  );
  assert.deepEqual(
    reasons.results.map((r) => [r.result, r.reason, r.properties[0]?.value]),
    [
      ['pass', 'good signature', '@mail-router.example.net'],
      ['fail', 'bad signature', '@newyork.example.com'],
    ],
  );
});

test('the comment-heavy example (RFC 8601 Appendix B.7) parses', () => {
  const value = parsed(
    ' foo.example.net (foobar) 1 (baz);\r\n    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n' +
      "      policy (A dot can go here) . (like that) expired\r\n      (this surprised me) = (as I wasn't expecting it) 1362471462",
  );
  assert.deepEqual(value, {
    authservId: 'foo.example.net',
    version: 1,
    results: [
      {
        method: 'dkim',
        methodVersion: 1,
        result: 'fail',
        properties: [{ ptype: 'policy', property: 'expired', value: '1362471462' }],
      },
    ],
  });
});

test('format then parse returns the same value (round trip), values quoted where needed', () => {
  const value: AuthenticationResults = {
    authservId: 'mx.example.org',
    results: [
      {
        method: 'dkim',
        result: 'pass',
        reason: 'signature by example.com (s=sel) verified; "quoted" \\ text',
        properties: [
          { ptype: 'header', property: 'd', value: 'example.com' },
          { ptype: 'header', property: 's', value: 'sel' },
          { ptype: 'header', property: 'b', value: 'AbCd+/12' },
          { ptype: 'header', property: 'i', value: '@example.com' },
        ],
      },
      {
        method: 'spf',
        result: 'fail',
        properties: [{ ptype: 'smtp', property: 'mailfrom', value: 'joe@example.com' }],
      },
      {
        method: 'spf',
        result: 'none',
        properties: [{ ptype: 'smtp', property: 'helo', value: 'a name; with "oddities"' }],
      },
      {
        method: 'dmarc',
        result: 'fail',
        comment: 'p=reject dis=quarantine',
        properties: [{ ptype: 'header', property: 'from', value: 'example.com' }],
      },
    ],
  };
  const text = formatAuthenticationResults(value);
  assert.deepEqual(parsed(text), value);
  for (const line of text.split('\r\n')) assert.ok(line.length <= 78, line);
  assert.deepEqual(parsed(formatAuthenticationResults({ authservId: 'a.example', results: [] })), {
    authservId: 'a.example',
    results: [],
  });
  assert.match(
    formatAuthenticationResultsField({ authservId: 'a.example', results: [] }),
    /^Authentication-Results: a\.example; none\r\n$/,
  );
});

test('hostile values cannot break out of the field', () => {
  const text = formatAuthenticationResults({
    authservId: 'mx.example',
    results: [{ method: 'dkim', result: 'fail', reason: 'evil\r\nX-Injected: yes', properties: [] }],
  });
  assert.doesNotMatch(text, /\r\nX-Injected/);
  assert.equal(parsed(text).results[0]?.reason, 'evil X-Injected: yes');
});

test('syntax errors give a position and do not throw', () => {
  const cases: [string, RegExp][] = [
    ['', /expected authserv-id/],
    [' example.com', /expected ";"/],
    [' example.com; dkim', /expected "="/],
    [' example.com; dkim=pass header.d', /expected "\."|expected "="/],
    [' example.com; dkim=pass (unterminated', /unterminated comment/],
    [' example.com; dkim=pass reason="open', /unterminated quoted string/],
    [' example.com; =pass', /expected method/],
  ];
  for (const [text, reason] of cases) {
    const result = parseAuthenticationResults(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) {
      assert.match(result.reason, reason, text);
      assert.ok(result.position >= 0 && result.position <= text.length);
    }
  }
  // A long hostile value parses in linear time.
  const long = ' example.com; dkim=pass ' + 'header.d=x '.repeat(100_000);
  const started = performance.now();
  assert.equal(parsed(long).results[0]?.properties.length, 100_000);
  assert.ok(performance.now() - started < 3_000);
});
