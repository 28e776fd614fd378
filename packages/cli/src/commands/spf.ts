import type { Clock, Resolver, SpfCheckResult } from '@mailward/core';
import { checkHelo, checkMailFrom, formatReceivedSpf, parseClientIp } from '@mailward/core';
import { renderSpfJson } from '../render/spf-json.js';
import { renderSpfText } from '../render/spf-text.js';
import type { CommandResult } from './result.js';

export interface SpfArgs {
  readonly ip: string;
  readonly mailFrom: string;
  readonly helo?: string;
  readonly json: boolean;
  /** Receiving host name, for Received-SPF and %{r}. */
  readonly receiver: string;
  readonly timeBudgetMs?: number;
}

export interface SpfDeps {
  readonly resolver: Resolver;
  readonly clock: Clock;
}

export interface SpfReport {
  readonly mailFrom: SpfCheckResult;
  readonly helo?: SpfCheckResult;
  readonly receivedSpf: string;
}

/**
 * `mailward spf`: checks the MAIL FROM identity (and HELO when given). The exit code says whether
 * the command ran (0), not the SPF result: scripts read the result from the output.
 */
export async function spfCommand(args: SpfArgs, deps: SpfDeps): Promise<CommandResult> {
  if (!parseClientIp(args.ip)) return usageError(`--ip ${JSON.stringify(args.ip)} is not an IPv4 or IPv6 address`);
  if (args.mailFrom === '' && !args.helo) {
    return usageError('an empty --mail-from (null reverse-path) is checked as postmaster@HELO: give --helo');
  }
  const options = {
    resolver: deps.resolver,
    clock: deps.clock,
    receiver: args.receiver,
    ...(args.timeBudgetMs === undefined ? {} : { limits: { timeBudgetMs: args.timeBudgetMs } }),
  };
  const helo = args.helo;
  const [mailFrom, heloResult] = await Promise.all([
    checkMailFrom({ ip: args.ip, mailFrom: args.mailFrom, ...(helo === undefined ? {} : { helo }) }, options),
    helo === undefined ? Promise.resolve(undefined) : checkHelo({ ip: args.ip, helo }, options),
  ]);
  const receivedSpf = formatReceivedSpf(mailFrom, {
    clientIp: args.ip,
    envelopeFrom: args.mailFrom,
    ...(helo === undefined ? {} : { helo }),
    receiver: args.receiver,
  });
  const report: SpfReport = { mailFrom, ...(heloResult ? { helo: heloResult } : {}), receivedSpf };
  const stdout = args.json ? renderSpfJson(report) : renderSpfText(report, args);
  return { exitCode: 0, stdout, stderr: '' };
}

function usageError(message: string): CommandResult {
  return { exitCode: 2, stdout: '', stderr: `mailward spf: ${message}\n` };
}
