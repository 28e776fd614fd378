/**
 * mailward installed like any npm tool, with no network: every workspace package packed with
 * `npm pack`, the public ones installed globally into an empty prefix, then the command run from
 * another directory.
 *
 * The third-party dependencies come from the checkout's own node_modules (see
 * testkit/src/npm-registry.ts): a loopback registry serves them once to prime a fresh npm cache,
 * is closed, and the real install then runs with --offline against that cache, so any request it
 * made would fail. --ignore-scripts: the served better-sqlite3 already holds the module `npm ci`
 * compiled here, and its install script would try to download a prebuilt binary first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startLocalNpmRegistry } from '@mailward/testkit';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const PUBLIC = ['@mailward/core', '@mailward/reports', '@mailward/adapters', '@mailward/milter', 'mailward'];

interface PackResult {
  readonly name: string;
  readonly filename: string;
  readonly files: readonly { path: string }[];
}

/** npm with only the settings given here: the caller's npm_config_* (npm sets them for scripts) are dropped. */
function npmEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return {
    ...env,
    npm_config_userconfig: join(dir, 'npmrc'),
    npm_config_globalconfig: join(dir, 'global-npmrc'),
    npm_config_cache: join(dir, 'cache'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

let dir: string;
let packed: PackResult[];
let registryUrl: string;
let requests: readonly string[];
let prefix: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailward-install-'));
  await run('touch', [join(dir, 'npmrc'), join(dir, 'global-npmrc')]);
  const tarballs = join(dir, 'tarballs');
  await mkdir(tarballs);
  const { stdout } = await run('npm', ['pack', '--workspaces', '--json', '--pack-destination', tarballs], {
    cwd: root,
    env: npmEnv(dir),
    maxBuffer: 64 * 1024 * 1024,
  });
  packed = JSON.parse(stdout) as PackResult[];

  const registry = await startLocalNpmRegistry(root, await mkdtemp(join(dir, 'registry-')));
  registryUrl = registry.url;
  const files = PUBLIC.map((name) => join(tarballs, packed.find((p) => p.name === name)?.filename ?? name));
  const install = (target: string, offline: boolean) =>
    run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        target,
        '--registry',
        registryUrl,
        '--ignore-scripts',
        ...(offline ? ['--offline'] : []),
        ...files,
      ],
      { cwd: dir, env: npmEnv(dir), maxBuffer: 64 * 1024 * 1024 },
    );
  try {
    await install(join(dir, 'prime'), false);
  } finally {
    requests = [...registry.requests];
    await registry.close();
  }
  prefix = join(dir, 'prefix');
  await install(prefix, true);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('npm pack works for every workspace package and ships its built code, not its tests', () => {
  const names = packed.map((p) => p.name).sort();
  assert.deepEqual(names, [
    '@mailward/adapters',
    '@mailward/core',
    '@mailward/milter',
    '@mailward/reports',
    '@mailward/testkit',
    'mailward',
  ]);
  for (const pack of packed) {
    const paths = pack.files.map((f) => f.path);
    const dirName = pack.name === 'mailward' ? 'cli' : pack.name.replace('@mailward/', '');
    const manifest = JSON.parse(readFileSync(join(root, 'packages', dirName, 'package.json'), 'utf8')) as {
      main?: string;
      bin?: Record<string, string>;
    };
    for (const entry of [manifest.main, ...Object.values(manifest.bin ?? {})]) {
      if (entry !== undefined)
        assert.ok(paths.includes(entry.replace(/^\.\//, '')), `${pack.name}: ${entry} not packed`);
    }
    if (pack.name !== 'mailward') assert.ok(paths.includes('dist/src/index.d.ts'), `${pack.name}: no types`);
    assert.deepEqual(
      paths.filter((p) => p.includes('/test/') || (p.endsWith('.ts') && !p.endsWith('.d.ts'))),
      [],
      pack.name,
    );
  }
});

test('the install fetched only runtime dependencies, and the offline install needed nothing more', async () => {
  const packuments = requests.filter((p) => !p.startsWith('/-/'));
  for (const dev of ['typescript', 'eslint', '@types/node', 'mailauth', 'prettier']) {
    assert.ok(!packuments.includes(`/${dev}`), `${dev} is a development tool, yet the install asked for it`);
  }
  assert.ok(packuments.includes('/better-sqlite3') && packuments.includes('/commander'), packuments.join(' '));
  const installed = await readdir(join(prefix, 'lib', 'node_modules', '@mailward'));
  assert.deepEqual(installed.sort(), ['adapters', 'core', 'milter', 'reports']);
});

test('the installed mailward runs from another directory: --version, dkim verify, reports demo', async () => {
  const elsewhere = await mkdtemp(join(dir, 'elsewhere-'));
  for (const file of ['signed.eml', 'zone.yaml'])
    await copyFile(join(root, 'docs', 'examples', file), join(elsewhere, file));
  const mailward = (...args: string[]) =>
    run(join(prefix, 'bin', 'mailward'), args, { cwd: elsewhere, env: npmEnv(dir), timeout: 60_000 });

  const cli = JSON.parse(readFileSync(join(root, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string };
  assert.equal((await mailward('--version')).stdout.trim(), cli.version);

  const verify = await mailward('dkim', 'verify', 'signed.eml', '--dns-fixture', 'zone.yaml');
  assert.equal(verify.stdout.match(/^#\d dkim=pass /gm)?.length, 2, verify.stdout);

  // SQLite through the native module, and files written where the user stands.
  const demo = await mailward('reports', 'demo', '--store', 'sqlite:demo.db', '--dir', 'demo-reports');
  assert.match(demo.stdout, /stored 28 aggregate, 1 failure and 1 SMTP TLS reports/);
  assert.match(demo.stdout, /Readiness for p=reject/);
  assert.ok((await stat(join(elsewhere, 'demo.db'))).size > 0);
  assert.ok((await readdir(join(elsewhere, 'demo-reports'))).length > 0);

  // The mail-server commands come from @mailward/milter (prom-client, zod): the installed copy loads them.
  const config = await mailward(
    'config',
    'check',
    '--config',
    join(root, 'docs', 'examples', 'mailward.yaml'),
    '--no-keys',
  );
  assert.match(config.stdout, /OK \(milter, policy, exim\)/);
});
