/**
 * The reply of the policy protocol: `action=<text>` LF, then an empty line (SMTPD_POLICY_README).
 * The text is one line by construction; a CR or LF slipped in (from a hostile SPF explanation)
 * would end the reply early and make Postfix read the rest as the next reply, so every control
 * character becomes a space here, whatever the caller built.
 */
export function encodePolicyReply(action: string): Uint8Array {
  // eslint-disable-next-line no-control-regex
  const line = action.replace(/[\x00-\x1f\x7f]/g, ' ');
  return new TextEncoder().encode(`action=${line}\n\n`);
}
