// mailward.yaml: `metrics` needs `metricsTokenSha256` next to it (reported at metrics' line), and
// the hash must be 64 hex digits; with both, the services get them (the hash in lower case).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfigError, parseConfig } from '@mailward/milter';

const HASH = 'A'.repeat(64);

function errorsOf(text: string): string[] {
  const parsed = parseConfig(text, 'mailward.yaml', { hostname: 'mx.test' });
  assert.equal(parsed.ok, false, 'expected errors');
  return parsed.ok ? [] : parsed.errors.map(formatConfigError);
}

test('metrics without metricsTokenSha256 is an error at the metrics line, in each section', () => {
  for (const section of ['milter', 'policy', 'exim']) {
    const [error, ...rest] = errorsOf(`${section}:\n  listen: inet:127.0.0.1:1\n  metrics: 127.0.0.1:9108\n`);
    assert.deepEqual(rest, []);
    assert.match(
      error ?? '',
      new RegExp(
        `^mailward\\.yaml:3:12: ${section}\\.metrics: needs ${section}\\.metricsTokenSha256 next to it \\(every scrape must send the token\\): make a token with .openssl rand -hex 32 > /etc/mailward/metrics\\.token. .*sha256sum`,
      ),
    );
  }
});

test('a token hash that is not 64 hex digits is reported at its value', () => {
  assert.deepEqual(errorsOf(`policy:\n  metrics: 127.0.0.1:9108\n  metricsTokenSha256: abc123\n`), [
    'mailward.yaml:3:23: policy.metricsTokenSha256: "abc123" is not a SHA-256 in hex (64 hex digits, as sha256sum prints it)',
  ]);
  assert.deepEqual(errorsOf(`exim:\n  metrics: 127.0.0.1:9108\n  metricsTokenSha256: '${'g'.repeat(64)}'\n`), [
    `mailward.yaml:3:23: exim.metricsTokenSha256: "${'g'.repeat(64)}" is not a SHA-256 in hex (64 hex digits, as sha256sum prints it)`,
  ]);
});

test('with both, the settings carry the address and the hash in lower case', () => {
  const parsed = parseConfig(`milter:\n  metrics: 127.0.0.1:9108\n  metricsTokenSha256: '${HASH}'\n`, 'mailward.yaml', {
    hostname: 'mx.test',
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.map(formatConfigError).join('\n'));
  assert.equal(parsed.config.milter?.metrics, '127.0.0.1:9108');
  assert.equal(parsed.config.milter?.metricsTokenSha256, 'a'.repeat(64));
});
