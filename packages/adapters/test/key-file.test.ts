import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileLimited, readPrivateKeyFile, writePrivateKeyFile } from '../src/index.js';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-keyfile-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

test('a key file is written with mode 0600 and read back', () =>
  withDir(async (dir) => {
    const path = join(dir, 'k.pem');
    assert.deepEqual(await writePrivateKeyFile(path, pem), { ok: true });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const read = await readPrivateKeyFile(path);
    assert.ok(read.ok);
    assert.equal(read.key.asymmetricKeyType, 'ed25519');
  }));

test('an existing file is never overwritten', () =>
  withDir(async (dir) => {
    const path = join(dir, 'k.pem');
    await writeFile(path, 'precious');
    const result = await writePrivateKeyFile(path, pem);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.reason, /already exists; it was left unchanged/);
    assert.equal(await readFile(path, 'utf8'), 'precious');
  }));

test('PKCS#1 RSA keys are read; bad files give clear errors', () =>
  withDir(async (dir) => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
    await writeFile(join(dir, 'rsa.pem'), rsa);
    const read = await readPrivateKeyFile(join(dir, 'rsa.pem'));
    assert.ok(read.ok && read.key.asymmetricKeyType === 'rsa');
    await writeFile(join(dir, 'junk.pem'), '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n');
    const junk = await readPrivateKeyFile(join(dir, 'junk.pem'));
    assert.match(junk.ok ? '' : junk.reason, /is not a private key/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(join(dir, 'ec.pem'), ec);
    const wrong = await readPrivateKeyFile(join(dir, 'ec.pem'));
    assert.match(wrong.ok ? '' : wrong.reason, /ec key; DKIM needs RSA or Ed25519/);
    const missing = await readPrivateKeyFile(join(dir, 'missing.pem'));
    assert.match(missing.ok ? '' : missing.reason, /cannot open .*missing\.pem: no such file or directory \(ENOENT\)/);
  }));

test('readFileLimited refuses files over the limit and directories', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'm.eml'), 'x'.repeat(100));
    const ok = await readFileLimited(join(dir, 'm.eml'), 100);
    assert.ok(ok.ok && ok.bytes.length === 100);
    const big = await readFileLimited(join(dir, 'm.eml'), 99);
    assert.match(big.ok ? '' : big.reason, /over the 99-byte limit/);
    const folder = await readFileLimited(dir, 99);
    assert.match(folder.ok ? '' : folder.reason, /not a regular file/);
  }));
