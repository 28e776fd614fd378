/**
 * Report files: one file, or a directory read recursively (in name order, symbolic links not
 * followed). Files are left where they are; re-reading them is harmless because the store skips
 * reports it already holds.
 */
import { createReadStream } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import type { ReportSource, SourceItem } from '@mailward/reports';

/** Files up to this size are read whole; larger ones only as a stream (with their first bytes). */
export const WHOLE_FILE_BYTES = 100 * 1024 * 1024;

export class FileSource implements ReportSource {
  constructor(
    private readonly path: string,
    private readonly wholeUpTo = WHOLE_FILE_BYTES,
  ) {}

  /** Reads up to READ_AHEAD files at once while earlier ones are processed: small report files are I/O-bound. */
  async *items(): AsyncIterable<SourceItem> {
    const window: Promise<SourceItem>[] = [];
    for await (const file of walk(this.path)) {
      window.push(readItem(file, this.wholeUpTo, true));
      if (window.length >= READ_AHEAD) yield await (window.shift() as Promise<SourceItem>);
    }
    while (window.length > 0) yield await (window.shift() as Promise<SourceItem>);
  }

  acknowledge(): Promise<void> {
    return Promise.resolve();
  }
}

const READ_AHEAD = 16;

async function* walk(path: string): AsyncIterable<string> {
  const info = await lstat(path);
  if (info.isFile()) yield path;
  else if (info.isDirectory()) yield* walkDirectory(path);
}

async function* walkDirectory(path: string): AsyncIterable<string> {
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile()) yield join(path, entry.name);
    else if (entry.isDirectory()) yield* walkDirectory(join(path, entry.name));
  }
}

/**
 * Reads a file. With `streamable`, the item also offers a stream of the whole file (ingest streams
 * large XML and gzip reports instead of holding them). A file over `maxBytes` is not read whole:
 * the item holds its first bytes, with the stream when `streamable`, else with the reason.
 */
export async function readItem(path: string, maxBytes: number, streamable = false): Promise<SourceItem> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) {
      const head = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const first = head.subarray(0, bytesRead);
      if (streamable)
        return { name: path, bytes: first, size, stream: () => createReadStream(path, { highWaterMark: 1 << 20 }) };
      return {
        name: path,
        bytes: first,
        problem: `${path}: ${size} bytes, over the ${maxBytes}-byte limit (only the first 64 KiB are kept)`,
      };
    }
    // One read of the known size: FileHandle.readFile would stat the file again.
    const bytes = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(bytes, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    const whole = filled === size ? bytes : bytes.subarray(0, filled);
    return streamable
      ? { name: path, bytes: whole, size: filled, stream: () => createReadStream(path, { highWaterMark: 1 << 20 }) }
      : { name: path, bytes: whole };
  } finally {
    await handle.close();
  }
}
