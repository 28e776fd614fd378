/**
 * A long-running milter process for the bench (OpenDKIM, OpenDMARC, `mailward milter`): spawned
 * in its own process group (so stop() reaches anything it forks), output kept in a log file for
 * error messages, ready when its TCP port accepts a connection, killed when the bench exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

export interface MilterProcess {
  readonly name: string;
  /** Postfix's notation: inet:127.0.0.1:PORT or unix:PATH. */
  readonly address: string;
  readonly pid: number;
  log(): string;
  stop(): Promise<void>;
}

export interface StartMilterProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Where it will listen: a loopback TCP port or a Unix socket path. */
  readonly listen: { readonly port: number } | { readonly path: string };
  readonly logPath: string;
  readonly readyTimeoutMs?: number;
}

/** Process groups still running, killed if the bench exits without stopping them. */
const running = new Set<number>();
process.on('exit', () => {
  for (const pid of running) killGroup(pid, 'SIGKILL');
});

/** Registers a process group to kill when the bench exits; returns the unregistering function. */
export function killGroupAtExit(pid: number): () => void {
  running.add(pid);
  return () => running.delete(pid);
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function accepts(listen: StartMilterProcessOptions['listen']): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = 'path' in listen ? connect(listen.path) : connect(listen.port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startMilterProcess(options: StartMilterProcessOptions): Promise<MilterProcess> {
  const logFd = openSync(options.logPath, 'a');
  const child: ChildProcess = spawn(options.command, [...options.args], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: ${options.command} did not start`);
  child.unref();
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const forget = killGroupAtExit(pid);
  const log = (): string => {
    try {
      return readFileSync(options.logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async (): Promise<void> => {
    forget();
    if (exited) return;
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 3000);
    await exit;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  for (;;) {
    if (exited) throw new Error(`${options.name} exited during startup:\n${log()}`);
    if (await accepts(options.listen)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.name} did not listen on ${describe(options.listen)}:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { name: options.name, address: describe(options.listen), pid, log, stop };
}

function describe(listen: StartMilterProcessOptions['listen']): string {
  return 'path' in listen ? `unix:${listen.path}` : `inet:127.0.0.1:${listen.port}`;
}
