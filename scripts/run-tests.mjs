#!/usr/bin/env node
// Runs the compiled test files with node's test runner. Node 20's `node --test` does not expand
// globs, so this script lists the files. Usage: run-tests.mjs unit|integration|all [filter]
//   unit:        packages/*/dist/test/**/*.test.js except *.int.test.js (fast, no servers)
//   integration: packages/*/dist/test/**/*.int.test.js (real Knot DNS, large inputs)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkoutRoot, manifest, missingTestdata, testdataDir } from './testdata-location.mjs';

const mode = process.argv[2] ?? 'unit';
const filter = process.argv[3];
if (!['unit', 'integration', 'all'].includes(mode)) {
  console.error(`unknown mode ${mode}: use unit, integration or all`);
  process.exit(2);
}

// The suites read public conformance data from outside the repository. Without it, dozens of
// tests would fail one by one with ENOENT: say once what is missing and how to get it.
const dataDir = testdataDir();
const missing = missingTestdata(dataDir);
if (missing.length > 0) {
  const where = process.env.MAILWARD_TESTDATA
    ? 'the directory MAILWARD_TESTDATA names'
    : 'the default location, as MAILWARD_TESTDATA is not set';
  console.error(
    `mailward tests: the public test data is missing (${missing.length} of ${manifest.length} files, ` +
      `first ${missing[0].dest}, not in ${dataDir}, ${where}). ` +
      `Fetch it with \`npm run testdata\`, or set MAILWARD_TESTDATA to a directory that has it.`,
  );
  process.exit(1);
}
// The test files resolve MAILWARD_TESTDATA from the checkout root: pass it on absolute.
if (process.env.MAILWARD_TESTDATA) process.env.MAILWARD_TESTDATA = dataDir;
process.chdir(checkoutRoot);

function walk(dir, out) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (path.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync('packages')) {
  const dir = join('packages', pkg, 'dist', 'test');
  if (existsSync(dir)) walk(dir, files);
}
const selected = files
  .filter((file) => {
    const integration = file.endsWith('.int.test.js');
    return mode === 'all' || (mode === 'integration') === integration;
  })
  .filter((file) => !filter || file.includes(filter))
  .sort();

if (selected.length === 0) {
  console.error(`no ${mode} test files found (did the build run?)`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], { stdio: 'inherit' });
process.exit(result.status ?? 1);
