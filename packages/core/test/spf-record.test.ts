import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecord } from '../src/index.js';

function errorOf(text: string) {
  const parsed = parseRecord(text);
  assert.equal(parsed.ok, false, `expected a syntax error in ${text}`);
  return (parsed as Extract<typeof parsed, { ok: false }>).error;
}

test('parses every mechanism and modifier', () => {
  const parsed = parseRecord(
    'v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24//64 mx/26 mx:%{d} ptr ptr:example.org ' +
      'ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.%{v}._spf.%{d2} redirect=_spf.example.net exp=exp.%{d} foo=bar',
  );
  assert.ok(parsed.ok);
  const kinds = parsed.record.directives.map((d) => `${d.qualifier}${d.mechanism.kind}`);
  assert.deepEqual(kinds, ['+all', '-include', '~a', '?a', '+mx', '+mx', '+ptr', '+ptr', '+ip4', '+ip6', '+exists']);
  const a = parsed.record.directives[3]?.mechanism;
  assert.ok(a && a.kind === 'a' && a.prefix4 === 24 && a.prefix6 === 64 && a.domain?.text === 'mail.example.com');
  assert.equal(parsed.record.redirect?.text, '_spf.example.net');
  assert.equal(parsed.record.exp?.text, 'exp.%{d}');
  assert.deepEqual(
    parsed.record.unknownModifiers.map((m) => m.name),
    ['foo'],
  );
});

test('syntax errors carry the position of the offending term', () => {
  const text = 'v=spf1 ip4:192.0.2.1 foo:bar -all';
  const error = errorOf(text);
  assert.equal(error.position, text.indexOf('foo'));
  assert.match(error.message, /unknown mechanism "foo"/);
  assert.equal(errorOf('v=spf1 ip4:192.0.2.300 -all').position, 'v=spf1 ip4:'.length);
  assert.match(errorOf('v=spf1 a/33').message, /IPv4 prefix/);
  assert.match(errorOf('v=spf1 ip4:192.0.2.0/024').message, /prefix length/);
  assert.match(errorOf('v=spf1 a:%{x}.example.com').message, /unknown macro letter/);
  assert.match(errorOf('v=spf1 a:%{c}.example.com').message, /only in exp=/);
  assert.match(errorOf('v=spf1 a:example').message, /not a valid domain/);
  assert.match(errorOf('v=spf1 a:example.123').message, /not a valid domain/);
  assert.match(errorOf('v=spf1 redirect=a.example redirect=b.example').message, /more than once/);
  assert.match(errorOf('v=spf1 include').message, /requires ":"/);
  assert.match(errorOf('v=spf1 all:foo').message, /no arguments/);
});

test('non-ASCII and control characters are rejected with their code point and position', () => {
  const error = errorOf('v=spf1 a:example.net \u0096all');
  assert.equal(error.position, 'v=spf1 a:example.net '.length);
  assert.match(error.message, /U\+0096/);
  assert.match(errorOf('v=spf1 a:ctrl.example.com\rptr -all').message, /control character U\+000D/);
});

test('a 1 MB record parses in linear time and errors stay short', () => {
  const terms = Array.from({ length: 60_000 }, (_, i) => `ip4:10.${(i >> 8) & 255}.${i & 255}.0/24`);
  const big = `v=spf1 ${terms.join(' ')} -all`;
  assert.ok(big.length > 1_000_000);
  const started = performance.now();
  const parsed = parseRecord(big);
  assert.ok(parsed.ok);
  assert.equal(parsed.record.directives.length, 60_001);
  const broken = parseRecord(`${big} ${'x'.repeat(100_000)}`);
  assert.ok(!broken.ok && broken.error.term.length < 100);
  assert.ok(performance.now() - started < 5_000);
});

test('every syntax error in a record is reported, each with its position', () => {
  const text = 'v=spf1 ip4:192.0.2.300 a:ok.example mx/99 include exp=a.example exp=b.example \u00e9 -all';
  const parsed = parseRecord(text);
  assert.ok(!parsed.ok);
  assert.deepEqual(
    parsed.errors.map((e) => [e.position, e.term]),
    [
      [text.indexOf('192.0.2.300'), 'ip4:192.0.2.300'],
      [text.indexOf('/99'), 'mx/99'],
      [text.indexOf('include') + 'include'.length, 'include'],
      [text.indexOf('exp=b'), 'exp=b.example'],
      [text.indexOf('\u00e9'), '\u00e9'],
    ],
  );
  assert.equal(parsed.error, parsed.errors[0]);
});

test('text after the last macro must still end in "." toplabel (RFC 7208 §12 domain-end)', () => {
  assert.match(errorOf('v=spf1 a:%{d}foo -all').message, /not a valid domain/);
  assert.ok(parseRecord('v=spf1 a:%{d}.foo -all').ok);
  assert.ok(parseRecord('v=spf1 a:foo.%{d} -all').ok);
  assert.ok(parseRecord('v=spf1 exists:%{i}._spf.%{d}. -all').ok);
});
