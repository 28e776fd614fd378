/**
 * Report files: one file, or a directory read recursively (in name order, symbolic links not
 * followed). Files are left where they are; re-reading them is harmless because the store skips
 * reports it already holds.
 */
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import type { ReportSource, SourceItem } from '@mailward/reports';

/** Files larger than this are not read whole; they are quarantined with the reason. */
export const MAX_REPORT_FILE_BYTES = 256 * 1024 * 1024;

export class FileSource implements ReportSource {
  constructor(
    private readonly path: string,
    private readonly maxBytes = MAX_REPORT_FILE_BYTES,
  ) {}

  async *items(): AsyncIterable<SourceItem> {
    for await (const file of walk(this.path)) yield await readItem(file, this.maxBytes);
  }

  acknowledge(): Promise<void> {
    return Promise.resolve();
  }
}

async function* walk(path: string): AsyncIterable<string> {
  const info = await lstat(path);
  if (info.isFile()) {
    yield path;
    return;
  }
  if (!info.isDirectory()) return;
  const entries = (await readdir(path)).sort();
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    yield* walk(join(path, entry));
  }
}

/** Reads a file; an oversized one becomes an item holding only its first bytes and the reason. */
export async function readItem(path: string, maxBytes: number): Promise<SourceItem> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) {
      const head = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      return {
        name: path,
        bytes: head.subarray(0, bytesRead),
        problem: `${path}: ${size} bytes, over the ${maxBytes}-byte limit (only the first 64 KiB are kept)`,
      };
    }
    return { name: path, bytes: await handle.readFile() };
  } finally {
    await handle.close();
  }
}
