/**
 * DMARC failure report parser: turns one report e-mail into a FailureReport.
 *
 * - ARF (RFC 5965 §3): a multipart/report whose message/feedback-report part is a block of
 *   "Name: value" fields (§3.1, folding allowed, names case-insensitive), followed by the reported
 *   message as message/rfc822 or text/rfc822-headers (§2).
 * - RFC 6591 §3: Feedback-Type must be auth-failure; Auth-Failure (§3.2.2), Delivery-Result and the
 *   DKIM-* fields describe what failed.
 * - RFC 9991: Identity-Alignment (which identifiers aligned: dkim, spf, none).
 * - Non-ARF variants (e.g. Exim): a plain text body with "Sender Domain: ...", "Sender IP Address:
 *   ..." lines and the original header copied inline or attached.
 *
 * Only the reported message's header block is kept unless the caller asks for the body (privacy).
 * Values are kept verbatim (they may hold HTML or SQL; escaping is the consumer's job). Bad input
 * never throws: it yields { ok: false, reason }.
 */
import { createHash } from 'node:crypto';
import PostalMime from 'postal-mime';
import type { Attachment, Email } from 'postal-mime';
import type { FailureReport, ParseResult, ParseWarning } from '../model.js';
import { parseRfc5322Date } from './rfc5322-date.js';
import { repairWhitespaceSeparators } from './mime-blank-lines.js';
import { attachmentText, clip, parseFieldBlock, stripAngles } from './report-mail-text.js';
import { REPORTED_MESSAGE_TYPES, inlineReportedHeaders, reportedMessage } from './reported-message.js';

export { MAX_REPORTED_HEADERS_BYTES } from './reported-message.js';

export interface FailureReportOptions {
  /** Keep the reported message's body in reportedBody (off by default: it is someone's mail). */
  readonly keepBody?: boolean;
}

/** Refuse whole messages above this size: a report is a few KiB, anything this big is abuse. */
export const MAX_REPORT_MESSAGE_BYTES = 50 * 1024 * 1024;

const FEEDBACK_REPORT_TYPE = 'message/feedback-report';
/** RFC 6591 §3.2.2 and the later additions registered by IANA. */
const AUTH_FAILURE_VALUES = new Set(['adsp', 'bodyhash', 'revoked', 'signature', 'spf', 'dmarc', 'dkim']);
/** The Delivery-Result values RFC 6591 defines. */
const DELIVERY_RESULT_VALUES = new Set(['delivered', 'spam', 'policy', 'reject', 'other']);

/** Parses a DMARC failure report e-mail (ARF auth-failure or a common plain-text variant). */
export async function parseFailureReport(
  message: Uint8Array,
  options?: FailureReportOptions,
): Promise<ParseResult<FailureReport>> {
  try {
    if (!(message instanceof Uint8Array)) return fail('failure report: input is not a Uint8Array');
    if (message.byteLength > MAX_REPORT_MESSAGE_BYTES) {
      return fail(
        `failure report: message is ${message.byteLength} bytes, over the ${MAX_REPORT_MESSAGE_BYTES}-byte limit`,
      );
    }
    const repair = repairWhitespaceSeparators(message);
    const early: ParseWarning[] =
      repair.repaired === 0
        ? []
        : [`${repair.repaired} MIME header block(s) ended by a line of only whitespace, read as an empty line`];
    let email: Email;
    try {
      // forceRfc822Attachments: the reported message must stay raw bytes, not be merged into text/html.
      email = await PostalMime.parse(repair.bytes, { attachmentEncoding: 'arraybuffer', forceRfc822Attachments: true });
    } catch (err) {
      return fail(`failure report: not a parsable MIME message: ${errorText(err)}`);
    }
    const keepBody = options?.keepBody === true;
    const arfPart = email.attachments.find((a) => a.mimeType === FEEDBACK_REPORT_TYPE);
    if (arfPart) return parseArf(email, arfPart, keepBody, early);
    return parseNonArf(email, keepBody, early);
  } catch (err) {
    // Last line of defence: a bug or an unforeseen input must not escape as an exception.
    return fail(`failure report: unexpected error: ${errorText(err)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// ARF (RFC 5965, RFC 6591, RFC 9991)

function parseArf(
  email: Email,
  arfPart: Attachment,
  keepBody: boolean,
  early: readonly ParseWarning[],
): ParseResult<FailureReport> {
  const warnings: ParseWarning[] = [...early];
  const fields = parseFieldBlock(attachmentText(arfPart), warnings);
  const feedbackType = fields.get('feedback-type')?.[0]?.toLowerCase();
  if (feedbackType === undefined || feedbackType === '') {
    return fail('not a DMARC failure report: the message/feedback-report part has no Feedback-Type');
  }
  if (feedbackType !== 'auth-failure') {
    return fail(`not a DMARC failure report: Feedback-Type is "${feedbackType}", expected "auth-failure"`);
  }
  // User-Agent and Version are required by RFC 5965 §3.1 but have no place in the model.
  for (const required of ['user-agent', 'version']) {
    if (!fields.has(required)) warnings.push(`feedback-report: required field ${required} is missing`);
  }
  const one = (name: string): string | undefined => singleField(fields, name, warnings);

  const authFailure = one('auth-failure');
  if (authFailure === undefined) warnings.push('feedback-report: Auth-Failure is missing (required by RFC 6591)');
  else if (!AUTH_FAILURE_VALUES.has(authFailure.toLowerCase())) {
    warnings.push(`feedback-report: Auth-Failure "${authFailure}" is not a registered value`);
  }
  const deliveryResult = one('delivery-result');
  if (deliveryResult !== undefined && !DELIVERY_RESULT_VALUES.has(deliveryResult.toLowerCase())) {
    warnings.push(`feedback-report: Delivery-Result "${deliveryResult}" is not an RFC 6591 value`);
  }
  const sourceIp = one('source-ip');
  if (sourceIp !== undefined) checkIp('feedback-report: Source-IP', sourceIp, warnings);
  // Received-Date is the name early ARF drafts used for Arrival-Date; some reporters still send it.
  const arrivalRaw = one('arrival-date') ?? one('received-date');
  const arrivalDate = dateField('feedback-report: Arrival-Date', arrivalRaw, warnings);
  const mailFromRaw = one('original-mail-from');
  const originalMailFrom = mailFromRaw === undefined ? undefined : stripAngles(mailFromRaw);
  const rcptToRaw = one('original-rcpt-to');

  const reported = reportedMessage(email, keepBody, warnings);
  const reporter = reporterOf(email, one('reporting-mta'), warnings);
  const reportId = reportIdOf(email, [reporter, arrivalDate, sourceIp, originalMailFrom], warnings);

  return {
    ok: true,
    report: {
      kind: 'failure',
      format: 'arf',
      reporter,
      reportId,
      arrivalDate,
      sourceIp,
      authFailure,
      identityAlignment: one('identity-alignment'),
      deliveryResult,
      originalMailFrom,
      originalRcptTo: rcptToRaw === undefined ? undefined : stripAngles(rcptToRaw),
      reportedDomain: one('reported-domain'),
      dkimDomain: one('dkim-domain'),
      dkimSelector: one('dkim-selector'),
      authenticationResults: one('authentication-results'),
      ...reported,
      warnings,
    },
  };
}

/** The model keeps one value per field: take the first and say so when there were more. */
function singleField(fields: Map<string, string[]>, name: string, warnings: ParseWarning[]): string | undefined {
  const values = fields.get(name);
  if (!values || values.length === 0) return undefined;
  if (values.length > 1) warnings.push(`feedback-report: ${name} given ${values.length} times, kept the first`);
  return values[0];
}

// ---------------------------------------------------------------------------------------------
// Non-ARF plain-text reports (Exim and similar)

type LabelKey = 'domain' | 'ip' | 'date' | 'spf' | 'dkim' | 'dmarc' | 'mailFrom';

/** Labels seen in plain-text failure reports, lower-cased, mapped to what they tell us. */
const TEXT_LABELS: ReadonlyMap<string, LabelKey> = new Map([
  ['sender domain', 'domain'],
  ['reported domain', 'domain'],
  ['sender ip address', 'ip'],
  ['sender ip', 'ip'],
  ['source ip', 'ip'],
  ['received date', 'date'],
  ['arrival date', 'date'],
  ['spf alignment', 'spf'],
  ['dkim alignment', 'dkim'],
  ['dmarc results', 'dmarc'],
  ['dmarc result', 'dmarc'],
  ['original mail from', 'mailFrom'],
]);

function parseNonArf(email: Email, keepBody: boolean, early: readonly ParseWarning[]): ParseResult<FailureReport> {
  const text = email.text ?? '';
  const labels = textLabels(text);
  // Two labelled lines, one naming the domain or IP, before we believe this is a report: a
  // stray "Sender IP:" in ordinary mail must not turn it into one.
  if (labels.size < 2 || !(labels.has('domain') || labels.has('ip'))) {
    return fail('not a DMARC failure report: no message/feedback-report part and no recognisable failure-report text');
  }
  const warnings: ParseWarning[] = [...early];
  const reportedDomain = labels.get('domain');
  const sourceIp = labels.get('ip');
  if (reportedDomain === undefined) warnings.push('text report: no Sender Domain line');
  if (sourceIp === undefined) warnings.push('text report: no Sender IP Address line');
  else checkIp('text report: Sender IP Address', sourceIp, warnings);
  const dateRaw = labels.get('date');
  if (dateRaw === undefined) warnings.push('text report: no Received Date line');
  const arrivalDate = dateField('text report: Received Date', dateRaw, warnings);
  const mailFromRaw = labels.get('mailFrom');
  const originalMailFrom = mailFromRaw === undefined ? undefined : stripAngles(mailFromRaw);
  if (originalMailFrom === undefined) warnings.push('text report: no envelope sender (Original-Mail-From) given');

  const identityAlignment = alignmentFromText(labels.get('spf'), labels.get('dkim'));
  if (identityAlignment === undefined) warnings.push('text report: no SPF/DKIM Alignment lines');
  // A plain-text report names no Auth-Failure; it is a DMARC failure when neither identifier
  // aligned or when the text says the DMARC policy failed.
  const dmarcFailed = identityAlignment === 'none' || /\bfail(?:ed|ure|s)?\b[^\n]*\bDMARC\b/i.test(text);
  if (!dmarcFailed) warnings.push('text report: cannot tell what failed (no Auth-Failure equivalent)');
  const dmarcResults = labels.get('dmarc');
  if (dmarcResults !== undefined) {
    warnings.push(`text report: DMARC Results "${dmarcResults}" has no Delivery-Result equivalent; not mapped`);
  }

  const reported = email.attachments.some((a) => REPORTED_MESSAGE_TYPES.has(a.mimeType))
    ? reportedMessage(email, keepBody, warnings)
    : inlineReportedHeaders(text, warnings);
  const reporter = reporterOf(email, undefined, warnings);
  const reportId = reportIdOf(email, [reporter, arrivalDate, sourceIp, originalMailFrom], warnings);

  return {
    ok: true,
    report: {
      kind: 'failure',
      format: 'non-arf',
      reporter,
      reportId,
      arrivalDate,
      sourceIp,
      authFailure: dmarcFailed ? 'dmarc' : undefined,
      identityAlignment,
      originalMailFrom,
      reportedDomain,
      ...reported,
      warnings,
    },
  };
}

/** "  Label: value" lines of the text body; the first occurrence of each label wins. */
function textLabels(text: string): Map<LabelKey, string> {
  const found = new Map<LabelKey, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^[ \t]*([A-Za-z][A-Za-z -]*?)[ \t]*:[ \t]*(.*?)[ \t]*$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined || match[2] === '') continue;
    const key = TEXT_LABELS.get(match[1].toLowerCase().replace(/-/g, ' '));
    if (key !== undefined && !found.has(key)) found.set(key, match[2]);
  }
  return found;
}

/** RFC 9991 Identity-Alignment from "SPF Alignment: yes/no" and "DKIM Alignment: yes/no". */
function alignmentFromText(spf: string | undefined, dkim: string | undefined): string | undefined {
  if (spf === undefined && dkim === undefined) return undefined;
  const yes = (v: string | undefined): boolean => v !== undefined && /^(yes|pass|true|aligned)\b/i.test(v);
  const aligned = [...(yes(dkim) ? ['dkim'] : []), ...(yes(spf) ? ['spf'] : [])];
  return aligned.length === 0 ? 'none' : aligned.join(',');
}

// ---------------------------------------------------------------------------------------------
// Report identity

/** The report's From address; Reporting-MTA (RFC 5965 §3.2) when From has none. */
function reporterOf(email: Email, reportingMta: string | undefined, warnings: ParseWarning[]): string {
  const from = email.from;
  const address = from?.address ?? from?.group?.[0]?.address;
  if (address) return address;
  if (reportingMta) return reportingMta.replace(/^dns\s*;\s*/i, '');
  warnings.push('report: no From address and no Reporting-MTA; reporter unknown');
  return '';
}

/** Message-ID without angle brackets, or a stable hash of what identifies the incident. */
function reportIdOf(email: Email, parts: readonly (string | number | undefined)[], warnings: ParseWarning[]): string {
  const messageId = email.messageId === undefined ? '' : stripAngles(email.messageId);
  if (messageId !== '') return messageId;
  warnings.push('report: no Message-ID; reportId derived from reporter, arrival date, source IP and mail from');
  return createHash('sha256')
    .update(JSON.stringify(parts.map((p) => p ?? null)))
    .digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Small value helpers

function fail(reason: string): ParseResult<FailureReport> {
  return { ok: false, reason };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkIp(where: string, value: string, warnings: ParseWarning[]): void {
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  if (ipv4 && ipv4.slice(1).every((o) => Number(o) <= 255)) return;
  if (value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value)) return;
  warnings.push(`${where}: "${clip(value)}" is not an IP address`);
}

function dateField(where: string, raw: string | undefined, warnings: ParseWarning[]): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const epoch = parseRfc5322Date(raw);
  if (epoch === undefined) warnings.push(`${where}: cannot parse date "${clip(raw)}"`);
  return epoch;
}
