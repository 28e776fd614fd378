/**
 * The reported message of a failure report, shared by the ARF and plain-text formats: its header
 * block (attached, or copied inline by Exim and similar), capped in size, with the Subject and the
 * RFC5322.From domain; the body only when the caller asks for it (privacy).
 */
import { decodeWords } from 'postal-mime';
import type { Email } from 'postal-mime';
import type { FailureReport, ParseWarning } from '../model.js';
import { attachmentText, clip, firstAddress, isFieldStart, parseFieldBlock } from './report-mail-text.js';

/** Cap on the reported header block we keep, so one report cannot bloat storage. */
export const MAX_REPORTED_HEADERS_BYTES = 256 * 1024;

/** RFC 5965 §2 allows the full message or its header only; message/rfc822-headers is seen in the wild. */
export const REPORTED_MESSAGE_TYPES = new Set(['message/rfc822', 'text/rfc822-headers', 'message/rfc822-headers']);

/**
 * Header copied into the text body (Exim: after "------ This is a copy of the headers ...").
 * Take the first paragraph that is wholly header fields and has a From or Received field.
 */
export function inlineReportedHeaders(
  text: string,
  warnings: ParseWarning[],
): Pick<FailureReport, 'reportedHeaders' | 'subject' | 'headerFrom'> {
  const paragraphs = text.replace(/\r\n/g, '\n').split(/\n[ \t]*\n/);
  for (const paragraph of paragraphs) {
    const lines = paragraph.replace(/^\n+|\n+$/g, '').split('\n');
    const first = lines[0];
    if (first === undefined || !isFieldStart(first)) continue;
    if (!lines.every((l) => isFieldStart(l) || /^[ \t]/.test(l))) continue;
    if (!lines.some((l) => /^(from|received)[ \t]*:/i.test(l))) continue;
    return { ...headerSummary(capHeaders(lines.join('\n') + '\n', warnings), warnings) };
  }
  warnings.push('reported message: no attached or inline copy of the original header');
  return { reportedHeaders: '' };
}

export function reportedMessage(
  email: Email,
  keepBody: boolean,
  warnings: ParseWarning[],
): Pick<FailureReport, 'reportedHeaders' | 'reportedBody' | 'subject' | 'headerFrom'> {
  const part = email.attachments.find((a) => REPORTED_MESSAGE_TYPES.has(a.mimeType));
  if (!part) {
    warnings.push('reported message: no message/rfc822 or text/rfc822-headers part');
    return { reportedHeaders: '' };
  }
  // One line-ending convention, so a CRLF and an LF copy of the same report compare equal.
  const raw = attachmentText(part).replace(/\r\n/g, '\n');
  const { header, body } = splitHeaderBody(raw);
  const reportedHeaders = capHeaders(header, warnings);
  const summary = headerSummary(reportedHeaders, warnings);
  if (keepBody && body !== undefined) return { ...summary, reportedBody: body };
  return summary;
}

/** Header block = everything up to the first empty line (RFC 5322 §2.1); the rest is the body. */
function splitHeaderBody(raw: string): { header: string; body: string | undefined } {
  const text = raw.replace(/^\n+/, '');
  const end = text.indexOf('\n\n');
  if (end < 0) return { header: text, body: undefined };
  return { header: text.slice(0, end + 1), body: text.slice(end + 2) };
}

/** Cut the header block at a line boundary under the byte cap, with a warning. */
function capHeaders(header: string, warnings: ParseWarning[]): string {
  const bytes = new TextEncoder().encode(header);
  if (bytes.byteLength <= MAX_REPORTED_HEADERS_BYTES) return header;
  const slice = bytes.subarray(0, MAX_REPORTED_HEADERS_BYTES);
  const lastNewline = slice.lastIndexOf(0x0a);
  const kept = new TextDecoder().decode(lastNewline > 0 ? slice.subarray(0, lastNewline + 1) : slice);
  warnings.push(
    `reported message: header block of ${bytes.byteLength} bytes cut to ${MAX_REPORTED_HEADERS_BYTES} bytes`,
  );
  return kept;
}

/** Subject (encoded words decoded, otherwise verbatim) and the From domain of the reported header. */
function headerSummary(
  header: string,
  warnings: ParseWarning[],
): Pick<FailureReport, 'reportedHeaders' | 'subject' | 'headerFrom'> {
  const fields = parseFieldBlock(header, []);
  const subjectRaw = fields.get('subject')?.[0];
  const fromRaw = fields.get('from')?.[0];
  const headerFrom = fromRaw === undefined ? undefined : fromDomain(fromRaw);
  if (header !== '' && headerFrom === undefined) {
    warnings.push(
      fromRaw === undefined
        ? 'reported message: no From field'
        : `reported message: no address in From "${clip(fromRaw)}"`,
    );
  }
  return {
    reportedHeaders: header,
    subject: subjectRaw === undefined ? undefined : decodeWords(subjectRaw),
    headerFrom,
  };
}

/** The RFC5322.From domain, lower-cased as DMARC compares it (RFC 7489 §3.1). */
function fromDomain(value: string): string | undefined {
  const address = firstAddress(value);
  if (address === undefined) return undefined;
  const at = address.lastIndexOf('@');
  return at < 0 ? undefined : address.slice(at + 1).toLowerCase();
}
