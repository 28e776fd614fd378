/**
 * Path of a file in the shared public test data (../shared/testdata beside the directory holding
 * `packages/`, found by walking up from this file, so it works from src and from dist), or under
 * MAILWARD_TESTDATA when set. The same logic as testkit's testdataPath, copied because core's
 * tests cannot depend on testkit (testkit depends on core).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function testdataRoot(): string {
  const override = process.env['MAILWARD_TESTDATA'];
  if (override) return resolve(override);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'packages'))) break;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return resolve(dir, '..', 'shared', 'testdata');
}

export function testdataPath(...parts: string[]): string {
  return join(testdataRoot(), ...parts);
}

/** The bytes of a shared test data file. */
export function readTestdataBytes(...parts: string[]): Uint8Array {
  return readFileSync(testdataPath(...parts));
}
