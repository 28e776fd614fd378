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

/** Returns the whole field, `Received-SPF: <result> (<comment>) key=value; ...`, on one line. */
export function formatReceivedSpf(check: SpfCheckResult, input: ReceivedSpfInput): string {
  const pairs: Array<[string, string]> = [
    ['client-ip', input.clientIp],
    ['envelope-from', input.envelopeFrom ?? ''],
  ];
  if (input.helo) pairs.push(['helo', input.helo]);
  if (check.result === 'permerror' || check.result === 'temperror') pairs.push(['problem', check.reason]);
  if (check.mechanism) pairs.push(['mechanism', check.mechanism.text]);
  pairs.push(['identity', check.identity], ['receiver', input.receiver]);
  const list = pairs.map(([key, value]) => `${key}=${formatValue(value)};`).join(' ');
  return `Received-SPF: ${check.result} (${comment(check, input)}) ${list}`;
}

function comment(check: SpfCheckResult, input: ReceivedSpfInput): string {
  const who =
    check.identity === 'helo' ? `${check.domain}` : `domain of ${input.envelopeFrom || `postmaster@${check.domain}`}`;
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
  return escapeComment(`${input.receiver}: ${text[check.result]}`);
}

function formatValue(value: string): string {
  if (DOT_ATOM.test(value)) return value;
  return `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`).replace(/[\r\n]+/g, ' ')}"`;
}

/** Comments (RFC 5322 §3.2.2) may not hold unbalanced parentheses: escape them and backslashes. */
function escapeComment(text: string): string {
  return text.replace(/[\\()]/g, (ch) => `\\${ch}`).replace(/[\r\n]+/g, ' ');
}
