/** The Received-SPF header field, RFC 7208 §9.1. */
import type { SpfCheckResult } from '../spf/types.js';

export interface ReceivedSpfInput {
  readonly clientIp: string;
  /** The MAIL FROM address as given (empty for the null reverse-path). */
  readonly envelopeFrom?: string;
  readonly helo?: string;
  /** Host name of the receiving server (the comment's authserv part and receiver=). */
  readonly receiver: string;
}

// RFC 5322 atext, for dot-atom values; anything else is written as a quoted-string.
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** problem= repeats a reason that can name long chains of domains; the header keeps the start. */
const MAX_PROBLEM = 200;
/** RFC 5322 §2.1.1: lines SHOULD be at most 78 characters. */
const FOLD_AT = 78;

/**
 * Returns the whole field, `Received-SPF: <result> (<comment>) key=value; ...`, folded at
 * key-value boundaries with CRLF + TAB so no line is longer than 78 characters where possible.
 * Header fields are US-ASCII: any other character (from a hostile record or sender) becomes "?".
 */
export function formatReceivedSpf(check: SpfCheckResult, input: ReceivedSpfInput): string {
  const pairs: Array<[string, string]> = [
    ['client-ip', input.clientIp],
    ['envelope-from', input.envelopeFrom ?? ''],
  ];
  if (input.helo) pairs.push(['helo', input.helo]);
  if (check.result === 'permerror' || check.result === 'temperror') pairs.push(['problem', truncate(check.reason)]);
  // §9.1: "mechanism" names the mechanism that matched, or "default" when none did.
  if (check.result !== 'none' && check.result !== 'temperror' && check.result !== 'permerror') {
    pairs.push(['mechanism', check.mechanism?.text ?? 'default']);
  }
  pairs.push(['identity', check.identity], ['receiver', input.receiver]);
  const words = [`Received-SPF: ${check.result}`, `(${comment(check, input)})`];
  for (const [key, value] of pairs) words.push(`${key}=${formatValue(ascii(value))};`);
  return fold(words);
}

function comment(check: SpfCheckResult, input: ReceivedSpfInput): string {
  const who =
    check.identity === 'helo' ? check.domain : `domain of ${input.envelopeFrom || `postmaster@${check.domain}`}`;
  const ip = input.clientIp;
  const text: Record<SpfCheckResult['result'], string> = {
    pass: `${who} designates ${ip} as permitted sender`,
    fail: `${who} does not designate ${ip} as permitted sender`,
    softfail: `transitioning ${who} does not designate ${ip} as permitted sender`,
    neutral: `${ip} is neither permitted nor denied by ${who}`,
    none: `${who} does not publish SPF`,
    temperror: `error in processing during lookup of ${who}`,
    permerror: `permanent error in processing ${who}`,
  };
  return escapeComment(ascii(`${input.receiver}: ${text[check.result]}`));
}

function formatValue(value: string): string {
  if (DOT_ATOM.test(value)) return value;
  return `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/** Comments (RFC 5322 §3.2.2) may not hold unbalanced parentheses: escape them and backslashes. */
function escapeComment(text: string): string {
  return text.replace(/[\\()]/g, (ch) => `\\${ch}`);
}

/** Printable US-ASCII and spaces only; control characters and non-ASCII become "?". */
function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function truncate(text: string): string {
  return text.length > MAX_PROBLEM ? `${text.slice(0, MAX_PROBLEM - 3)}...` : text;
}

/** Joins words with spaces, starting a new line (CRLF TAB) before a word that would pass 78. */
function fold(words: readonly string[]): string {
  let out = '';
  let lineLength = 0;
  for (const word of words) {
    if (out === '') {
      out = word;
      lineLength = word.length;
    } else if (lineLength + 1 + word.length > FOLD_AT) {
      out += `\r\n\t${word}`;
      lineLength = 1 + word.length;
    } else {
      out += ` ${word}`;
      lineLength += 1 + word.length;
    }
  }
  return out;
}
