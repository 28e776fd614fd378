import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MacroContext } from '../src/index.js';
import { expandMacroString, parseMacroString } from '../src/index.js';

function context(overrides: Partial<MacroContext> = {}): MacroContext {
  return {
    sender: 'strong-bad@email.example.com',
    localPart: 'strong-bad',
    senderDomain: 'email.example.com',
    domain: 'email.example.com',
    ipForMacro: '192.0.2.3',
    ipText: '192.0.2.3',
    ipVersion: 4,
    helo: 'mx.example.org',
    receiver: 'receiver.example',
    timestamp: 1_700_000_000_000,
    validatedName: () => Promise.resolve('mx.example.com'),
    ...overrides,
  };
}

async function expand(text: string, ctx = context(), explanation = false): Promise<string> {
  const parsed = parseMacroString(text, { explanation });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  return expandMacroString(parsed.value, ctx);
}

// RFC 7208 §7.4 examples.
const RFC_EXAMPLES: Array<[string, string]> = [
  ['%{s}', 'strong-bad@email.example.com'],
  ['%{o}', 'email.example.com'],
  ['%{d}', 'email.example.com'],
  ['%{d4}', 'email.example.com'],
  ['%{d3}', 'email.example.com'],
  ['%{d2}', 'example.com'],
  ['%{d1}', 'com'],
  ['%{dr}', 'com.example.email'],
  ['%{d2r}', 'example.email'],
  ['%{l}', 'strong-bad'],
  ['%{l-}', 'strong.bad'],
  ['%{lr}', 'strong-bad'],
  ['%{lr-}', 'bad.strong'],
  ['%{l1r-}', 'strong'],
  ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com'],
  ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com'],
  ['%{lr-}.lp.%{ir}.%{v}._spf.%{d2}', 'bad.strong.lp.3.2.0.192.in-addr._spf.example.com'],
  ['%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}', '3.2.0.192.in-addr.strong.lp._spf.example.com'],
  ['%{d2}.trusted-domains.example.net', 'example.com.trusted-domains.example.net'],
];

for (const [macro, expected] of RFC_EXAMPLES) {
  test(`RFC 7208 §7.4: ${macro}`, async () => {
    assert.equal(await expand(macro), expected);
  });
}

test('RFC 7208 §7.4: IPv6 %{ir}.%{v} (nibbles compared case-insensitively)', async () => {
  const ip6 = context({
    ipForMacro: '2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1',
    ipText: '2001:db8::cb01',
    ipVersion: 6,
  });
  const out = await expand('%{ir}.%{v}._spf.%{d2}', ip6);
  assert.equal(
    out.toLowerCase(),
    '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com',
  );
});

test('escapes, upper-case URL escaping, p, and the exp-only letters', async () => {
  assert.equal(await expand('a%%b%_c%-d'), 'a%b c%20d');
  assert.equal(await expand('%{S}', context({ sender: 'a b/c@x.example' })), 'a%20b%2Fc%40x.example');
  assert.equal(await expand('%{p}'), 'mx.example.com');
  assert.equal(await expand('%{c} %{r} %{t}', context(), true), '192.0.2.3 receiver.example 1700000000');
  assert.equal(await expand('%{d999r}'), 'com.example.email');
  assert.equal(await expand('%{l+=}', context({ localPart: 'a+b=c' })), 'a.b.c');
});

test('macro syntax errors name the offset', () => {
  const cases: Array<[string, RegExp, number]> = [
    ['abc%{d', /never closed/, 3],
    ['%{d0}', /at least one/, 0],
    ['x%y', /must be followed/, 1],
    ['%{q}', /unknown macro letter/, 0],
    ['%{d2x}', /not a macro delimiter/, 4],
    ['a b', /not allowed/, 1],
  ];
  for (const [text, message, offset] of cases) {
    const parsed = parseMacroString(text, { explanation: false });
    assert.ok(!parsed.ok, text);
    assert.match(parsed.error.message, message, text);
    assert.equal(parsed.error.offset, offset, text);
  }
});

test('transformer digits with leading zeros count as their value', async () => {
  assert.equal(await expand('%{d0001}'), 'com');
  assert.equal(await expand('%{d00000000000000000000002}'), 'example.com');
  assert.equal(await expand('%{d99999999999999999999999}'), 'email.example.com');
});
