// `npm run testdata` (scripts/fetch-testdata.mjs) against local copies of the upstream files, and
// the test runner's stop when the data is missing. GitHub is never asked: the sources are a
// loopback HTTP server and a file:// mirror laid out as REPO/COMMIT/PATH, like GitHub's raw server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { testdataPath } from '../src/testdata.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const script = join(root, 'scripts', 'fetch-testdata.mjs');

interface Entry {
  readonly repo: string;
  readonly commit: string;
  readonly path: string;
  readonly dest: string;
  readonly sha256: string;
}
const manifest = JSON.parse(await readFile(join(root, 'scripts', 'testdata-manifest.json'), 'utf8')) as Entry[];
const CORRUPTED = 'pyspf/test/rfc7208-tests.yml';

let dir: string;
let server: Server;
let source: string;
const served: string[] = [];
let corrupt = false;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailward-testdata-'));
  const byUrlPath = new Map(manifest.map((e) => [`/${e.repo}/${e.commit}/${e.path}`, e.dest]));
  server = createServer((request, response) => {
    const path = decodeURIComponent(request.url ?? '');
    served.push(path);
    const dest = byUrlPath.get(path);
    if (dest === undefined) {
      response.writeHead(404).end();
      return;
    }
    readFile(testdataPath(dest)).then(
      (bytes) => {
        response.writeHead(200).end(corrupt && dest === CORRUPTED ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes);
      },
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  source = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function fetchTestdata(dest: string, from: string) {
  return run(process.execPath, [script, '--dest', dest], { env: { ...process.env, MAILWARD_TESTDATA_SOURCE: from } });
}

test('fetches every pinned file over HTTP, byte for byte, then keeps what is already there', async () => {
  const dest = join(dir, 'http');
  const first = await fetchTestdata(dest, source);
  assert.match(first.stdout, new RegExp(`${manifest.length} files fetched, 0 already there`));
  for (const entry of manifest) {
    assert.deepEqual(await readFile(join(dest, entry.dest)), await readFile(testdataPath(entry.dest)), entry.dest);
  }
  assert.deepEqual(
    await readFile(join(dest, 'MANIFEST.json')),
    await readFile(join(root, 'scripts', 'testdata-manifest.json')),
  );
  served.length = 0;
  const second = await fetchTestdata(dest, source);
  assert.match(second.stdout, new RegExp(`0 files fetched, ${manifest.length} already there`));
  assert.deepEqual(served, []);
});

test('a file whose sha256 differs from the manifest is refused and not written', async () => {
  const dest = join(dir, 'corrupt');
  corrupt = true;
  try {
    await assert.rejects(fetchTestdata(dest, source), (error: unknown) => {
      const failed = error as { code: number; stderr: string };
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /1 of \d+ files not fetched/);
      assert.match(
        failed.stderr,
        new RegExp(`${CORRUPTED}: refused: sha256 [0-9a-f]{64} from http://.*, the manifest pins`),
      );
      return true;
    });
  } finally {
    corrupt = false;
  }
  await assert.rejects(readFile(join(dest, CORRUPTED)), { code: 'ENOENT' });
  assert.ok((await readdir(join(dest, 'parsedmarc', 'samples', 'aggregate'))).length > 0, 'the good files are kept');
});

test('fetches from a file:// mirror too, and names a file the source does not have', async () => {
  const mirror = join(dir, 'mirror');
  for (const entry of manifest.slice(1)) {
    const target = join(mirror, entry.repo, entry.commit, entry.path);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(testdataPath(entry.dest), target);
  }
  const dest = join(dir, 'file');
  const missing = manifest[0];
  assert.ok(missing !== undefined);
  await assert.rejects(fetchTestdata(dest, pathToFileURL(mirror).href), (error: unknown) => {
    assert.match((error as { stderr: string }).stderr, new RegExp(`${missing.dest}: could not fetch file://`));
    return true;
  });
  await assert.rejects(readFile(join(dest, missing.dest)), { code: 'ENOENT' });
  assert.deepEqual(await readFile(join(dest, 'dkimpy', 'LICENSE')), await readFile(testdataPath('dkimpy', 'LICENSE')));
});

/** A checkout of one test that would fail if it ran, and the real runner scripts. */
async function fakeCheckout(): Promise<string> {
  const checkout = join(await mkdtemp(join(dir, 'fresh-')), 'mailward');
  await cp(join(root, 'scripts'), join(checkout, 'scripts'), { recursive: true });
  await writeFile(join(checkout, 'package.json'), '{ "type": "module" }\n');
  await mkdir(join(checkout, 'packages', 'demo', 'dist', 'test'), { recursive: true });
  await writeFile(
    join(checkout, 'packages', 'demo', 'dist', 'test', 'data.test.js'),
    "import { test } from 'node:test';\ntest('reads the data', () => { throw new Error('ran without data'); });\n",
  );
  return checkout;
}

function runTests(checkout: string, env: NodeJS.ProcessEnv) {
  const clean = { ...process.env };
  delete clean['MAILWARD_TESTDATA'];
  // Set by the runner of this test; a nested `node --test` would report to it instead of running.
  delete clean['NODE_TEST_CONTEXT'];
  return run(process.execPath, [join(checkout, 'scripts', 'run-tests.mjs'), 'unit'], {
    cwd: dir,
    env: { ...clean, ...env },
  });
}

test('without the data, the test run stops with one message naming npm run testdata', async () => {
  const checkout = await fakeCheckout();
  const empty = await mkdtemp(join(dir, 'empty-'));
  for (const [env, where] of [
    [{}, join(dirname(checkout), 'shared', 'testdata')],
    [{ MAILWARD_TESTDATA: empty }, empty],
  ] as const) {
    await assert.rejects(runTests(checkout, env), (error: unknown) => {
      const failed = error as { code: number; stdout: string; stderr: string };
      assert.equal(failed.code, 1);
      assert.equal(failed.stdout, '');
      assert.equal(failed.stderr.trimEnd().split('\n').length, 1, failed.stderr);
      assert.match(failed.stderr, /the public test data is missing \(\d+ of \d+ files/);
      assert.ok(failed.stderr.includes(`not in ${where}`), failed.stderr);
      assert.match(failed.stderr, /Fetch it with `npm run testdata`/);
      return true;
    });
  }
});

test('with the data, the run goes on to the tests', async () => {
  const checkout = await fakeCheckout();
  await assert.rejects(
    runTests(checkout, { MAILWARD_TESTDATA: dirname(testdataPath('MANIFEST.json')) }),
    (error: unknown) => {
      assert.match((error as { stdout: string }).stdout, /ran without data/);
      return true;
    },
  );
});

test('a source that does not answer stops the fetch with one line, not one per file', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(fetchTestdata(join(dir, 'unreachable'), `http://127.0.0.1:${port}`), (error: unknown) => {
    const failed = error as { code: number; stderr: string };
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr.trimEnd().split('\n').length, 1, failed.stderr);
    assert.match(
      failed.stderr,
      /could not reach http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\); 0 of \d+ files are in /,
    );
    return true;
  });
});
