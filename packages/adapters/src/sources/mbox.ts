/**
 * mbox files (RFC 4155): messages separated by "From " lines at the start of a line. Read as a
 * stream, one message at a time, so a mailbox of any size uses the memory of its largest message
 * (capped). Lines quoted as ">From " (mboxrd and mboxo) lose one ">". The file is not modified;
 * re-reading it is harmless because the store skips reports it already holds.
 */
import { createReadStream } from 'node:fs';
import { Buffer } from 'node:buffer';
import type { ReportSource, SourceItem } from '@mailward/reports';

export const MAX_MBOX_MESSAGE_BYTES = 100 * 1024 * 1024;

export class MboxSource implements ReportSource {
  constructor(
    private readonly path: string,
    private readonly maxMessageBytes = MAX_MBOX_MESSAGE_BYTES,
  ) {}

  async *items(): AsyncIterable<SourceItem> {
    let index = 0;
    for await (const message of mboxMessages(createReadStream(this.path), this.maxMessageBytes)) {
      index += 1;
      const name = `mbox:${this.path}#${index}`;
      yield message.truncated
        ? {
            name,
            bytes: message.bytes,
            problem: `${name}: message over ${this.maxMessageBytes} bytes (only its start is kept)`,
          }
        : { name, bytes: message.bytes };
    }
  }

  acknowledge(): Promise<void> {
    return Promise.resolve();
  }
}

/** Splits an mbox byte stream into messages (without their "From " separator lines). */
export async function* mboxMessages(
  stream: AsyncIterable<Buffer | string>,
  maxMessageBytes: number,
): AsyncIterable<{ bytes: Buffer; truncated: boolean }> {
  let pending = Buffer.alloc(0);
  let lines: Buffer[] = [];
  let size = 0;
  let truncated = false;
  let started = false;
  const flush = (): { bytes: Buffer; truncated: boolean } | undefined => {
    if (!started) return undefined;
    const message = { bytes: Buffer.concat(lines), truncated };
    lines = [];
    size = 0;
    truncated = false;
    return message;
  };
  const take = (line: Buffer): { bytes: Buffer; truncated: boolean } | undefined => {
    if (line.subarray(0, 5).toString('latin1') === 'From ') {
      const done = flush();
      started = true;
      return done;
    }
    if (!started) return undefined; // text before the first separator is not a message
    const unquoted = /^>+From /.test(line.subarray(0, 80).toString('latin1')) ? line.subarray(1) : line;
    if (size + unquoted.length > maxMessageBytes) truncated = true;
    else {
      lines.push(unquoted);
      size += unquoted.length;
    }
    return undefined;
  };
  for await (const chunk of stream) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, Buffer.from(chunk)]);
    let start = 0;
    for (let nl = pending.indexOf(10, start); nl >= 0; nl = pending.indexOf(10, start)) {
      const message = take(pending.subarray(start, nl + 1));
      if (message !== undefined) yield message;
      start = nl + 1;
    }
    pending = pending.subarray(start);
    // A line longer than the message cap is cut here rather than held whole.
    if (pending.length > maxMessageBytes) {
      truncated = true;
      pending = Buffer.alloc(0);
    }
  }
  if (pending.length > 0) take(pending);
  const last = flush();
  if (last !== undefined) yield last;
}
