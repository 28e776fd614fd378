/**
 * The built `mailward` binary, run as a user would, through a key rotation: keygen, publish the
 * printed record in a real Knot server, key-check, sign from stdin, verify over DNS; then the old
 * selector is revoked and its signatures stop verifying.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseZone } from '@mailward/core';
import type { ServedZone } from '@mailward/testkit';
import { serveZone } from '@mailward/testkit';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const MESSAGE = 'From: a@example.com\r\nTo: b@example.net\r\nSubject: rotation\r\n\r\nHello.\r\n';

interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function mailward(args: readonly string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { timeout: 30_000 });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(stdin);
  });
}

let dir: string;
let served: ServedZone;
let dns: string;
const keys: Record<string, { file: string; strings: string[] }> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailward-dkim-knot-'));
  for (const [selector, type] of [
    ['old', 'rsa'],
    ['new', 'ed25519'],
  ] as const) {
    const file = join(dir, `${selector}.pem`);
    const out = await mailward([
      'keygen',
      '--domain',
      'example.com',
      '--selector',
      selector,
      '--type',
      type,
      '--out',
      file,
      '--json',
    ]);
    assert.equal(out.code, 0, out.stderr);
    const json = JSON.parse(out.stdout.toString()) as { record: { strings: string[] } };
    keys[selector] = { file, strings: json.record.strings };
  }
  const parsed = parseZone({
    'old._domainkey.example.com': [{ TXT: keys['old']?.strings ?? [] }],
    'new._domainkey.example.com': [{ TXT: keys['new']?.strings ?? [] }],
    // The old selector after its retirement: the key revoked with an empty p=.
    'old._domainkey.retired.example': [{ TXT: 'v=DKIM1; k=rsa; p=' }],
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  served = await serveZone(parsed.zone);
  dns = `${served.host}:${served.port}`;
});

after(async () => {
  await served?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

test('key-check finds each published key in Knot and matches it; a wrong key is a mismatch', async () => {
  for (const selector of ['old', 'new']) {
    const out = await mailward([
      'dkim',
      'key-check',
      '--domain',
      'example.com',
      '--selector',
      selector,
      '--key',
      keys[selector]?.file ?? '',
      '--dns',
      dns,
    ]);
    assert.equal(out.code, 0, out.stdout.toString() + out.stderr);
    assert.match(out.stdout.toString(), /^OK: /);
  }
  const wrong = await mailward([
    'dkim',
    'key-check',
    '--domain',
    'example.com',
    '--selector',
    'new',
    '--key',
    keys['old']?.file ?? '',
    '--dns',
    dns,
  ]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout.toString(), /MISMATCH: .*k=ed25519/);
});

test('sign from stdin with both selectors, verify over DNS from Knot', async () => {
  const signed = await mailward(
    [
      'dkim',
      'sign',
      '--sign',
      `example.com:old:${keys['old']?.file}`,
      '--sign',
      `example.com:new:${keys['new']?.file}`,
    ],
    MESSAGE,
  );
  assert.equal(signed.code, 0, signed.stderr);
  const file = join(dir, 'signed.eml');
  await writeFile(file, signed.stdout);
  const verified = await mailward(['dkim', 'verify', file, '--json', '--dns', dns]);
  assert.equal(verified.code, 0, verified.stderr);
  const json = JSON.parse(verified.stdout.toString()) as { signatures: { result: string; selector: string }[] };
  assert.deepEqual(
    json.signatures.map((s) => [s.selector, s.result]),
    [
      ['old', 'pass'],
      ['new', 'pass'],
    ],
  );
});

test('after retirement, the revoked selector no longer verifies', async () => {
  const signed = await mailward(
    ['dkim', 'sign', '--key', keys['old']?.file ?? '', '--domain', 'retired.example', '--selector', 'old'],
    MESSAGE,
  );
  assert.equal(signed.code, 0, signed.stderr);
  const verified = await mailward(['dkim', 'verify', '--dns', dns], signed.stdout.toString('latin1'));
  assert.equal(verified.code, 0);
  assert.match(verified.stdout.toString(), /dkim=permerror d=retired\.example s=old[\s\S]*key revoked/);
  const check = await mailward([
    'dkim',
    'key-check',
    '--domain',
    'retired.example',
    '--selector',
    'old',
    '--key',
    keys['old']?.file ?? '',
    '--dns',
    dns,
  ]);
  assert.equal(check.code, 1);
  assert.match(check.stdout.toString(), /revoked/);
});
