/** Runs a Node program in a child process and returns its wall time and its own peak RSS. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ChildRun {
  readonly ms: number;
  readonly maxRssMb: number;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runMeasured(args: readonly string[], scratchDir: string): ChildRun {
  // A preload that prints the child's peak RSS as it exits.
  const preload = join(scratchDir, 'maxrss.cjs');
  writeFileSync(
    preload,
    "process.on('exit', () => process.stderr.write('MAXRSS ' + process.resourceUsage().maxRSS + '\\n'));\n",
  );
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--require', preload, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    ms: performance.now() - started,
    maxRssMb: Number(/MAXRSS (\d+)/.exec(child.stderr)?.[1] ?? 0) / 1024,
    status: child.status,
    stdout: child.stdout,
    stderr: child.stderr,
  };
}
