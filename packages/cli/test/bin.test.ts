// The `mailward` file npm links: it must exist before the first build, so `npm ci` links it in a
// checkout and `npx mailward` works once `npm run build` has run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cliDir = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

test('the bin file is a source file, not build output that npm ci cannot link yet', () => {
  const bin = manifest.bin['mailward'];
  assert.ok(bin !== undefined);
  assert.doesNotMatch(bin, /(^|\/)dist\//);
});

test('the bin runs the built command', async () => {
  const { stdout } = await run(process.execPath, [join(cliDir, manifest.bin['mailward'] ?? ''), '--version']);
  assert.equal(stdout.trim(), manifest.version);
});

test('before the build, the bin says to run the build (one line, exit 1)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-bin-'));
  try {
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    await copyFile(join(cliDir, manifest.bin['mailward'] ?? ''), join(dir, 'bin', 'mailward.js'));
    await assert.rejects(run(process.execPath, [join(dir, 'bin', 'mailward.js'), '--version']), (error: unknown) => {
      const failed = error as { code: number; stderr: string };
      assert.equal(failed.code, 1);
      assert.match(
        failed.stderr,
        /^mailward: .*dist\/src\/main\.js does not exist: run `npm run build` in the checkout first\n$/,
      );
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
