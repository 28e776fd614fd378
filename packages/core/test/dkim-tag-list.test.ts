import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64String, parseTagList, removeFws, splitColonList } from '../src/dkim/tag-list.js';

function tagsOf(text: string, options = {}) {
  const parsed = parseTagList(text, options);
  assert.ok(parsed.ok, `expected ${JSON.stringify(text)} to parse: ${parsed.ok ? '' : parsed.error.message}`);
  return parsed.tags;
}

function errorOf(text: string, options = {}) {
  const parsed = parseTagList(text, options);
  assert.equal(parsed.ok, false, `expected a syntax error in ${JSON.stringify(text)}`);
  return (parsed as Extract<typeof parsed, { ok: false }>).error;
}

function valuesOf(text: string): Record<string, string> {
  return Object.fromEntries([...tagsOf(text)].map(([name, tag]) => [name, tag.value]));
}

function quickly<T>(run: () => T): T {
  const started = performance.now();
  const result = run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  return result;
}

test('parses tags with positions and value offsets', () => {
  const text = 'v=1; a=rsa-sha256;d=example.com';
  const tags = tagsOf(text);
  assert.deepEqual([...tags.keys()], ['v', 'a', 'd']);
  assert.deepEqual(tags.get('a'), { value: 'rsa-sha256', position: 5, valueStart: 7, valueEnd: 17 });
  for (const tag of tags.values()) assert.equal(text.slice(tag.valueStart, tag.valueEnd), tag.value);
});

test('FWS is allowed around tags, "=" and values; inner FWS is kept as written', () => {
  const text = ' a = 1 ;\r\n\tb\r\n =\r\n 2\r\n  3\t;  c\t=x y ';
  assert.deepEqual(valuesOf(text), { a: '1', b: '2\r\n  3', c: 'x y' });
  const b = tagsOf(text).get('b');
  assert.equal(b && text.slice(b.valueStart, b.valueEnd), '2\r\n  3');
  // Folding with a bare LF (messages stored with Unix line ends) counts as FWS too.
  assert.deepEqual(valuesOf('a=1;\n b=2'), { a: '1', b: '2' });
  // Consecutive folds are 1*(WSP / FWS).
  assert.deepEqual(valuesOf('a=1\r\n \r\n 2'), { a: '1\r\n \r\n 2' });
});

test('a trailing ";" (and whitespace after it) is fine; empty values are kept as ""', () => {
  assert.deepEqual(valuesOf('a=1;'), { a: '1' });
  assert.deepEqual(valuesOf('a=1; '), { a: '1' });
  assert.deepEqual(valuesOf('a=1;\r\n '), { a: '1' });
  assert.deepEqual(valuesOf('a=; b=2'), { a: '', b: '2' });
  assert.deepEqual(valuesOf('p='), { p: '' });
  assert.deepEqual(valuesOf('p= ;'), { p: '' });
});

test('tag names are case-sensitive and duplicates invalidate the list', () => {
  assert.deepEqual(valuesOf('a=1; A=2'), { a: '1', A: '2' });
  assert.deepEqual(valuesOf('x_1=a; Tag9_=b'), { x_1: 'a', Tag9_: 'b' });
  const text = 'a=1; b=2; a=3';
  const error = errorOf(text);
  assert.equal(error.position, text.lastIndexOf('a='));
  assert.match(error.message, /duplicate tag "a"/);
  assert.match(errorOf('a=1; a=1').message, /duplicate/);
});

test('value characters follow VALCHAR', () => {
  assert.deepEqual(valuesOf('z=!"#$%&\'()*+,-./09:<=>?@AZ[\\]^_`az{|}~'), {
    z: '!"#$%&\'()*+,-./09:<=>?@AZ[\\]^_`az{|}~',
  });
  const control = errorOf('a=b\x00c');
  assert.equal(control.position, 3);
  assert.match(control.message, /invalid character U\+0000 in the value of tag "a"/);
  assert.match(errorOf('a=b\x7fc').message, /U\+007F/);
  assert.match(errorOf('n=caf\xe9').message, /U\+00E9/);
  // Non-ASCII only when asked for (key records, §3.2 implementation note).
  assert.deepEqual(
    Object.fromEntries([...tagsOf('n=caf\xc3\xa9; p=', { allowNonAscii: true })].map(([k, v]) => [k, v.value])),
    { n: 'caf\xc3\xa9', p: '' },
  );
});

test('line breaks must be followed by whitespace', () => {
  const error = errorOf('a=1\r\nb=2');
  assert.equal(error.position, 3);
  assert.match(error.message, /line break not followed by whitespace/);
  assert.match(errorOf('a=1;\r\nb=2').message, /line break/);
  assert.match(errorOf('a=1\r\n').message, /line break/);
  assert.match(errorOf('a=1\r 2').message, /line break/);
  assert.match(errorOf('a\r\n=1').message, /line break/);
});

test('malformed tag-specs are errors with positions', () => {
  assert.deepEqual(errorOf(''), { position: 0, message: 'empty tag-list' });
  assert.deepEqual(errorOf(' \r\n '), { position: 4, message: 'empty tag-list' });
  assert.match(errorOf(';').message, /empty tag-spec/);
  const double = errorOf('a=1;;b=2');
  assert.equal(double.position, 4);
  assert.match(double.message, /empty tag-spec/);
  assert.match(errorOf('a=1; ; b=2').message, /empty tag-spec/);
  assert.match(errorOf('1a=2').message, /must start with a letter, found character "1"/);
  assert.match(errorOf('_a=2').message, /must start with a letter/);
  assert.match(errorOf('=2').message, /must start with a letter/);
  const dash = errorOf('a-b=1');
  assert.equal(dash.position, 1);
  assert.match(dash.message, /expected "=" after tag "a", found character "-"/);
  assert.match(errorOf('a').message, /tag "a" has no "="/);
  assert.match(errorOf('a=1; b').message, /tag "b" has no "="/);
  assert.match(errorOf('a b=1').message, /expected "="/);
  assert.match(errorOf('v=DKIM1; p').message, /no "="/);
});

test('messages about huge tags stay short', () => {
  const error = errorOf(`${'x'.repeat(100_000)}`);
  assert.ok(error.message.length < 200);
});

test('colon lists and FWS removal', () => {
  assert.deepEqual(splitColonList('from : To\r\n :subject'), ['from', 'To', 'subject']);
  assert.deepEqual(splitColonList('a::b:'), ['a', '', 'b', '']);
  assert.deepEqual(splitColonList(''), ['']);
  assert.equal(removeFws('ab\r\n cd \tef'), 'abcdef');
});

test('base64string decoding is strict', () => {
  const ok = (text: string) => {
    const decoded = decodeBase64String(text);
    assert.ok(decoded.ok, `${text}: ${decoded.ok ? '' : decoded.reason}`);
    return Buffer.from(decoded.bytes).toString('latin1');
  };
  const bad = (text: string) => {
    const decoded = decodeBase64String(text);
    assert.equal(decoded.ok, false, text);
    return (decoded as Extract<typeof decoded, { ok: false }>).reason;
  };
  assert.equal(ok('QUJD'), 'ABC');
  assert.equal(ok('QUI='), 'AB');
  assert.equal(ok('QQ=='), 'A');
  assert.equal(ok('QU\r\n JD\tRA =\r\n ='), 'ABCD');
  assert.equal(ok(''), '');
  assert.match(bad('QU*D'), /invalid character "\*" at offset 2/);
  assert.match(bad('QUJD-_'), /invalid character "-"/);
  assert.match(bad('QU\x00D'), /U\+0000/);
  assert.match(bad('QUI'), /not a multiple of 4/);
  assert.match(bad('QUJDR'), /not a multiple of 4/);
  assert.match(bad('QQ='), /not a multiple of 4/);
  assert.match(bad('Q==='), /at most 2/);
  assert.match(bad('QU=D'), /data after "="/);
  assert.match(bad('QQ==QUJD'), /data after "="/);
  const bytes = decodeBase64String('AAEC');
  assert.ok(bytes.ok);
  assert.equal(Object.getPrototypeOf(bytes.bytes), Uint8Array.prototype);
  assert.deepEqual([...bytes.bytes], [0, 1, 2]);
});

test('hostile input: 10,000 tags', () => {
  const text = Array.from({ length: 10_000 }, (_, i) => `t${i}=v${i}`).join('; ');
  const tags = quickly(() => tagsOf(text));
  assert.equal(tags.size, 10_000);
  assert.equal(tags.get('t9999')?.value, 'v9999');
  const duplicates = quickly(() => parseTagList(Array.from({ length: 10_000 }, () => 'a=1').join(';')));
  assert.equal(duplicates.ok, false);
});

test('hostile input: 1 MB values and separators end quickly', () => {
  const mb = 1 << 20;
  const long = quickly(() => tagsOf(`a=${'x'.repeat(mb)}; b=1`));
  assert.equal(long.get('a')?.value.length, mb);
  const spaced = quickly(() => tagsOf(`a=${'x \r\n '.repeat(mb / 5)}y`));
  assert.ok((spaced.get('a')?.value.length ?? 0) > mb / 2);
  assert.equal(quickly(() => parseTagList(';'.repeat(mb))).ok, false);
  assert.equal(quickly(() => parseTagList(' '.repeat(mb))).ok, false);
  assert.equal(quickly(() => parseTagList('\r\n '.repeat(mb / 3) + '\r\n')).ok, false);
  assert.equal(quickly(() => parseTagList(`a=${'x'.repeat(mb)}\x01`)).ok, false);
  assert.equal(quickly(() => parseTagList(`${'a'.repeat(mb)}=`)).ok, true);
  assert.equal(quickly(() => decodeBase64String('QUJD'.repeat(mb / 4))).ok, true);
  assert.equal(quickly(() => decodeBase64String(`${'QUJD'.repeat(mb / 4)}!`)).ok, false);
});
