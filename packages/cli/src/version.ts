import { readFileSync } from 'node:fs';

/**
 * The version of this mailward package, read from its package.json (two levels above
 * dist/src/version.js, in a checkout and in an installed package alike), so `--version` says what
 * npm installed instead of a number copied into the code.
 */
export const mailwardVersion: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
