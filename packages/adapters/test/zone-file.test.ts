import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseZone } from '@mailward/core';
import type { Zone } from '@mailward/core';
import { absoluteName, characterStrings, planZones, renderRecord, renderZone } from '@mailward/testkit';

function zoneOf(input: unknown): Zone {
  const parsed = parseZone(input);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.zone;
}

describe('zone file rendering', () => {
  it('escapes quotes and backslashes, and every byte outside printable ASCII as \\DDD', () => {
    assert.equal(characterStrings(['say "hi" \\ ok; (x)']), '"say \\"hi\\" \\\\ ok; (x)"');
    assert.equal(characterStrings(['caf\u00e9\t\u0000\u007f']), '"caf\\233\\009\\000\\127"');
  });

  it('writes characters above U+00FF as their UTF-8 bytes', () => {
    assert.equal(characterStrings(['\u20ac']), '"\\226\\130\\172"');
  });

  it('splits strings longer than 255 bytes and keeps the given strings apart', () => {
    const rendered = characterStrings(['a'.repeat(600), 'b']);
    assert.equal(rendered, `"${'a'.repeat(255)}" "${'a'.repeat(255)}" "${'a'.repeat(90)}" "b"`);
    assert.equal(characterStrings([]), '""');
    assert.equal(characterStrings(['', 'x']), '"" "x"');
  });

  it('writes absolute names, escaping unusual bytes but keeping wildcards', () => {
    assert.equal(absoluteName('Example.COM'), 'example.com.');
    assert.equal(absoluteName('.'), '.');
    assert.equal(absoluteName('*.x_y.example.'), '*.x_y.example.');
    assert.equal(absoluteName('a b@c.example'), 'a\\032b\\064c.example.');
  });

  it('renders records of every type core models', () => {
    assert.equal(
      renderRecord('mx.example', { type: 'MX', ttl: 60, data: { preference: 10, exchange: 'm.example' } }),
      'mx.example. 60 IN MX 10 m.example.',
    );
    assert.equal(
      renderRecord('t.example', {
        type: 'TLSA',
        ttl: 1,
        data: { usage: 3, selector: 1, matchingType: 1, certificate: new Uint8Array([0xab, 0x01]) },
      }),
      't.example. 1 IN TLSA 3 1 1 ab01',
    );
    assert.equal(
      renderRecord('k.example', {
        type: 'DNSKEY',
        ttl: 1,
        data: { flags: 257, protocol: 3, algorithm: 13, key: new Uint8Array([1, 2, 3]) },
      }),
      'k.example. 1 IN DNSKEY 257 3 13 AQID',
    );
  });

  it('adds SOA and NS at the apex and refuses names outside the origin', () => {
    const zone = zoneOf({ 'www.example.com': [{ A: '192.0.2.1', ttl: 5 }] });
    const text = renderZone(zone, { origin: 'example.com', negativeTtl: 42 });
    assert.match(text, /^example\.com\. 3600 IN SOA ns\.invalid\. hostmaster\.invalid\. 1 3600 600 86400 42$/m);
    assert.match(text, /^example\.com\. 3600 IN NS ns\.invalid\.$/m);
    assert.match(text, /^www\.example\.com\. 5 IN A 192\.0\.2\.1$/m);
    assert.throws(() => renderZone(zone, { origin: 'example.org' }), /not inside the zone/);
    // Owner names are escaped exactly once (regression: `\058` became `\092058`).
    const odd = renderZone(zoneOf({ 'foo:bar/baz.example.com': [{ A: '192.0.2.1' }] }), { origin: '.' });
    assert.match(odd, /^foo\\058bar\\047baz\.example\.com\. 3600 IN A 192\.0\.2\.1$/m);
  });
});

describe('serving a fixture from Knot: the plan', () => {
  it('puts names in the root zone, SERVFAIL names in broken zones, other markers behind the proxy', () => {
    const plan = planZones(
      zoneOf({
        'ok.example': [{ TXT: 'x' }],
        'fail.example': ['SERVFAIL'],
        'slow.example': ['TIMEOUT'],
        'sub.slow.example': [{ A: '192.0.2.1' }],
        'partial.example': [{ TXT: 'x' }, 'SERVFAIL'],
        'parent.example': ['SERVFAIL'],
        'child.parent.example': [{ A: '192.0.2.2' }],
        'alias.example': [{ CNAME: 'ok.example' }, 'TIMEOUT'],
      }),
    );
    const origins = plan.zones.map((zone) => `${zone.origin}${'broken' in zone ? ' (broken)' : ''}`);
    assert.deepEqual(origins.sort(), [
      '.',
      'fail.example (broken)',
      'parent.example',
      'partial.example',
      'slow.example',
    ]);
    assert.deepEqual(plan.rules.map((rule) => `${rule.name} ${rule.kind} ${[...rule.exceptTypes].join(',')}`).sort(), [
      'alias.example timeout CNAME',
      'parent.example servfail ',
      'partial.example servfail TXT',
      'slow.example timeout ',
    ]);
    const slow = plan.zones.find((zone) => zone.origin === 'slow.example');
    assert.ok(slow && 'text' in slow && slow.text.includes('sub.slow.example. 3600 IN A 192.0.2.1'));
  });
});
