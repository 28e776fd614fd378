/**
 * The status line of `mailward scan` on a terminal: a bar, the share of the list done, the rate and
 * the time left. Progress is counted in lines of the list (its length is counted before the scan
 * starts), so the lines a resumed scan skips move the bar too; the rate is domains audited.
 */
import { createReadStream } from 'node:fs';

export interface Progress {
  /** Lines of the list fully handled (read, and audited or skipped). */
  readonly linesDone: number;
  readonly linesTotal: number;
  readonly scanned: number;
  readonly skipped: number;
  readonly badLines: number;
  readonly seconds: number;
}

const BAR_WIDTH = 24;

export function progressLine(p: Progress): string {
  const share = p.linesTotal === 0 ? 1 : Math.min(1, p.linesDone / p.linesTotal);
  const filled = Math.round(share * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const rate = p.scanned / Math.max(p.seconds, 0.001);
  const linesPerSecond = p.linesDone / Math.max(p.seconds, 0.001);
  const left = linesPerSecond > 0 ? (p.linesTotal - p.linesDone) / linesPerSecond : Number.POSITIVE_INFINITY;
  const count = (n: number) => n.toLocaleString('en-US');
  return [
    `${bar} ${(share * 100).toFixed(0).padStart(3)}%`,
    `${count(p.linesDone)}/${count(p.linesTotal)} lines`,
    `${count(p.scanned)} scanned, ${count(p.skipped)} skipped, ${count(p.badLines)} bad`,
    `${rate.toFixed(0)} domains/s`,
    `ETA ${duration(left)}`,
  ].join(' · ');
}

/** "0:07", "12:30", "3:04:05"; "?" before there is a rate. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** Lines in a file (a last line without a newline counts), read as a stream in constant memory. */
export async function countLines(path: string): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines += 1;
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
  }
  return last === 10 ? lines : lines + 1;
}
