/**
 * Finds the reports inside whatever arrived: a mail (multipart, attachments, base64), gzip, zip,
 * raw XML or JSON, nested in any order. Formats are recognised by content (magic bytes and the
 * first characters), never by file name or declared content type, which reporters get wrong.
 *
 * Bombs are refused with a clear reason: decompressed bytes are counted against one budget for the
 * whole input (gzip through zlib's maxOutputLength, zip member by member as it inflates), zip
 * member counts and nesting depth are capped.
 */
import { Buffer } from 'node:buffer';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { Unzip, UnzipInflate } from 'fflate';
import PostalMime from 'postal-mime';

export type ReportPartKind = 'aggregate' | 'tls' | 'failure';

export interface ReportPart {
  readonly kind: ReportPartKind;
  readonly bytes: Uint8Array;
  /** Where it was found, e.g. "attachment report.xml.gz > gzip". */
  readonly path: string;
}

export interface UnpackLimits {
  /** Decompressed bytes over the whole input (default 128 MiB; larger gzip XML reports are streamed instead). */
  readonly maxDecompressedBytes: number;
  /** Members of one zip archive (default 100). */
  readonly maxZipMembers: number;
  /** Containers inside containers (default 5). */
  readonly maxDepth: number;
  /** A mail larger than this is not parsed (default 32 MiB: parsing MIME takes several times the size in memory). */
  readonly maxMailBytes: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxDecompressedBytes: 128 * 1024 * 1024,
  maxZipMembers: 100,
  maxDepth: 5,
  maxMailBytes: 32 * 1024 * 1024,
};

export type UnpackResult =
  | { readonly ok: true; readonly parts: readonly ReportPart[]; readonly skipped: readonly string[] }
  | { readonly ok: false; readonly reason: string };

class UnpackProblem extends Error {}

/** What the bytes look like, from their first bytes. */
export type ContentKind = 'gzip' | 'zip' | 'xml' | 'json' | 'mail' | 'unknown';

export function sniff(bytes: Uint8Array): ContentKind {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'zip';
  const head = Buffer.from(bytes.subarray(0, 2048)).toString('latin1');
  const start = head.replace(/^(\xef\xbb\xbf)?[\s]*/, '');
  if (start.startsWith('<')) return 'xml';
  if (start.startsWith('{')) return 'json';
  // A mail starts with header fields: "Name: value" lines (RFC 5322 §2.2), possibly a mbox "From " line.
  if (/^(From [^\r\n]*\r?\n)?[!-9;-~]+:[^\r\n]*\r?\n/.test(start)) return 'mail';
  return 'unknown';
}

/**
 * The size a gzip file expands to, from its trailer (RFC 1952 §2.3.1 ISIZE: the size modulo 2^32 of
 * the last member); at least the compressed size, so a wrapped value never looks small.
 */
export function gzipExpandedSize(bytes: Uint8Array): number {
  if (bytes.length < 18) return bytes.length;
  const at = bytes.length - 4;
  const isize =
    ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>>
    0;
  return Math.max(isize, bytes.length);
}

class Budget {
  used = 0;
  constructor(readonly limits: UnpackLimits) {}
  left(): number {
    return this.limits.maxDecompressedBytes - this.used;
  }
  spend(bytes: number, where: string): void {
    this.used += bytes;
    if (this.used > this.limits.maxDecompressedBytes) {
      throw new UnpackProblem(
        `${where}: expands beyond ${this.limits.maxDecompressedBytes} bytes (a decompression bomb?)`,
      );
    }
  }
}

/** Unpacks one input (a file's or a message's bytes) into the report parts it holds. */
export async function unpackReports(bytes: Uint8Array, limits: Partial<UnpackLimits> = {}): Promise<UnpackResult> {
  const budget = new Budget({ ...DEFAULT_UNPACK_LIMITS, ...limits });
  const parts: ReportPart[] = [];
  const skipped: string[] = [];
  try {
    await visit(bytes, 'input', 0, budget, parts, skipped);
  } catch (error) {
    if (error instanceof UnpackProblem) return { ok: false, reason: error.message };
    throw error;
  }
  if (parts.length === 0) {
    return { ok: false, reason: `no report found${skipped.length > 0 ? `: ${skipped.slice(0, 5).join('; ')}` : ''}` };
  }
  return { ok: true, parts, skipped };
}

async function visit(
  bytes: Uint8Array,
  path: string,
  depth: number,
  budget: Budget,
  parts: ReportPart[],
  skipped: string[],
): Promise<void> {
  if (depth > budget.limits.maxDepth)
    throw new UnpackProblem(`${path}: nested deeper than ${budget.limits.maxDepth} containers`);
  switch (sniff(bytes)) {
    case 'gzip':
      return visit(gunzip(bytes, path, budget), `${path} > gzip`, depth + 1, budget, parts, skipped);
    case 'zip':
      for (const member of unzip(bytes, path, budget)) {
        await visit(member.bytes, `${path} > zip:${member.name}`, depth + 1, budget, parts, skipped);
      }
      return;
    case 'xml':
      parts.push({ kind: 'aggregate', bytes, path });
      return;
    case 'json':
      parts.push({ kind: 'tls', bytes, path });
      return;
    case 'mail':
      return visitMail(bytes, path, depth, budget, parts, skipped);
    case 'unknown':
      if (bytes.length === 0) skipped.push(`${path}: empty`);
      else skipped.push(`${path}: not a report (unrecognised content)`);
  }
}

function gunzip(bytes: Uint8Array, path: string, budget: Budget): Uint8Array {
  const maxOutputLength = Math.max(1, budget.left()) + 1;
  let out: Buffer;
  try {
    out = gunzipSync(bytes, { maxOutputLength });
  } catch (error) {
    if (isTooLarge(error)) throw bomb(path, budget);
    // Some reporters (seen from Mimecast) append bytes after the gzip member, which zlib then
    // reads as a broken second member. The first member alone is the report.
    const header = gzipHeaderLength(bytes);
    try {
      if (header === undefined) throw error;
      out = inflateRawSync(bytes.subarray(header), { maxOutputLength });
    } catch (second) {
      if (isTooLarge(second)) throw bomb(path, budget);
      throw new UnpackProblem(`${path}: broken gzip data: ${(error as Error).message}`);
    }
  }
  budget.spend(out.length, `${path} > gzip`);
  return out;
}

function isTooLarge(error: unknown): boolean {
  return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError;
}

function bomb(path: string, budget: Budget): UnpackProblem {
  return new UnpackProblem(
    `${path}: gzip expands beyond ${budget.limits.maxDecompressedBytes} bytes (a decompression bomb?)`,
  );
}

/** RFC 1952 §2.3: the fixed 10 bytes, then FEXTRA, FNAME, FCOMMENT and FHCRC when flagged. */
function gzipHeaderLength(bytes: Uint8Array): number | undefined {
  const flags = bytes[3] ?? 0;
  let at = 10;
  if (flags & 4) at += 2 + ((bytes[10] ?? 0) | ((bytes[11] ?? 0) << 8));
  for (const flag of [8, 16]) {
    if (flags & flag) {
      while (at < bytes.length && bytes[at] !== 0) at += 1;
      at += 1;
    }
  }
  if (flags & 2) at += 2;
  return at < bytes.length ? at : undefined;
}

function unzip(bytes: Uint8Array, path: string, budget: Budget): { name: string; bytes: Uint8Array }[] {
  const members: { name: string; chunks: Uint8Array[]; done: boolean }[] = [];
  let problem: string | undefined;
  const unzipper = new Unzip((file) => {
    if (problem !== undefined) return;
    if (members.length >= budget.limits.maxZipMembers) {
      problem = `${path}: zip has more than ${budget.limits.maxZipMembers} members`;
      return;
    }
    if (file.name.endsWith('/')) return; // a directory entry
    const member = { name: file.name.slice(0, 200), chunks: [] as Uint8Array[], done: false };
    members.push(member);
    file.ondata = (error, data, final) => {
      if (problem !== undefined) return;
      if (error !== null) {
        problem = `${path}: zip member ${member.name}: ${error.message}`;
        return;
      }
      budget.used += data.length;
      if (budget.used > budget.limits.maxDecompressedBytes) {
        problem = `${path}: zip member ${member.name} expands beyond ${budget.limits.maxDecompressedBytes} bytes (a decompression bomb?)`;
        file.terminate();
        return;
      }
      member.chunks.push(data);
      if (final) member.done = true;
    };
    file.start();
  });
  unzipper.register(UnzipInflate);
  // Small slices: a deflate slice expands at most ~1000×, so the budget check runs often enough.
  const SLICE = 16 * 1024;
  try {
    for (let at = 0; at < bytes.length && problem === undefined; at += SLICE) {
      unzipper.push(bytes.subarray(at, at + SLICE), at + SLICE >= bytes.length);
    }
  } catch (error) {
    problem ??= `${path}: broken zip data: ${(error as Error).message}`;
  }
  if (problem !== undefined) throw new UnpackProblem(problem);
  const unfinished = members.find((m) => !m.done);
  if (unfinished !== undefined) throw new UnpackProblem(`${path}: zip member ${unfinished.name} is truncated`);
  return members.map((m) => ({ name: m.name, bytes: Buffer.concat(m.chunks) }));
}

/**
 * A mail: a failure report (ARF or a known plain-text variant) is one part as a whole; otherwise
 * every attachment, and a body that is itself a report, is unpacked.
 */
async function visitMail(
  bytes: Uint8Array,
  path: string,
  depth: number,
  budget: Budget,
  parts: ReportPart[],
  skipped: string[],
): Promise<void> {
  if (bytes.length > budget.limits.maxMailBytes) {
    throw new UnpackProblem(
      `${path}: mail of ${bytes.length} bytes is over the ${budget.limits.maxMailBytes}-byte limit`,
    );
  }
  let email: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    email = await PostalMime.parse(bytes, { attachmentEncoding: 'arraybuffer' });
  } catch (error) {
    throw new UnpackProblem(`${path}: cannot parse the mail: ${(error as Error).message}`);
  }
  if (isFailureReport(email)) {
    parts.push({ kind: 'failure', bytes, path });
    return;
  }
  let found = 0;
  for (const attachment of email.attachments) {
    const content = attachment.content;
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : new Uint8Array(content as ArrayBuffer);
    budget.spend(data.length, `${path} > attachment`);
    const before = parts.length;
    await visit(
      data,
      `${path} > attachment ${(attachment.filename ?? attachment.mimeType).slice(0, 100)}`,
      depth + 1,
      budget,
      parts,
      skipped,
    );
    found += parts.length - before;
  }
  // Some reporters put the XML or JSON in the body itself.
  if (found === 0 && email.text !== undefined && /^\s*[<{]/.test(email.text)) {
    const text = Buffer.from(email.text, 'utf8');
    const kind = sniff(text);
    if (kind === 'xml' || kind === 'json')
      parts.push({ kind: kind === 'xml' ? 'aggregate' : 'tls', bytes: text, path: `${path} > body` });
  }
}

function isFailureReport(email: Awaited<ReturnType<typeof PostalMime.parse>>): boolean {
  const feedback = email.attachments.some((a) => a.mimeType.toLowerCase() === 'message/feedback-report');
  if (feedback) return true;
  const contentType = email.headers.find((h) => h.key === 'content-type')?.value ?? '';
  if (/report-type\s*=\s*"?feedback-report/i.test(contentType)) return true;
  // Plain-text failure reports (Exim, Netease and others) announce themselves in the subject.
  const subject = email.subject ?? '';
  return (
    /dmarc\s+(failure|forensic)\s+report|failure report for domain/i.test(subject) &&
    email.attachments.every((a) => !/zip|gzip|xml/i.test(a.mimeType))
  );
}
