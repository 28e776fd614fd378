import type { KeyObject } from 'node:crypto';
import type { Clock, Resolver } from '@mailward/core';
import { arc, splitMessage } from '@mailward/core';
import type { CommandResult } from './result.js';
import { runError, usageError } from './result.js';

export interface ArcSealArgs {
  readonly message: Uint8Array;
  readonly domain: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
  /** Our authserv-id: its Authentication-Results fields in the message become the AAR. */
  readonly authservId: string;
  /** An explicit AAR payload instead ("authserv-id; method=result ..."). */
  readonly authResults?: string;
  readonly headers?: readonly string[];
}

/**
 * `mailward arc seal`: validates the incoming chain, then adds this hop's ARC set. Writes the
 * sealed message to stdout; when the chain already failed, writes nothing and exits 1.
 */
export async function arcSealCommand(
  args: ArcSealArgs,
  deps: { readonly resolver: Resolver; readonly clock: Clock },
): Promise<CommandResult> {
  const split = splitMessage(args.message);
  if (!split.ok) return runError('arc seal', split.message);
  const chain = await arc.verifyArc(split, { resolver: deps.resolver });
  const payload = args.authResults ?? arc.consolidateAuthenticationResults(split.headers, args.authservId);
  if (payload === undefined) {
    return usageError(
      'arc seal',
      `the message has no Authentication-Results from ${args.authservId}: add them first or give --auth-results`,
    );
  }
  try {
    const sealed = arc.sealArc(split, {
      domain: args.domain,
      selector: args.selector,
      privateKey: args.privateKey,
      authenticationResults: payload,
      chainValidation: chain.result,
      clock: deps.clock,
      ...(args.headers === undefined ? {} : { headers: args.headers }),
    });
    if (!sealed.sealed) return runError('arc seal', sealed.reason);
    return {
      exitCode: 0,
      stdout: '',
      stderr: `mailward arc seal: added ARC set i=${sealed.instance} (incoming chain: arc=${chain.result})\n`,
      stdoutBytes: sealed.message,
    };
  } catch (error) {
    if (error instanceof RangeError) return usageError('arc seal', error.message);
    throw error;
  }
}
