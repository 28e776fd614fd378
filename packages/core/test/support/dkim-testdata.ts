/**
 * Locates the shared test data (/work/shared/testdata in the development checkout) for the DKIM
 * tests: MAILWARD_TESTDATA when set, otherwise `../shared/testdata` beside the directory that
 * holds `packages/`, found by walking up from this file (works from src and from dist).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findTestdata(): string {
  const fromEnv = process.env.MAILWARD_TESTDATA;
  if (fromEnv) return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'packages'))) return resolve(dir, '..', 'shared', 'testdata');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the directory holding packages/; set MAILWARD_TESTDATA');
    dir = parent;
  }
}

export const dkimTestdataDir: string = findTestdata();

/** A file under the shared test data directory, as Latin-1 text (lossless for every byte). */
export function readTestdata(...parts: string[]): string {
  return readFileSync(join(dkimTestdataDir, ...parts), 'latin1');
}

/** A dkimpy key record fixture (dkim/tests/data/NAME) as record text: the last line that holds
 * a tag-list, with a zone-file owner name and quoting removed if the file has them. */
export function dkimpyKeyRecord(name: string): string {
  const text = readTestdata('dkimpy', 'dkim', 'tests', 'data', name);
  const line = text
    .split(/\r?\n/)
    .filter((l) => l.includes('='))
    .at(-1);
  if (line === undefined) throw new Error(`no key record in ${name}`);
  const quoted = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
  return quoted.length > 0 ? quoted.join('') : line.trim();
}
