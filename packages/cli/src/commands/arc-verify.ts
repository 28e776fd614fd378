import { terminalSafe } from '../render/terminal-safe.js';
import type { Clock, Resolver } from '@mailward/core';
import { arc } from '@mailward/core';
import type { CommandResult } from './result.js';

export interface ArcVerifyArgs {
  readonly message: Uint8Array;
  readonly json: boolean;
}

/** `mailward arc verify`: the chain validation status (RFC 8617 §5.2). Exit 0 when the check ran. */
export async function arcVerifyCommand(
  args: ArcVerifyArgs,
  deps: { readonly resolver: Resolver; readonly clock: Clock },
): Promise<CommandResult> {
  const result = await arc.verifyArc(args.message, { resolver: deps.resolver, clock: deps.clock });
  if (args.json) {
    const body = {
      result: result.result,
      reason: result.reason,
      instances: result.instances,
      oldestPass: result.oldestPass ?? null,
      sets: result.sets.map((set) => ({
        instance: set.instance,
        domain: set.sealer.domain,
        selector: set.sealer.selector,
        cv: set.chainValidation,
        messageSignature: set.messageSignature ?? null,
        seal: set.seal ?? null,
        authenticationResults: set.authenticationResults,
      })),
    };
    return { exitCode: 0, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: '' };
  }
  const lines = [`arc=${result.result} (${result.reason})`];
  if (result.oldestPass !== undefined) lines.push(`oldest-pass=${result.oldestPass}`);
  for (const set of result.sets) {
    const ams =
      set.messageSignature === undefined
        ? 'not checked'
        : set.messageSignature.ok
          ? 'ok'
          : `FAILED: ${set.messageSignature.reason}`;
    const seal = set.seal === undefined ? 'not checked' : set.seal.ok ? 'ok' : `FAILED: ${set.seal.reason}`;
    lines.push(
      `  i=${set.instance} d=${set.sealer.domain} s=${set.sealer.selector} cv=${set.chainValidation}: AMS ${ams}; seal ${seal}`,
    );
    // Whole (its later methods are what a sealer vouches for); from the message, so no escapes.
    lines.push(`      ${terminalSafe(set.authenticationResults.replace(/\s+/g, ' '))}`);
  }
  return { exitCode: 0, stdout: `${lines.join('\n')}\n`, stderr: '' };
}
