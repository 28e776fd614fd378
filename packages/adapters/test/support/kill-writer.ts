/** Runs verdict-writer.ts, lets it append for a while, kills it with SIGKILL and returns what it acknowledged. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export async function appendUntilKilled(args: readonly string[], acknowledged: number): Promise<Set<string>> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./verdict-writer.js', import.meta.url)), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen = new Set<string>();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let buffered = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line !== 'ready') seen.add(`K${line}`);
      // Killed in the middle of its work, not between two appends on purpose: the next append is under way.
      if (seen.size >= acknowledged) resolve();
    });
    void exited.then(() => reject(new Error(`the writer exited early: ${stderr}`)));
  });
  child.kill('SIGKILL');
  const signal = await exited;
  if (signal !== 'SIGKILL') throw new Error(`the writer ended with ${String(signal)}, not SIGKILL: ${stderr}`);
  return seen;
}
