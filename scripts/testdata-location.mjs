// Where the public conformance data lives, and whether it is there. Shared by run-tests.mjs (which
// stops at once without it) and fetch-testdata.mjs (which fills it). The same rule as
// packages/testkit/src/testdata.ts: MAILWARD_TESTDATA, else ../shared/testdata beside the checkout.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const checkoutRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The pinned files: origin repository, path and commit, licence, size and sha256 of each. */
export const manifest = JSON.parse(readFileSync(join(checkoutRoot, 'scripts', 'testdata-manifest.json'), 'utf8'));

export function testdataDir(env = process.env) {
  return env.MAILWARD_TESTDATA ? resolve(env.MAILWARD_TESTDATA) : resolve(checkoutRoot, '..', 'shared', 'testdata');
}

/** Manifest entries missing from dir, or of another size (a truncated or different file). */
export function missingTestdata(dir) {
  return manifest.filter((entry) => {
    try {
      return statSync(join(dir, entry.dest)).size !== entry.size;
    } catch {
      return true;
    }
  });
}
