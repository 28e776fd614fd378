// Starts the built `mailward policy` as a child process, as an operator would, and talks the
// policy protocol to it. Shared by the integration tests (Knot, Postfix, Exim).
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const MAILWARD_MAIN = fileURLToPath(new URL('../../../cli/dist/src/main.js', import.meta.url));

export interface PolicyProcess {
  readonly host: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything it printed so far (the listening line and one line per decision). */
  output(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

export async function startPolicyProcess(args: readonly string[]): Promise<PolicyProcess> {
  const child = spawn(process.execPath, [MAILWARD_MAIN, 'policy', '--listen', 'inet:127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mailward policy did not start:\n${text}`)), 15_000);
    const look = () => {
      const match = /listening on inet:127\.0\.0\.1:(\d+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mailward policy exited with ${code}:\n${text}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    host: '127.0.0.1',
    port,
    child,
    output: () => text,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** One connection, Postfix style: send requests one by one, read each reply. */
export class PolicyClient {
  private buffer = '';
  private waiting: (() => void) | undefined;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      this.waiting?.();
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<PolicyClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new PolicyClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends the attributes as one request; returns the text after `action=`. */
  async ask(attributes: Record<string, string>): Promise<string> {
    const lines = Object.entries(attributes).map(([name, value]) => `${name}=${value}\n`);
    this.socket.write(`${lines.join('')}\n`);
    while (!this.buffer.includes('\n\n')) {
      await new Promise<void>((resolve, reject) => {
        this.waiting = resolve;
        this.socket.once('close', () => reject(new Error('policy service closed the connection')));
      });
    }
    const end = this.buffer.indexOf('\n\n');
    const reply = this.buffer.slice(0, end);
    this.buffer = this.buffer.slice(end + 2);
    if (!reply.startsWith('action=')) throw new Error(`not a policy reply: ${JSON.stringify(reply)}`);
    return reply.slice('action='.length);
  }

  close(): void {
    this.socket.destroy();
  }
}
