import type { Authentication, Clock, DiscoveryMode, LocalPolicy, Resolver } from '@mailward/core';
import { authenticate, parseClientIp } from '@mailward/core';
import type { CommandResult } from './result.js';
import { runError, usageError } from './result.js';

export interface VerifyArgs {
  readonly message: Uint8Array;
  readonly ip: string;
  readonly helo?: string;
  readonly mailFrom: string;
  readonly authservId: string;
  readonly json: boolean;
  readonly mode: DiscoveryMode;
  readonly multipleFromDomains: 'exempt' | 'strictest';
  readonly localPolicy?: LocalPolicy;
}

/**
 * `mailward verify`: SPF, DKIM, ARC and DMARC for one message as a receiver would see it. Exit 0
 * when the checks ran, whatever the results; 1 when the message cannot be examined.
 */
export async function verifyCommand(
  args: VerifyArgs,
  deps: { readonly resolver: Resolver; readonly clock: Clock },
): Promise<CommandResult> {
  if (!parseClientIp(args.ip))
    return usageError('verify', `--ip ${JSON.stringify(args.ip)} is not an IPv4 or IPv6 address`);
  if (args.mailFrom === '' && args.helo === undefined) {
    return usageError('verify', 'an empty --mail-from (null reverse-path) is checked as postmaster@HELO: give --helo');
  }
  const result = await authenticate(
    args.message,
    { ip: args.ip, mailFrom: args.mailFrom, ...(args.helo === undefined ? {} : { helo: args.helo }) },
    {
      resolver: deps.resolver,
      clock: deps.clock,
      authservId: args.authservId,
      dmarcMode: args.mode,
      multipleFromDomains: args.multipleFromDomains,
      ...(args.localPolicy === undefined ? {} : { localPolicy: args.localPolicy }),
    },
  );
  if ('unverifiable' in result) return runError('verify', result.unverifiable);
  return { exitCode: 0, stdout: args.json ? renderJson(result) : renderText(result), stderr: '' };
}

function renderJson(a: Authentication): string {
  const spf = (c: Authentication['spf']['mailFrom']) => ({ result: c.result, reason: c.reason, domain: c.domain });
  const body = {
    spf: { ...spf(a.spf.mailFrom), helo: a.spf.helo === undefined ? null : spf(a.spf.helo) },
    dkim: a.dkim.signatures.map((s) => ({
      result: s.result,
      reason: s.reason,
      domain: s.domain ?? null,
      selector: s.selector ?? null,
      algorithm: s.algorithm ?? null,
    })),
    arc: {
      result: a.arc.result,
      reason: a.arc.reason,
      instances: a.arc.instances,
      oldestPass: a.arc.oldestPass ?? null,
    },
    dmarc: {
      result: a.dmarc.result,
      disposition: a.dmarc.disposition,
      action: a.dmarc.action,
      overrides: a.dmarc.overrides,
      policyDomain: a.dmarc.authorDomain === undefined ? null : (a.dmarc.policyDomain ?? null),
      authorDomain: a.dmarc.authorDomain ?? null,
      policy: a.dmarc.authorDomain === undefined ? null : (a.dmarc.requested ?? null),
      reasons: a.dmarc.reasons,
    },
    headers: a.headers,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

function renderText(a: Authentication): string {
  const lines: string[] = [];
  lines.push(`SPF   ${a.spf.mailFrom.result} (MAIL FROM ${a.spf.mailFrom.domain}): ${a.spf.mailFrom.reason}`);
  if (a.spf.helo !== undefined)
    lines.push(`      ${a.spf.helo.result} (HELO ${a.spf.helo.domain}): ${a.spf.helo.reason}`);
  if (a.dkim.signatures.length === 0) lines.push('DKIM  none: the message is not signed');
  for (const s of a.dkim.signatures)
    lines.push(`DKIM  ${s.result} (d=${s.domain ?? '?'} s=${s.selector ?? '?'}): ${s.reason}`);
  lines.push(`ARC   ${a.arc.result}: ${a.arc.reason}`);
  const d = a.dmarc;
  lines.push(
    `DMARC ${d.result}, disposition ${d.disposition}${d.authorDomain === undefined ? '' : ` (From domain ${d.authorDomain}${d.policyDomain === undefined ? '' : `, policy from _dmarc.${d.policyDomain}`})`}`,
  );
  if (d.action !== d.disposition) lines.push(`      action ${d.action} (local policy)`);
  for (const reason of d.reasons) lines.push(`      ${reason}`);
  lines.push('', a.headers.authenticationResults.trimEnd(), a.headers.receivedSpf.trimEnd());
  return `${lines.join('\n')}\n`;
}
