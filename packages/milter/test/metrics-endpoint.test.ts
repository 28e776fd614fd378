// The metrics endpoint on a real loopback HTTP server: the right bearer token gets the metrics,
// a wrong or missing one 401 with WWW-Authenticate: Bearer, other paths 404, and nothing the
// client sent comes back. The token made by the documented commands (a file with a newline,
// hashed without it) matches what Prometheus sends (the file trimmed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { bearerTokenMatches, serveMetrics, startMetricsEndpoint, type MetricsEndpoint } from '@mailward/milter';

const TOKEN = 'c2b1f0e4a9d8765432100123456789abcdef0123456789abcdef0123456789ab';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const registry = new Registry();
new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
let endpoint: MetricsEndpoint;

before(async () => {
  endpoint = await startMetricsEndpoint(registry, { host: '127.0.0.1', port: 0, tokenSha256: sha256(TOKEN) });
});
after(async () => endpoint.close());

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`http://${endpoint.address}${path}`, { headers });

test('the right token gets the metrics', async () => {
  const response = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(await response.text(), /^test_things_total 3$/m);
  // RFC 7235 §2.1: the scheme is case-insensitive.
  assert.equal((await get('/metrics?x=1', { authorization: `bearer ${TOKEN}` })).status, 200);
});

test('a wrong or missing token is 401 with WWW-Authenticate: Bearer, and echoes nothing', async () => {
  for (const headers of <Record<string, string>[]>[
    {},
    { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
    { authorization: `Bearer ${TOKEN}x` },
    { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` },
    { authorization: 'Bearer' },
    { authorization: `Bearer ${sha256(TOKEN)}` },
  ]) {
    const response = await get('/metrics', headers);
    assert.equal(response.status, 401, JSON.stringify(headers));
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer /);
    const body = await response.text();
    assert.doesNotMatch(body, /test_things_total/);
    assert.ok(!body.includes(TOKEN.slice(0, 16)));
  }
});

test('other paths and methods are 404, with or without the token', async () => {
  assert.equal((await get('/')).status, 404);
  const other = await get('/metrics/../secret', { authorization: `Bearer ${TOKEN}` });
  assert.equal(other.status, 404);
  assert.ok(!(await other.text()).includes('secret'));
  const post = await fetch(`http://${endpoint.address}/metrics`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(post.status, 404);
});

test('the documented commands: a token file with a newline, hashed without it, matches the trimmed token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-token-'));
  try {
    const file = join(dir, 'metrics.token');
    execFileSync('sh', ['-c', `openssl rand -hex 32 > ${file}`]);
    const content = readFileSync(file, 'utf8');
    assert.match(content, /^[0-9a-f]{64}\n$/);
    const documented = execFileSync('sh', ['-c', `tr -d ' \\t\\r\\n' < ${file} | sha256sum`], { encoding: 'utf8' });
    const hash = documented.split(' ')[0] as string;
    // What Prometheus sends: the credentials file trimmed (strings.TrimSpace).
    assert.ok(bearerTokenMatches(`Bearer ${content.trim()}`, Buffer.from(hash, 'hex')));
    // `sha256sum FILE` hashes the newline too: that hash would never match.
    const naive = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0] as string;
    assert.notEqual(naive, hash);
    assert.ok(!bearerTokenMatches(`Bearer ${content.trim()}`, Buffer.from(naive, 'hex')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serveMetrics: off without metrics; metrics without a good hash is refused with one line', async () => {
  assert.deepEqual(await serveMetrics(registry, {}), { ok: true });
  const missing = await serveMetrics(registry, { metrics: '127.0.0.1:0' });
  assert.equal(missing.ok, false);
  assert.match(missing.ok ? '' : missing.reason, /^metrics on 127\.0\.0\.1:0 need a token hash .*openssl rand -hex 32/);
  const bad = await serveMetrics(registry, { metrics: '127.0.0.1:0', metricsTokenSha256: 'abc' });
  assert.match(bad.ok ? '' : bad.reason, /^metrics token hash: "abc" is not a SHA-256 in hex/);
  const taken = await serveMetrics(registry, { metrics: endpoint.address, metricsTokenSha256: sha256(TOKEN) });
  assert.match(taken.ok ? '' : taken.reason, /already in use/);
});
