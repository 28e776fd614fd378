// `mailward milter` as a child process, the way a user runs it (the built CLI), with its stderr
// lines collected so a test can wait for one, and signals to send it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { milter } from '@mailward/core';
import { headerEvent, MilterClient } from '@mailward/adapters';

const MAIN = fileURLToPath(new URL('../../../cli/dist/src/main.js', import.meta.url));

export interface MilterProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: string[];
  /** Resolves with the first line (from the start) matching, or rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export async function startMilterProcess(args: readonly string[]): Promise<MilterProcess> {
  const child = spawn(process.execPath, [MAIN, 'milter', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let rest = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    rest += text;
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of [...waiters]) wake();
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const wake of [...waiters]) wake();
      resolve({ code, signal });
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  const waitFor = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = lines.find((l) => pattern.test(l));
        if (line !== undefined) {
          cleanup();
          resolve(line);
        } else if (done) {
          cleanup();
          reject(new Error(`the milter exited before printing ${pattern}:\n${lines.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no line ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  if (child.pid === undefined) throw new Error('the milter did not start');
  return { child, pid: child.pid, lines, waitFor, exited, kill: (signal) => child.kill(signal) };
}

/** The address in "milter: listening on inet:127.0.0.1:PORT, ...". */
export function listeningAddress(line: string): string {
  const match = /listening on (\S+?)(,| \()/.exec(line);
  if (!match) throw new Error(`no address in ${line}`);
  return match[1]!;
}

/**
 * A message sent event by event, so a test can stop in the middle (an open session) and go on
 * later. Returns the replies of end of message.
 */
export class StepwiseMessage {
  private constructor(readonly client: MilterClient) {}

  static async open(address: string): Promise<StepwiseMessage> {
    return new StepwiseMessage(await MilterClient.connect(address));
  }

  /** CONNECT, HELO, MAIL and the header fields. */
  async begin(clientAddress: string, sender: string, headers: readonly string[]): Promise<void> {
    await this.client.event({
      type: 'connect',
      hostname: 'client.example',
      family: 'inet4',
      port: 4000,
      address: clientAddress,
    });
    await this.client.event({ type: 'helo', hostname: 'client.example' });
    await this.client.event({ type: 'mail', sender: `<${sender}>`, args: [] });
    const leadingSpace = (this.client.agreement.protocol & milter.Protocol.HDR_LEADSPC) !== 0;
    for (const line of headers) await this.client.event(headerEvent(line, leadingSpace));
    await this.client.event({ type: 'eoh' });
  }

  async body(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
    for (let at = 0; at < bytes.length; at += milter.MILTER_CHUNK_SIZE)
      await this.client.event({ type: 'body', chunk: bytes.subarray(at, at + milter.MILTER_CHUNK_SIZE) });
  }

  async end(queueId = 'STEP1'): Promise<milter.MilterReply[]> {
    const result = await this.client.event({ type: 'eom', chunk: new Uint8Array(0) }, [['i', queueId]]);
    return result.replies;
  }

  async quit(): Promise<void> {
    await this.client.quit().catch(() => this.client.destroy());
  }
}
