// `mailward config check` through runProgram, and once through the built binary run from another
// directory (paths in the file are relative to the file, not to where the command runs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ProgramEnvironment } from '../src/program.js';
import { runProgram } from '../src/program.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const env: ProgramEnvironment = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-config-cli-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A real key made by `mailward keygen`, at `file`. */
async function keygen(file: string): Promise<void> {
  const made = await runProgram(
    ['keygen', '--domain', 'example.com', '--selector', 's1', '--type', 'ed25519', '--out', file],
    env,
  );
  assert.equal(made.exitCode, 0, made.stderr);
}

const VALID = [
  'authservId: mx.example.com',
  'milter:',
  '  inbound: { enforce: true }',
  '  signing:',
  '    keys:',
  '      - { domain: example.com, selector: s1, keyFile: keys/s1.pem }',
  '    rules:',
  '      - { from: example.com, keys: [example.com:s1] }',
  'policy:',
  '  listen: inet:127.0.0.1:10041',
  '',
].join('\n');

test('a valid file: OK with its sections, the file read and a summary line per service', async () => {
  await withDir(async (dir) => {
    await mkdir(join(dir, 'keys'));
    await keygen(join(dir, 'keys', 's1.pem'));
    const file = join(dir, 'mailward.yaml');
    await writeFile(file, VALID);
    const result = await runProgram(['config', 'check', '--config', file], env);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        `${file}: OK (milter, policy)`,
        `read ${file}; 1 key file checked`,
        'milter: listen inet:127.0.0.1:8894; authserv-id mx.example.com; enforce on, quarantine hold, on DNS failure tempfail; signing example.com (example.com:s1); ARC sealing off',
        'policy: listen inet:127.0.0.1:10041; receiver mx.example.com; HELO checked; fail reject, softfail prepend, neutral prepend, none prepend, pass prepend, temperror defer, permerror prepend',
        '',
      ].join('\n'),
    );
    assert.equal(result.stderr, '');
  });
});

test('an invalid file: each error on its own line with file:line:column, exit 1', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'mailward.yaml');
    await writeFile(file, 'milter:\n  inbound:\n    quarantine: holdd\n  listn: inet:127.0.0.1:1\n');
    const result = await runProgram(['config', 'check', '--config', file], env);
    assert.equal(result.exitCode, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `${file}:3:17: milter.inbound.quarantine: expected hold or header, got "holdd"\n` +
        `${file}:4:3: milter.listn: unknown key (did you mean listen?)\n`,
    );
  });
});

test('a missing key file fails the check; --no-keys skips reading keys', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'mailward.yaml');
    await writeFile(file, VALID);
    const checked = await runProgram(['config', 'check', '--config', file], env);
    assert.equal(checked.exitCode, 1);
    assert.match(
      checked.stderr,
      /^.*mailward\.yaml:6:55: milter\.signing\.keys\[0\]\.keyFile: cannot open .*s1\.pem: no such file/,
    );
    const skipped = await runProgram(['config', 'check', '--config', file, '--no-keys'], env);
    assert.equal(skipped.exitCode, 0, skipped.stderr);
    assert.match(skipped.stdout, /; key files not checked\n/);
  });
});

test('--json prints the resolved settings, or the errors with their places', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'mailward.yaml');
    await writeFile(file, 'exim:\n  inbound: { onDnsFailure: accept }\n');
    const result = await runProgram(['config', 'check', '--config', file, '--json'], env);
    assert.equal(result.exitCode, 0, result.stderr);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(json, {
      ok: true,
      file,
      exim: {
        listen: 'inet:127.0.0.1:11333',
        authservId: 'mx.test',
        dns: { servers: [], timeoutMs: 3000 },
        inbound: { enforce: false, onDnsFailure: 'accept', quarantine: 'hold', domains: {} },
      },
    });
    await writeFile(file, 'exim:\n  store: ""\n');
    const bad = await runProgram(['config', 'check', '--config', file, '--json'], env);
    assert.equal(bad.exitCode, 1);
    assert.deepEqual(JSON.parse(bad.stdout), {
      ok: false,
      file,
      errors: [
        {
          source: file,
          path: 'exim.store',
          line: 2,
          column: 10,
          message: 'give the SQLite file: sqlite:PATH or a path',
        },
      ],
    });
  });
});

test('bad arguments exit 2', async () => {
  assert.equal((await runProgram(['config', 'check', '--bogus'], env)).exitCode, 2);
  const empty = await runProgram(['config', 'check', '--config', ''], env);
  assert.equal(empty.exitCode, 2);
  assert.equal(empty.stderr, 'mailward config check: --config: empty file name\n');
});

test('without --config: ./mailward.yaml, named as found; none found is exit 1', async () => {
  const before = process.cwd();
  await withDir(async (dir) => {
    try {
      process.chdir(dir);
      if (!existsSync('/etc/mailward/mailward.yaml')) {
        const none = await runProgram(['config', 'check'], env);
        assert.equal(none.exitCode, 1);
        assert.equal(
          none.stderr,
          `mailward config check: no configuration file: neither ${join(dir, 'mailward.yaml')} nor /etc/mailward/mailward.yaml exists; give one with --config FILE\n`,
        );
      }
      await writeFile(join(dir, 'mailward.yaml'), 'policy: {}\n');
      const found = await runProgram(['config', 'check'], env);
      assert.equal(found.exitCode, 0, found.stderr);
      assert.match(found.stdout, new RegExp(`^mailward\\.yaml: OK \\(policy\\)\\nread ${join(dir, 'mailward.yaml')};`));
    } finally {
      process.chdir(before);
    }
  });
});

test('the built binary, run from another directory, resolves the file and its key paths', async () => {
  await withDir(async (dir) => {
    await mkdir(join(dir, 'etc', 'keys'), { recursive: true });
    await mkdir(join(dir, 'elsewhere'));
    await keygen(join(dir, 'etc', 'keys', 's1.pem'));
    await writeFile(join(dir, 'etc', 'mailward.yaml'), VALID);
    const { stdout } = await run(process.execPath, [MAIN, 'config', 'check', '--config', '../etc/mailward.yaml'], {
      cwd: join(dir, 'elsewhere'),
    });
    assert.match(stdout, /^\.\.\/etc\/mailward\.yaml: OK \(milter, policy\)\n/);
    assert.match(stdout, new RegExp(`read ${join(dir, 'etc', 'mailward.yaml')}; 1 key file checked`));
    const json = await run(process.execPath, [MAIN, 'config', 'check', '--config', '../etc/mailward.yaml', '--json'], {
      cwd: join(dir, 'elsewhere'),
    });
    const settings = JSON.parse(json.stdout) as { milter: { signing: { keys: { keyFile: string }[] } } };
    assert.equal(settings.milter.signing.keys[0]?.keyFile, join(dir, 'etc', 'keys', 's1.pem'));
    await rm(join(dir, 'etc', 'keys', 's1.pem'));
    await assert.rejects(
      run(process.execPath, [MAIN, 'config', 'check', '--config', '../etc/mailward.yaml'], {
        cwd: join(dir, 'elsewhere'),
      }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(
          error.stderr,
          /^\.\.\/etc\/mailward\.yaml:6:55: milter\.signing\.keys\[0\]\.keyFile: cannot open /,
        );
        return true;
      },
    );
  });
});
