import { readFileSync } from 'node:fs';

/** A test server's log file so far, for failure messages; empty when it cannot be read (yet). */
export function readLogFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
