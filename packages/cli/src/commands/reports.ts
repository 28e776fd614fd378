/**
 * `mailward reports ingest|summary|export|demo`: thin wrappers over @mailward/reports with a store
 * and sources from @mailward/adapters.
 */
import type { DataMinimum, IngestCounts, ReportSource, ReportStore, SummaryFilter } from '@mailward/reports';
import { demoReportFiles, ingest, summarize } from '@mailward/reports';
import { FileSource, ImapSource, MaildirSource, MboxSource } from '@mailward/adapters';
import { renderSummaryText } from '../render/report-summary.js';
import { EXPORT_COLUMNS, exportJson } from './reports-export.js';
import { describeSystemError } from '@mailward/adapters';
import type { CommandResult } from './result.js';
import { runError, usageError } from './result.js';

export type SourceSetup =
  | { readonly ok: true; readonly source: ReportSource; readonly imap?: ImapSource }
  | { readonly ok: false; readonly reason: string };

/** A file or directory, mbox:FILE, maildir:DIR, or imap[s]://user[:password]@host[:port]/FOLDER?archive=A&invalid=I. */
export function sourceFor(spec: string, imapPassword?: string): SourceSetup {
  if (spec.startsWith('mbox:')) return { ok: true, source: new MboxSource(spec.slice(5)) };
  if (spec.startsWith('maildir:')) return { ok: true, source: new MaildirSource(spec.slice(8)) };
  if (/^imaps?:\/\//i.test(spec)) return imapSource(spec, imapPassword);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    return {
      ok: false,
      reason: `${spec}: unsupported source (use a file or directory, mbox:FILE, maildir:DIR or imap[s]://...)`,
    };
  }
  return { ok: true, source: new FileSource(spec) };
}

function imapSource(spec: string, envPassword: string | undefined): SourceSetup {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return { ok: false, reason: `${JSON.stringify(spec)} is not a valid imap:// URL` };
  }
  const secure = url.protocol === 'imaps:';
  const user = decodeURIComponent(url.username);
  const password = url.password === '' ? envPassword : decodeURIComponent(url.password);
  if (user === '')
    return { ok: false, reason: `${url.protocol}//${url.host}: give the user name (imap://USER@host/INBOX)` };
  if (password === undefined || password === '') {
    return { ok: false, reason: `${url.protocol}//${user}@${url.host}: no password (set MAILWARD_IMAP_PASSWORD)` };
  }
  const mailbox = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'INBOX';
  const imap = new ImapSource({
    host: url.hostname,
    port: url.port === '' ? (secure ? 993 : 143) : Number(url.port),
    secure,
    user,
    password,
    mailbox,
    archive: url.searchParams.get('archive') ?? 'Archive',
    invalid: url.searchParams.get('invalid') ?? 'Invalid',
  });
  return { ok: true, source: imap, imap };
}

export interface IngestArgs {
  readonly inputs: readonly string[];
  readonly keepFailureBodies: boolean;
  readonly json: boolean;
  /** Keep reading IMAP folders, waiting for new mail with IDLE, until `stop` is aborted. */
  readonly watch?: boolean;
}

export interface IngestDeps {
  readonly imapPassword?: string | undefined;
  readonly progress?: (line: string) => void;
  readonly stop?: AbortSignal;
}

export async function ingestCommand(
  args: IngestArgs,
  store: ReportStore,
  deps: IngestDeps = {},
): Promise<CommandResult> {
  if (args.watch === true) return watchCommand(args, store, deps);
  const total: IngestCounts = { items: 0, aggregate: 0, failure: 0, tls: 0, duplicates: 0, quarantined: 0 };
  const problems: string[] = [];
  for (const input of args.inputs) {
    const source = sourceFor(input, deps.imapPassword);
    if (!source.ok) return usageError('reports ingest', source.reason);
    let result;
    try {
      result = await ingest(source.source, store, {
        keepFailureBodies: args.keepFailureBodies,
        onItem: (event) => {
          if (event.outcome === 'quarantined' || event.outcome === 'partly-quarantined') {
            if (problems.length < 50) problems.push(`${event.item}: ${event.detail}`);
          }
        },
      });
    } catch (error) {
      return runError(
        'reports ingest',
        `${source.imap?.describe() ?? input}: ${describeSystemError(error) ?? (error as Error).message}`,
      );
    } finally {
      await source.imap?.close();
    }
    for (const key of Object.keys(total) as (keyof IngestCounts)[]) total[key] += result.counts[key];
    // Say so when an input held nothing: a wrong folder or a file that is not an mbox reads as 0.
    if (result.counts.items === 0) {
      const expected = input.startsWith('mbox:')
        ? 'an mbox file, messages after "From " lines'
        : input.startsWith('maildir:')
          ? 'a Maildir, with messages in new/ and cur/'
          : 'report files or a directory holding some';
      problems.push(`${input}: nothing found to read (expected ${expected})`);
    }
    if (!result.ok) return { ...runError('reports ingest', result.reason), stdout: countsText(total, problems) };
  }
  return {
    exitCode: 0,
    stdout: args.json ? `${JSON.stringify(total, null, 2)}\n` : countsText(total, problems),
    stderr: '',
  };
}

/**
 * Watch mode (IMAP only): ingest what is there, then wait for new mail (IDLE) and ingest again,
 * until stopped. A lost connection or a failing server is retried with growing delays (1 s to
 * 60 s); each round prints its counts as it ends.
 */
async function watchCommand(args: IngestArgs, store: ReportStore, deps: IngestDeps): Promise<CommandResult> {
  const sources = args.inputs.map((input) => sourceFor(input, deps.imapPassword));
  const bad = sources.find((s) => !s.ok || s.imap === undefined);
  if (bad !== undefined) {
    return usageError('reports ingest', bad.ok ? '--watch needs imap:// or imaps:// inputs' : bad.reason);
  }
  const imaps = sources.map((s) => (s.ok ? s.imap : undefined)).filter((s): s is ImapSource => s !== undefined);
  const say = deps.progress ?? (() => undefined);
  let delay = 1000;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      deps.stop?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  // A function, not a narrowed property: the signal changes while we await.
  const stopped = (): boolean => deps.stop?.aborted === true;
  while (!stopped()) {
    for (const imap of imaps) {
      try {
        const result = await ingest(imap, store, { keepFailureBodies: args.keepFailureBodies });
        if (result.counts.items > 0) say(`${imap.describe()}: ${countsText(result.counts, []).trimEnd()}`);
        if (!result.ok) return runError('reports ingest', result.reason);
        delay = 1000;
      } catch (error) {
        say(`${imap.describe()}: ${(error as Error).message}; retrying in ${delay / 1000} s`);
        await imap.close().catch(() => undefined);
        await sleep(delay);
        delay = Math.min(delay * 2, 60_000);
      }
    }
    if (stopped()) break;
    // One folder is watched with IDLE; with several, they are polled every 30 s.
    if (imaps.length === 1) await (imaps[0] as ImapSource).waitForMail(30_000, deps.stop).catch(() => sleep(delay));
    else await sleep(30_000);
  }
  for (const imap of imaps) await imap.close();
  return { exitCode: 0, stdout: '', stderr: '' };
}

function countsText(c: IngestCounts, problems: readonly string[]): string {
  const lines = [
    `Read ${c.items} item${c.items === 1 ? '' : 's'}: stored ${c.aggregate} aggregate, ${c.failure} failure and ${c.tls} SMTP TLS reports; ${c.duplicates} already stored; ${c.quarantined} quarantined`,
    ...problems.map((p) => `  ${p}`),
  ];
  return `${lines.join('\n')}\n`;
}

export interface SummaryArgs {
  readonly filter: SummaryFilter;
  readonly json: boolean;
  /** The data readiness needs before it judges (defaults: DEFAULT_DATA_MINIMUM). */
  readonly minimum?: DataMinimum;
}

export async function summaryCommand(args: SummaryArgs, store: ReportStore): Promise<CommandResult> {
  const summary = await summarize(store, args.filter, args.minimum === undefined ? {} : { minimum: args.minimum });
  return {
    exitCode: 0,
    stdout: args.json ? `${JSON.stringify(summary, null, 2)}\n` : renderSummaryText(summary),
    stderr: '',
  };
}

export async function exportCommand(
  args: { readonly filter: SummaryFilter; readonly format: 'csv' | 'json' },
  store: ReportStore,
): Promise<CommandResult> {
  const out: string[] = [];
  if (args.format === 'csv') out.push(EXPORT_COLUMNS.map((c) => c.name).join(','));
  for await (const row of store.aggregateRows(args.filter)) {
    out.push(
      args.format === 'csv'
        ? EXPORT_COLUMNS.map((c) => csvField(c.value(row))).join(',')
        : JSON.stringify(exportJson(row)),
    );
  }
  return { exitCode: 0, stdout: out.length === 0 ? '' : `${out.join('\n')}\n`, stderr: '' };
}

/**
 * RFC 4180 quoting, plus a leading "'" on values a spreadsheet would run as a formula (=, +, -, @,
 * tab, CR): report fields come from strangers (OWASP "CSV injection").
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'boolean' ? (value ? 'true' : 'false') : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export interface DemoArgs {
  readonly directory: string;
  /** False when the directory is temporary and removed after the ingest. */
  readonly kept: boolean;
  readonly now: number;
  readonly json: boolean;
}

/** Writes the demo reports to `directory` (through `writeFiles`), ingests them and prints the summary. */
export async function demoCommand(
  args: DemoArgs,
  deps: {
    readonly store: ReportStore;
    readonly storeDescription: string;
    readonly writeFiles: (directory: string, files: readonly { name: string; bytes: Uint8Array }[]) => Promise<void>;
  },
): Promise<CommandResult> {
  const files = demoReportFiles(args.now);
  await deps.writeFiles(args.directory, files);
  const ingested = await ingestCommand({ inputs: [args.directory], keepFailureBodies: false, json: false }, deps.store);
  if (ingested.exitCode !== 0) return ingested;
  const summary = await summaryCommand({ filter: { domain: 'example.com' }, json: args.json }, deps.store);
  const header = args.json
    ? ''
    : `${args.kept ? `Wrote ${files.length} demo report files to ${args.directory}` : `Generated ${files.length} demo report files`}; ingesting into ${deps.storeDescription}\n${ingested.stdout}\n`;
  return { exitCode: 0, stdout: header + summary.stdout, stderr: '' };
}

/** `--until`: a day counts whole (up to the next UTC midnight); a date-time is the exact end. */
export function parseUntil(text: string): number | undefined {
  const at = parseSince(text);
  return at === undefined || text.length !== 10 ? at : at + 86_400;
}

/** "YYYY-MM-DD" or an ISO date-time (UTC unless it says otherwise) → epoch seconds; a day that does not exist is refused. */
export function parseSince(text: string): number | undefined {
  const shape = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (shape === null) return undefined;
  const [year, month, day] = [Number(shape[1]), Number(shape[2]), Number(shape[3])];
  // Date.parse rolls 2024-02-30 over to March 1: the day must exist.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) {
    return undefined;
  }
  const time = shape[4] === undefined ? 'T00:00:00' : `T${shape[4]}`;
  const offset = (shape[5] ?? 'Z').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(`${shape[1]}-${shape[2]}-${shape[3]}${time}${offset}`);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}
