/**
 * Load through the real Postfix:
 * - throughput: Postfix's smtp-source sends `messages` copies of a message file (-F) over
 *   `sessions` parallel SMTP sessions, one message per session (its default: it disconnects after
 *   each message, so every message is a new smtpd session and new milter sessions). msg/s =
 *   messages ÷ smtp-source's wall time: every message was accepted (250 after all milters ran), or
 *   smtp-source exits non-zero and the round fails.
 * - latency: the bench's own SMTP client (milter-smtp.ts) at the same concurrency for a fixed
 *   time, one message per connection too, timing each message from its final dot to the 250.
 * After each run the bench waits until Postfix has relayed everything to the sink, so the next
 * run (often the other side's) does not pay for this one's deliveries.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Buffer } from 'node:buffer';
import type { LoadResult } from './milter-load.js';
import type { PostfixInstance } from './milter-postfix.js';
import { SmtpTimingClient } from './milter-smtp.js';
import { RECIPIENT, SENDER } from './milter-world.js';

export const HELO = 'client.bench.example';

export interface SourceResult {
  readonly messages: number;
  readonly elapsedMs: number;
  readonly failure?: string;
}

export async function writeMessageFile(dir: string, name: string, message: Buffer): Promise<string> {
  const path = join(dir, `${name}.eml`);
  // smtp-source -F sends each line followed by CRLF: give it LF lines so it does not double them.
  await writeFile(path, message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  return path;
}

export function runSmtpSource(port: number, file: string, messages: number, sessions: number): Promise<SourceResult> {
  const args = ['-F', file, '-f', SENDER, '-t', RECIPIENT, '-M', HELO, '-m', String(messages)];
  args.push('-s', String(sessions), `127.0.0.1:${port}`);
  return new Promise((resolve) => {
    const began = performance.now();
    const child = spawn('/usr/sbin/smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => {
      const elapsedMs = performance.now() - began;
      if (code === 0) resolve({ messages, elapsedMs });
      else resolve({ messages, elapsedMs, failure: `smtp-source exited ${code}: ${stderr.trim().split('\n')[0]}` });
    });
  });
}

export async function runSmtpLatency(
  port: number,
  message: Buffer,
  concurrency: number,
  durationMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let accepted = 0;
  let failure: string | undefined;
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && failure === undefined) {
      const client = await SmtpTimingClient.open(port, HELO);
      try {
        latencies.push(await client.send(SENDER, RECIPIENT, message));
        accepted++;
      } finally {
        await client.close();
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: concurrency }, worker));
  for (const result of results)
    if (result.status === 'rejected')
      failure ??= result.reason instanceof Error ? result.reason.message : String(result.reason);
  return { accepted, elapsedMs: performance.now() - start, latencies, ...(failure ? { failure } : {}) };
}

export async function drainQueue(postfix: PostfixInstance): Promise<void> {
  await postfix.drain(120_000);
}
