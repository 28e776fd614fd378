import type { Clock, DkimVerification, Resolver } from '@mailward/core';
import { verifyDkim } from '@mailward/core';
import { renderDkimVerifyJson, renderDkimVerifyText } from '../render/dkim-verify.js';
import type { CommandResult } from './result.js';

export interface DkimVerifyArgs {
  readonly message: Uint8Array;
  readonly json: boolean;
  readonly minRsaBits?: number;
  readonly unsignedBody: 'flag' | 'policy';
}

export interface DkimVerifyDeps {
  readonly resolver: Resolver;
  readonly clock: Clock;
}

/**
 * `mailward dkim verify`: one verdict per DKIM-Signature. Exit 0 when the verification ran,
 * whatever the results (scripts read them from the output); 1 when the message cannot be examined.
 */
export async function dkimVerifyCommand(args: DkimVerifyArgs, deps: DkimVerifyDeps): Promise<CommandResult> {
  const verification: DkimVerification = await verifyDkim(args.message, {
    resolver: deps.resolver,
    clock: deps.clock,
    unsignedBody: args.unsignedBody,
    ...(args.minRsaBits === undefined ? {} : { minRsaBits: args.minRsaBits }),
  });
  if (verification.unverifiable !== undefined) {
    return { exitCode: 1, stdout: '', stderr: `mailward dkim verify: ${verification.unverifiable}\n` };
  }
  return {
    exitCode: 0,
    stdout: args.json ? renderDkimVerifyJson(verification) : renderDkimVerifyText(verification),
    stderr: '',
  };
}
