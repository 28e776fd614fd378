import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import type { Clock, DkimAlgorithm, DkimCanonicalization, DkimSignerSpec } from '@mailward/core';
import { signDkim, splitMessage } from '@mailward/core';
import type { CommandResult } from './result.js';
import { runError, usageError } from './result.js';

export interface DkimSignTarget {
  readonly domain: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
}

export interface DkimSignArgs {
  readonly message: Uint8Array;
  readonly targets: readonly DkimSignTarget[];
  /** "header/body", e.g. "relaxed/relaxed"; one name alone is header/simple (RFC 6376 §3.5 c=). */
  readonly canonicalization: string;
  readonly algorithm?: string;
  readonly headers?: readonly string[];
  readonly oversign: boolean;
  readonly identity?: string;
  readonly timestamp: boolean;
  readonly expireSeconds?: number;
  readonly bodyLength: boolean;
}

const CANONICALIZATIONS: ReadonlySet<string> = new Set(['simple', 'relaxed']);
const ALGORITHMS: ReadonlySet<string> = new Set(['rsa-sha256', 'ed25519-sha256']);

/**
 * `mailward dkim sign`: the message with one DKIM-Signature per target prepended; otherwise the
 * message bytes are unchanged, except that bare LF line endings become CRLF (RFC 6376 §5.3).
 */
export function dkimSignCommand(args: DkimSignArgs, deps: { readonly clock: Clock }): CommandResult {
  const canonicalization = parseCanonicalization(args.canonicalization);
  if (canonicalization === undefined) {
    return usageError(
      'dkim sign',
      `--canonicalization ${JSON.stringify(args.canonicalization)}: use simple|relaxed[/simple|relaxed]`,
    );
  }
  if (args.algorithm !== undefined && !ALGORITHMS.has(args.algorithm)) {
    return usageError('dkim sign', `--algorithm ${JSON.stringify(args.algorithm)}: use rsa-sha256 or ed25519-sha256`);
  }
  const split = splitMessage(args.message);
  if (!split.ok) return runError('dkim sign', split.message);
  if (split.headers.length === 0) return runError('dkim sign', 'the input has no header fields: is it a message?');
  const specs: DkimSignerSpec[] = args.targets.map((target) => ({
    ...target,
    canonicalization,
    ...(args.algorithm === undefined ? {} : { algorithm: args.algorithm as DkimAlgorithm }),
    ...(args.headers === undefined ? {} : { headers: args.headers }),
    ...(args.oversign ? {} : { oversign: [] }),
    ...(args.identity === undefined ? {} : { identity: args.identity }),
    timestamp: args.timestamp,
    ...(args.expireSeconds === undefined ? {} : { expiresInSeconds: args.expireSeconds }),
    bodyLength: args.bodyLength,
  }));
  try {
    const signed = signDkim(split, specs, deps);
    return { exitCode: 0, stdout: '', stderr: '', stdoutBytes: Buffer.from(signed.message) };
  } catch (error) {
    // The signer refuses bad settings (a 512-bit key, an i= outside d=, ...) with a RangeError.
    if (error instanceof RangeError) return usageError('dkim sign', error.message);
    throw error;
  }
}

function parseCanonicalization(
  text: string,
): { readonly header: DkimCanonicalization; readonly body: DkimCanonicalization } | undefined {
  const [header, body = 'simple', ...rest] = text.split('/');
  if (rest.length > 0 || header === undefined || !CANONICALIZATIONS.has(header) || !CANONICALIZATIONS.has(body)) {
    return undefined;
  }
  return { header: header as DkimCanonicalization, body: body as DkimCanonicalization };
}
