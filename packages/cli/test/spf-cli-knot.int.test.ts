import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseZone } from '@mailward/core';
import type { ServedZone } from '@mailward/testkit';
import { serveZone } from '@mailward/testkit';

// The built `mailward` binary, run as a user would, against a real Knot DNS server.
const run = promisify(execFile);
const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
let served: ServedZone;

before(async () => {
  const parsed = parseZone({
    'example.com': [{ TXT: 'v=spf1 mx ip6:2001:db8::/32 -all' }, { MX: [10, 'mx.example.com'] }],
    'mx.example.com': [{ A: '192.0.2.10' }],
    'helo.example.org': [{ TXT: 'v=spf1 a -all' }, { A: '198.51.100.5' }],
    'slow.example': ['TIMEOUT'],
  });
  assert.ok(parsed.ok);
  served = await serveZone(parsed.zone);
});

after(async () => {
  await served?.stop();
});

async function mailward(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [main, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('mailward spf --dns HOST:PORT --json against Knot', async () => {
  const dns = `${served.host}:${served.port}`;
  const out = await mailward(
    'spf',
    '--ip',
    '192.0.2.10',
    '--mail-from',
    'user@example.com',
    '--helo',
    'helo.example.org',
    '--json',
    '--dns',
    dns,
  );
  assert.equal(out.code, 0, out.stderr);
  const json = JSON.parse(out.stdout) as {
    result: string;
    lookups: number;
    voidLookups: number;
    trace: unknown[];
    helo: { result: string };
  };
  assert.equal(json.result, 'pass');
  assert.equal(json.lookups, 1);
  assert.equal(json.voidLookups, 0);
  assert.equal(json.trace.length, 3);
  assert.equal(json.helo.result, 'fail');
});

test('mailward spf reports temperror, exit 0, when the server never answers', async () => {
  const dns = `${served.host}:${served.port}`;
  const out = await mailward(
    'spf',
    '--ip',
    '192.0.2.10',
    '--mail-from',
    'user@slow.example',
    '--dns',
    dns,
    '--dns-timeout',
    '200',
  );
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /: temperror$/m);
  assert.match(out.stdout, /timeout/);
});
