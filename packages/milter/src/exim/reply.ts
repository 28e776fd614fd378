/**
 * Encoder of the reply Exim's `spam` condition parses from an rspamd-variant server. Pure.
 *
 * What Exim reads (src/src/spam.c, `spam()`, rspamd branch):
 * - `sscanf("RSPAMD/%7s 0 EX_OK\r\nMetric: default; %7s %lf / %lf / %lf\r\n%n")` must match all
 *   five fields, else the condition DEFERs ("cannot parse spamd output");
 * - directly after the Metric line, `Action: ` up to CR becomes `$spam_action` (at most 31 bytes);
 * - everything after the Metric line (Action line included), CRs dropped and a space put after
 *   every LF, trailing white space cut, becomes `$spam_report` (a 32600-byte buffer);
 * - score >= threshold makes `spam = nobody` true; `spam = nobody:true` is always true.
 *
 * So the reply carries, after the Action line, either the SMTP reply text (for reject and soft
 * reject: "550 5.7.1 ..." / "451 4.7.5 ...", which Exim's `message =` takes code and all,
 * smtp_in.c `smtp_message_code()`), or the header fields to add. Exim's folding turns every line
 * into a continuation of the first; the documented ACL (docs/exim.md) splits them again before
 * each line that starts with a field name and adds each one `:at_start:`. Exim adds lines put
 * `:at_start:` in reverse order (spec "Adding header lines in ACLs"), so the fields go out in
 * reverse order here and land in the message in the verdict's order.
 */
import { formatAuthenticationResultsField } from '@mailward/core';
import type { InboundVerdict } from '../inbound/decide.js';

/** rspamd's action names, which Exim ACLs already test `$spam_action` against. */
export type EximAction = 'no action' | 'add header' | 'quarantine' | 'soft reject' | 'reject';

/**
 * Metric line numbers: score 15 of 15 when mailward would act (so `spam = nobody` is true for
 * exactly those), 0 otherwise. The threshold and the reject score are the same fixed number.
 */
const ACTING_SCORE = '15.00';
const THRESHOLD = '15.00';

/** Exim reads the reply into 32600 bytes; stay well below so nothing is cut. */
export const MAX_EXIM_REPLY_BYTES = 16_000;

export function eximAction(verdict: InboundVerdict): EximAction {
  const action = verdict.action;
  switch (action.kind) {
    case 'accept':
      return 'no action';
    case 'reject':
      return 'reject';
    case 'tempfail':
      return 'soft reject';
    case 'quarantine':
      return action.style === 'hold' ? 'quarantine' : 'add header';
  }
}

/** The reply for a checked message. */
export function encodeEximVerdict(verdict: InboundVerdict, authservId: string): string {
  const action = eximAction(verdict);
  const refusal =
    verdict.action.kind === 'reject' || verdict.action.kind === 'tempfail' ? verdict.action.reply : undefined;
  const lines =
    refusal !== undefined
      ? [`${refusal.code} ${refusal.status} ${oneLine(refusal.text)}\r\n`]
      : [...verdict.headers].reverse();
  const reply = encodeReply(action, lines);
  if (Buffer.byteLength(reply, 'latin1') <= MAX_EXIM_REPLY_BYTES) return reply;
  // Only header fields can be this long (hundreds of signatures); the action still stands.
  return encodeReply(action, [notCheckedField(authservId, 'results too long for the Exim reply')]);
}

/**
 * The reply when the message was not checked (too large, not a message, no client address):
 * no action, and an Authentication-Results field saying none were performed (RFC 8601 §2.2
 * no-result), with the reason in a comment.
 */
export function encodeEximNotChecked(authservId: string, reason: string): string {
  return encodeReply('no action', [notCheckedField(authservId, reason)]);
}

/** "Try again later" without a verdict (the checks ran out of time): soft reject, 451 4.7.5. */
export function encodeEximTempfail(text: string): string {
  return encodeReply('soft reject', [`451 4.7.5 ${oneLine(text)}\r\n`]);
}

/**
 * A reply Exim cannot parse on purpose (a request we could not read): Exim's `spam` condition
 * then DEFERs, or FAILs with `/defer_ok`, as for a service that is down.
 */
export function encodeEximProtocolError(reason: string): string {
  return `RSPAMD/1.3 400 EX_PROTOCOL\r\nError: ${oneLine(reason)}\r\n\r\n`;
}

function encodeReply(action: EximAction, lines: readonly string[]): string {
  const score = action === 'no action' ? '0.00' : ACTING_SCORE;
  const spam = action === 'no action' ? 'False' : 'True';
  return (
    'RSPAMD/1.3 0 EX_OK\r\n' +
    `Metric: default; ${spam}; ${score} / ${THRESHOLD} / ${THRESHOLD}\r\n` +
    `Action: ${action}\r\n` +
    lines.join('')
  );
}

function notCheckedField(authservId: string, reason: string): string {
  const field = formatAuthenticationResultsField({ authservId, results: [] });
  return `${field.slice(0, -2)} (${oneLine(reason).replace(/[()\\]/g, '')})\r\n`;
}

/** Reply text and comments are one line of printable ASCII. */
function oneLine(text: string): string {
  return text.replace(/[^\x20-\x7e]+/g, ' ').trim();
}
