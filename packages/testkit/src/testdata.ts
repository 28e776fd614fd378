import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared public test data lives beside the repository, in ../shared/testdata (never copied
 * in). MAILWARD_TESTDATA overrides the location.
 */
export function testdataPath(...parts: string[]): string {
  const override = process.env['MAILWARD_TESTDATA'];
  if (override) return join(override, ...parts);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'packages'))) break;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return resolve(dir, '..', 'shared', 'testdata', ...parts);
}
