// loadConfigFile and findConfigFile against real files: unreadable, oversized and non-UTF-8 files,
// key files that are missing or not keys, paths relative to the file rather than the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findConfigFile, formatConfigError, loadConfigFile, MAX_CONFIG_BYTES } from '../src/index.js';
import type { ConfigFileLoad } from '../src/index.js';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-config-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function errorLines(load: ConfigFileLoad): string[] {
  assert.equal(load.ok, false, 'expected errors');
  return load.ok ? [] : load.errors.map(formatConfigError);
}

const KEY_PEM = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const SIGNING = [
  'authservId: mx.example.com',
  'milter:',
  '  signing:',
  '    keys:',
  '      - domain: example.com',
  '        selector: s1',
  '        keyFile: keys/s1.pem',
  '',
].join('\n');

test('a missing file, a directory: one line naming the file, no position', async () => {
  await withDir(async (dir) => {
    const missing = join(dir, 'nope.yaml');
    assert.deepEqual(errorLines(await loadConfigFile(missing)), [
      `${missing}: cannot open ${missing}: no such file or directory (ENOENT); check the path (is the directory there?)`,
    ]);
    assert.deepEqual(errorLines(await loadConfigFile(dir)), [
      `${dir}: ${dir} is a directory, not a configuration file`,
    ]);
  });
});

test('an oversized file, or one without end, is refused after at most 1 MiB', async () => {
  await withDir(async (dir) => {
    const big = join(dir, 'big.yaml');
    await writeFile(big, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    assert.match(errorLines(await loadConfigFile(big))[0] ?? '', /is \d+ bytes, too large for a configuration file/);
  });
  assert.deepEqual(errorLines(await loadConfigFile('/dev/zero')), [
    '/dev/zero: /dev/zero is too large for a configuration file (at most 1 MiB)',
  ]);
});

test('a file that is not UTF-8 says so', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'latin1.yaml');
    await writeFile(file, Buffer.from('milter:\n  authservId: mx\xe9\n', 'latin1'));
    assert.deepEqual(errorLines(await loadConfigFile(file)), [`${file}: ${file} is not UTF-8 text`]);
  });
});

test('key files: relative to the file, checked by default, each problem at its keyFile line', async () => {
  await withDir(async (dir) => {
    await mkdir(join(dir, 'etc', 'keys'), { recursive: true });
    const file = join(dir, 'etc', 'mailward.yaml');
    await writeFile(file, SIGNING);

    // Missing: reported at the keyFile value (line 7, column 18), named as the user named the file.
    assert.deepEqual(errorLines(await loadConfigFile('etc/mailward.yaml', { cwd: dir })), [
      `etc/mailward.yaml:7:18: milter.signing.keys[0].keyFile: cannot open ${join(dir, 'etc', 'keys', 's1.pem')}: no such file or directory (ENOENT); check the path (is the directory there?)`,
    ]);
    // Not a key.
    await writeFile(join(dir, 'etc', 'keys', 's1.pem'), 'not a key\n');
    const notKey = errorLines(await loadConfigFile(file));
    assert.equal(notKey.length, 1);
    assert.match(notKey[0] ?? '', /^.*mailward\.yaml:7:18: milter\.signing\.keys\[0\]\.keyFile: .*s1\.pem/);
    // Not checked when asked not to.
    assert.equal((await loadConfigFile(file, { checkKeys: false })).ok, true);

    await writeFile(join(dir, 'etc', 'keys', 's1.pem'), KEY_PEM);
    const loaded = await loadConfigFile('etc/mailward.yaml', { cwd: dir });
    assert.ok(loaded.ok);
    assert.equal(loaded.file, file);
    assert.equal(loaded.config.milter?.signing.keys[0]?.keyFile, join(dir, 'etc', 'keys', 's1.pem'));
  });
});

test('without a top-level authservId, the host name given (or the system one) is used', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'mailward.yaml');
    await writeFile(file, 'exim: {}\n');
    const given = await loadConfigFile(file, { hostname: 'mx.given.test' });
    assert.ok(given.ok);
    assert.equal(given.config.exim?.authservId, 'mx.given.test');
    const system = await loadConfigFile(file);
    assert.ok(system.ok);
    assert.notEqual(system.config.exim?.authservId, '');
  });
});

test('findConfigFile takes the first candidate that exists and names all it tried', async () => {
  await withDir(async (dir) => {
    const first = join(dir, 'a', 'mailward.yaml');
    const second = join(dir, 'b', 'mailward.yaml');
    assert.deepEqual(await findConfigFile(['a/mailward.yaml', second], dir), {
      ok: false,
      reason: `no configuration file: neither ${first} nor ${second} exists; give one with --config FILE`,
    });
    await mkdir(join(dir, 'b'));
    await writeFile(second, 'exim: {}\n');
    assert.deepEqual(await findConfigFile(['a/mailward.yaml', second], dir), { ok: true, path: second });
    await mkdir(join(dir, 'a'));
    await writeFile(first, 'exim: {}\n');
    assert.deepEqual(await findConfigFile(['a/mailward.yaml', second], dir), { ok: true, path: 'a/mailward.yaml' });
  });
});

test('one run reports every problem: a rule naming a missing key, a missing key file, a store without its directory', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'mailward.yaml');
    await writeFile(
      file,
      [
        'authservId: mx.example.com',
        'milter:',
        '  store: data/verdicts.sqlite',
        '  signing:',
        '    keys:',
        '      - { domain: example.com, selector: s1, keyFile: keys/missing.pem }',
        '    rules:',
        '      - { from: example.com, keys: [example.com:zzz] }',
        '',
      ].join('\n'),
    );
    const lines = errorLines(await loadConfigFile(file));
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[0] ?? '', /:3:10: milter\.store: the store's directory .*data does not exist: create it/);
    assert.match(lines[1] ?? '', /:6:55: milter\.signing\.keys\[0\]\.keyFile: cannot open .*missing\.pem/);
    assert.match(lines[2] ?? '', /:8:37: milter\.signing\.rules\[0\]\.keys\[0\]: no key "example\.com:zzz"/);

    // With the directory there, the store passes; the file itself is created on first use.
    await mkdir(join(dir, 'data'));
    assert.equal(errorLines(await loadConfigFile(file)).length, 2);
    // --no-keys skips the files the configuration names, not its own checks.
    assert.equal(errorLines(await loadConfigFile(file, { checkKeys: false })).length, 1);
  });
});

test('a store of an unsupported scheme and a relative unix: socket are errors with their line', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'mailward.yaml');
    await writeFile(file, ['exim:', '  listen: unix:relative.sock', '  store: ftp://x', ''].join('\n'));
    const lines = errorLines(await loadConfigFile(file, { hostname: 'mx.test' }));
    assert.deepEqual(
      lines.map((line) => line.replace(/^.*?mailward\.yaml:/, '')),
      [
        '2:11: exim.listen: "unix:relative.sock": a unix: socket path must be absolute (e.g. unix:/run/mailward/milter.sock)',
        '3:10: exim.store: ftp is not a supported store (use a path, sqlite:PATH or postgres://USER@HOST/DB)',
      ],
    );
  });
});
