import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryResolver, parseZone } from '../src/index.js';

function zoneOf(input: unknown) {
  const parsed = parseZone(input);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  return parsed.zone;
}

test('answers, NODATA and NXDOMAIN are told apart', async () => {
  const resolver = new MemoryResolver(zoneOf({ 'example.com': [{ TXT: 'v=spf1 -all' }, { A: '192.0.2.1' }] }));
  const txt = await resolver.lookup('Example.COM.', 'TXT');
  assert.equal(txt.kind, 'answer');
  assert.deepEqual(txt.kind === 'answer' && txt.records[0]?.text, 'v=spf1 -all');
  assert.equal((await resolver.lookup('example.com', 'MX')).kind, 'nodata');
  assert.equal((await resolver.lookup('nope.example.com', 'A')).kind, 'nxdomain');
});

test('TIMEOUT applies to types not listed before it', async () => {
  const resolver = new MemoryResolver(zoneOf({ 'x.example': [{ TXT: 'v=spf1 -all' }, 'TIMEOUT'] }));
  assert.equal((await resolver.lookup('x.example', 'TXT')).kind, 'answer');
  assert.equal((await resolver.lookup('x.example', 'A')).kind, 'timeout');
});

test('zone errors name the place', () => {
  const parsed = parseZone({ 'ok.example': [{ MX: 'nope' }], 'bad..example': [] });
  assert.equal(parsed.ok, false);
  assert.ok(!parsed.ok && parsed.errors.some((e) => e.includes('ok.example[0]') && e.includes('MX')));
  assert.ok(!parsed.ok && parsed.errors.some((e) => e.includes('bad..example')));
});
