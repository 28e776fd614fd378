/**
 * The policy service's answer for SPF results: a Postfix access(5) action.
 *
 * - reject: `550 5.7.23 <text>`. Postfix's `REJECT text` would answer with
 *   access_map_reject_code, 554 by default, where RFC 7208 §8.4 asks for 550; an explicit
 *   `5NN text` action sets the code itself (access(5), "5NN text"). 5.7.23 "SPF validation failed"
 *   and 5.7.24 "SPF validation error" (temperror, permerror) are RFC 7372 §3.2's codes.
 * - defer: `DEFER_IF_PERMIT 4.7.24 <text>` (4.7.23 for a deferred fail). access(5): it defers
 *   only when the rest of the restrictions would permit the recipient, so a recipient that
 *   would be rejected anyway (unknown user, relay denied) gets that permanent answer instead of
 *   a pointless retry; Postfix answers it with access_map_defer_code, 450. policyd-spf uses it
 *   for temperror too (TempError_Defer).
 * - prepend: `PREPEND Received-SPF: ...` (RFC 7208 §9.1), unfolded: the protocol reply is one line.
 * - dunno: `DUNNO`, no opinion: the next restriction decides.
 *
 * Which result decides: a HELO fail (when the HELO identity is checked) acts like a fail
 * (policyd-spf's HELO_reject=Fail); otherwise the MAIL FROM identity's result, which for the
 * null sender is the check of postmaster@HELO (RFC 7208 §2.4).
 */
import { formatReceivedSpf, type SpfCheckResult, type SpfResult } from '@mailward/core';
import type { PolicyAction, PolicySettings } from '../settings.js';
import type { PolicyQuery } from './query.js';

export interface PolicyChecks {
  readonly mailFrom: SpfCheckResult;
  readonly helo?: SpfCheckResult;
}

export interface PolicyDecision {
  /** The text after `action=`. */
  readonly action: string;
  readonly kind: PolicyAction;
  /** The check that decided. */
  readonly decidedBy: SpfCheckResult;
  /** One line for the log: results of both identities. */
  readonly summary: string;
}

/** Reply texts are shown to the sending user by their MTA; a hostile exp= must not make them huge. */
const MAX_TEXT = 300;

export function decidePolicy(query: PolicyQuery, checks: PolicyChecks, settings: PolicySettings): PolicyDecision {
  const heloFailed = checks.helo !== undefined && checks.helo.result === 'fail';
  const decidedBy = heloFailed && checks.helo ? checks.helo : checks.mailFrom;
  const kind = heloFailed ? settings.actions.fail : settings.actions[decidedBy.result];
  // `result=` and `identity=` say what decided; with the HELO checked too, both results follow.
  const summary =
    `result=${decidedBy.result} identity=${decidedBy.identity}` +
    (checks.helo ? ` mailfrom-result=${checks.mailFrom.result} helo-result=${checks.helo.result}` : '');
  return { action: actionText(kind, decidedBy, query, settings), kind, decidedBy, summary };
}

function actionText(kind: PolicyAction, check: SpfCheckResult, query: PolicyQuery, settings: PolicySettings): string {
  const error = check.result === 'temperror' || check.result === 'permerror';
  switch (kind) {
    case 'dunno':
      return 'DUNNO';
    case 'prepend': {
      const field = formatReceivedSpf(check, {
        clientIp: query.clientAddress,
        envelopeFrom: query.sender,
        ...(query.heloName === '' ? {} : { helo: query.heloName }),
        receiver: settings.receiver,
      });
      return `PREPEND ${field.replace(/\r\n[\t ]/g, ' ')}`;
    }
    case 'reject':
      return `550 ${error ? '5.7.24' : '5.7.23'} ${replyText(check, query)}`;
    case 'defer':
      return `DEFER_IF_PERMIT ${error ? '4.7.24' : '4.7.23'} ${replyText(check, query)}`;
  }
}

/**
 * A clear sentence without a URL (RFC 7208 §8.4: a fail reply SHOULD carry the explanation, the
 * domain's own exp= text when it has one, else mailward's default; §8.6, §8.7: the errors say
 * they are errors, and temperror that it is worth trying again).
 */
export function replyText(check: SpfCheckResult, query: PolicyQuery): string {
  const identity =
    check.identity === 'helo'
      ? `HELO name ${query.heloName}`
      : query.sender === ''
        ? `null sender, checked as postmaster@${check.domain}`
        : `sender ${query.sender}`;
  const texts: Record<SpfResult, string> = {
    fail: `SPF validation failed for ${identity}: ${check.explanation ?? check.reason}`,
    softfail: `SPF softfail for ${identity}: ${check.reason}`,
    neutral: `SPF neutral for ${identity}: ${check.reason}`,
    none: `no SPF policy for ${identity}: ${check.reason}`,
    pass: `SPF pass for ${identity}: ${check.reason}`,
    temperror: `SPF could not be checked for ${identity} (DNS error; try again later): ${check.reason}`,
    permerror: `SPF record error for ${identity}: ${check.reason}`,
  };
  return clean(texts[check.result]);
}

/** Printable US-ASCII only (SMTP replies are ASCII), on one line, bounded. */
function clean(text: string): string {
  const ascii = text
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return ascii.length > MAX_TEXT ? `${ascii.slice(0, MAX_TEXT - 3)}...` : ascii;
}
