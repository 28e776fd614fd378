/**
 * The domain list of `mailward scan`, checked before the scan sends a single DNS query: it must
 * exist, be a readable file, and look like a list (text, with a domain name among its first
 * lines). A wrong path or a binary file is one clear line, not a scan that finds nothing. Also
 * how one line of the list is read.
 */
import { open } from 'node:fs/promises';
import { mailDomainOf } from './mail-domain.js';

/** A domain from a list line, in A-label form, or why the line is not one. */
export function domainOfLine(line: string): { domain: string } | { reason: string } | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  return mailDomainOf(text);
}

/** How much of the list is looked at: enough for thousands of lines, cheap for any size. */
const SAMPLE_BYTES = 64 * 1024;

/** Undefined when the list can be scanned; otherwise what is wrong with it, naming the file. */
export async function checkDomainList(path: string): Promise<string | undefined> {
  let sample: Buffer;
  let size: number;
  try {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return `${path} is not a file: give a file with one domain per line`;
      size = stat.size;
      sample = Buffer.alloc(Math.min(size, SAMPLE_BYTES));
      await handle.read(sample, 0, sample.length, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${path}: no such file`;
    if (code === 'EISDIR') return `${path} is a directory: give a file with one domain per line`;
    if (code === 'EACCES' || code === 'EPERM') return `${path}: permission denied (cannot read the list)`;
    return `cannot read ${path}: ${(error as Error).message}`;
  }
  if (size === 0) return `${path} is empty: give a file with one domain per line`;
  const nul = sample.indexOf(0);
  if (nul >= 0) return `${path} is not a text file (a NUL byte at offset ${nul}): give a file with one domain per line`;
  // The last line of the sample may be cut in the middle: only whole lines are judged.
  const text = sample.toString('utf8');
  const lines = (sample.length < size ? text.slice(0, Math.max(0, text.lastIndexOf('\n'))) : text).split(/\r?\n/);
  let firstBad: { line: number; reason: string } | undefined;
  for (const [index, line] of lines.entries()) {
    const parsed = domainOfLine(line);
    if (parsed === undefined) continue;
    if ('domain' in parsed) return undefined;
    firstBad ??= { line: index + 1, reason: parsed.reason };
  }
  const where = sample.length < size ? `the first ${lines.length} lines of ${path}` : path;
  return firstBad === undefined
    ? `no domain name in ${where} (only blank lines and # comments)`
    : `no domain name in ${where}; line ${firstBad.line}: ${firstBad.reason}`;
}
