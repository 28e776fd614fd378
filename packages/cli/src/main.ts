#!/usr/bin/env node
// The only file of mailward that reads argv, stdin and the environment, prints, and exits.
import { Buffer } from 'node:buffer';
import { hostname } from 'node:os';
import { runProgram } from './program.js';
import type { CommandResult } from './commands/result.js';
import { describeSystemError, isClosedPipe } from '@mailward/adapters';

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

/** SIGHUP asks a long-running server (the milter) to re-read its settings and keys. */
function onReload(listener: () => void): void {
  process.on('SIGHUP', listener);
}

/**
 * Errors no command caught: one line, never a stack trace. A closed output pipe (`... | head`)
 * ends the program quietly with exit code 0: the reader has what it wanted.
 */
function fail(error: unknown): void {
  if (isClosedPipe(error)) process.exit(0);
  const line =
    describeSystemError(error) ??
    `internal error: ${error instanceof Error ? error.message : String(error)} (please report it, with the command line)`;
  process.stderr.write(`mailward: ${line}\n`);
  process.exit(1);
}
process.stdout.on('error', fail);
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

let result: CommandResult;
try {
  result = await runProgram(process.argv.slice(2), {
    hostname: hostname(),
    readStdin,
    imapPassword: process.env['MAILWARD_IMAP_PASSWORD'],
    progress: (line: string) => process.stdout.write(`${line}\n`),
    stopSignal: stopSignal(),
    onReload,
    log: (line: string) => process.stderr.write(`${line}\n`),
    colour: process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined,
    ...(process.stderr.isTTY === true && { status: (text: string) => process.stderr.write(`\r\x1b[K${text}`) }),
  });
} catch (error) {
  fail(error);
  throw error;
}
if (result.stdout) process.stdout.write(result.stdout);
if (result.stdoutBytes) process.stdout.write(result.stdoutBytes);
if (result.stderr) process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
