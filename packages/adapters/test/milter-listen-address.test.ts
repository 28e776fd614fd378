import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatListenAddress, parseListenAddress } from '../src/index.js';

test('milter addresses: Postfix inet:HOST:PORT and unix:PATH, Sendmail inet:PORT@HOST, bracketed IPv6', () => {
  assert.deepEqual(parseListenAddress('inet:127.0.0.1:8891'), {
    ok: true,
    address: { kind: 'inet', host: '127.0.0.1', port: 8891 },
  });
  assert.deepEqual(parseListenAddress('inet:8891@localhost'), {
    ok: true,
    address: { kind: 'inet', host: 'localhost', port: 8891 },
  });
  assert.deepEqual(parseListenAddress('inet:[::1]:25'), { ok: true, address: { kind: 'inet', host: '::1', port: 25 } });
  assert.deepEqual(parseListenAddress('unix:/run/mailward/milter.sock'), {
    ok: true,
    address: { kind: 'unix', path: '/run/mailward/milter.sock' },
  });
  assert.equal(formatListenAddress({ kind: 'inet', host: '::1', port: 25 }), 'inet:[::1]:25');
  for (const [text, error] of [
    ['tcp:1.2.3.4:5', /unknown transport/],
    ['inet:host', /no port/],
    ['inet:host:99999', /not 0-65535/],
    ['unix:', /no socket path/],
  ] as const) {
    const result = parseListenAddress(text);
    assert.equal(result.ok, false);
    assert.match((result as { error: string }).error, error);
    assert.match((result as { error: string }).error, /use inet:HOST:PORT or unix:PATH/);
  }
});
