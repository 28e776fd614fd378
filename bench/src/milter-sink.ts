/**
 * Where the bench's Postfix relays to: Postfix's own smtp-sink (C, single process, event-driven),
 * so delivery costs the machine little and the same for both sides. With a dump directory it
 * writes each message to its own file (smtp-sink -d), which the correctness round reads back;
 * smtp-sink prepends X-Client-*, X-*-Args and a Received field, and ends lines with LF.
 */
import { Buffer } from 'node:buffer';
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startMilterProcess, type MilterProcess } from './milter-process.js';

export interface Sink {
  readonly port: number;
  /**
   * Messages dumped since the last call, CRLF line ends restored (only with a dump directory).
   * File names (time + random suffix) do not sort in arrival order, so it tracks what it has read.
   */
  takeMessages(): Promise<Buffer[]>;
  stop(): Promise<void>;
}

export async function startSink(port: number, workDir: string, dumpDir?: string): Promise<Sink> {
  const args = ['-u', 'postfix', '-m', '1024'];
  if (dumpDir) {
    await mkdir(dumpDir, { recursive: true });
    await chmod(dumpDir, 0o777); // smtp-sink writes as the postfix user (-u)
    args.push('-d', join(dumpDir, '%H%M%S.'));
  }
  args.push(`127.0.0.1:${port}`, '256');
  const process: MilterProcess = await startMilterProcess({
    name: 'smtp-sink',
    command: '/usr/sbin/smtp-sink',
    args,
    listen: { port },
    logPath: join(workDir, `smtp-sink-${port}.log`),
  });
  const taken = new Set<string>();
  return {
    port,
    async takeMessages() {
      if (!dumpDir) return [];
      const names = (await readdir(dumpDir)).filter((name) => !taken.has(name));
      const out: Buffer[] = [];
      for (const name of names) {
        taken.add(name);
        const text = (await readFile(join(dumpDir, name))).toString('latin1');
        out.push(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'));
      }
      return out;
    },
    async stop() {
      await process.stop();
      if (dumpDir) await rm(dumpDir, { recursive: true, force: true });
    },
  };
}
