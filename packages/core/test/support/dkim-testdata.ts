/** DKIM-specific readers of the shared test data (paths from ./testdata.ts). */
import { readFileSync } from 'node:fs';
import { testdataPath } from './testdata.js';

/** A file under the shared test data directory, as Latin-1 text (lossless for every byte). */
export function readTestdata(...parts: string[]): string {
  return readFileSync(testdataPath(...parts), 'latin1');
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
