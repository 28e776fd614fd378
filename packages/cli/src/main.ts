#!/usr/bin/env node
// The only file of mailward that reads argv, stdin and the environment, prints, and exits.
import { Buffer } from 'node:buffer';
import { hostname } from 'node:os';
import { runProgram } from './program.js';

/** Reads stdin whole, giving up (undefined) past maxBytes so a huge input cannot exhaust memory. */
async function readStdin(maxBytes: number): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Aborted on SIGINT or SIGTERM, so watch mode can finish its current item and close cleanly. */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
  return controller.signal;
}

const result = await runProgram(process.argv.slice(2), {
  hostname: hostname(),
  readStdin,
  imapPassword: process.env['MAILWARD_IMAP_PASSWORD'],
  progress: (line: string) => process.stdout.write(`${line}\n`),
  stopSignal: stopSignal(),
  colour: process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined,
  ...(process.stderr.isTTY === true && { status: (text: string) => process.stderr.write(`\r\x1b[K${text}`) }),
});
if (result.stdout) process.stdout.write(result.stdout);
if (result.stdoutBytes) process.stdout.write(result.stdoutBytes);
if (result.stderr) process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
