/**
 * Whole-message authentication: the message is split once, then SPF (MAIL FROM and HELO), DKIM and
 * ARC run side by side and DMARC combines them (RFC 9989 §5.3). Returns the typed results and the
 * header fields a receiver adds: Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 §9.1).
 * The work is done by StreamingAuthentication (authenticate-stream.ts), which a milter feeds the
 * header fields and then the body in chunks; this is its whole-message wrapper, which also returns
 * the sealed message when it seals ARC.
 */
import { Buffer } from 'node:buffer';
import type { Clock } from './clock.js';
import type { Resolver } from './dns/types.js';
import type { SplitMessage } from './message/split.js';
import { splitMessage } from './message/split.js';
import type { AuthorDomains } from './message/author.js';
import type { SpfCheckResult } from './spf/types.js';
import type { DkimVerification } from './dkim/verify.js';
import type { ArcVerification } from './arc/verify.js';
import type { ArcSealOptions, ArcSealResult } from './arc/seal.js';
import type { DiscoveryMode, DmarcEvaluation, LocalPolicy, PolicyOverride } from './dmarc/index.js';
import { StreamingAuthentication } from './authenticate-stream.js';

export interface AuthenticateInput {
  /** SMTP client IP address. */
  readonly ip: string;
  readonly helo?: string;
  /** MAIL FROM; "" for the null reverse-path. */
  readonly mailFrom: string;
}

export interface AuthenticateOptions {
  readonly resolver: Resolver;
  readonly clock: Clock;
  /** This receiver's authserv-id (RFC 8601 §2.5), usually its host or domain name. */
  readonly authservId: string;
  readonly dmarcMode?: DiscoveryMode;
  /** RFC 7489 pct= sampling. */
  readonly random?: () => number;
  /**
   * A From with several domains: `exempt` (default, RFC 9989 §5.3.1: no DMARC check) or
   * `strictest` (RFC 7489 §6.6.1's suggestion: evaluate each domain and keep the strictest failure).
   */
  readonly multipleFromDomains?: 'exempt' | 'strictest';
  /**
   * The receiver's own rules for DMARC failures (trusted forwarders, mailing lists, trusted ARC
   * sealers, softer actions); see parseLocalPolicy. Without it `action` equals `disposition`.
   */
  readonly localPolicy?: LocalPolicy;
  /**
   * Seal an ARC set for this hop (RFC 8617 §5.1) with these key settings: the AAR is this
   * receiver's Authentication-Results, cv= the verified chain's status. Off by default.
   */
  readonly arcSeal?: Pick<ArcSealOptions, 'domain' | 'selector' | 'privateKey' | 'algorithm' | 'headers'>;
}

export type DmarcOutcome =
  | DmarcEvaluation
  | {
      readonly result: 'none';
      readonly disposition: 'none';
      readonly action: 'none';
      readonly overrides: readonly PolicyOverride[];
      readonly reasons: readonly string[];
      readonly authorDomain?: undefined;
    };

export interface Authentication {
  readonly spf: { readonly mailFrom: SpfCheckResult; readonly helo?: SpfCheckResult };
  readonly dkim: DkimVerification;
  readonly arc: ArcVerification;
  readonly author: AuthorDomains;
  readonly dmarc: DmarcOutcome;
  /** Header fields to prepend, each ending in CRLF. */
  readonly headers: { readonly authenticationResults: string; readonly receivedSpf: string };
  /** With the arcSeal option: the new ARC set and the sealed message, or why none was added. */
  readonly arcSeal?: ArcSealResult;
}

export async function authenticate(
  message: Uint8Array | SplitMessage,
  input: AuthenticateInput,
  options: AuthenticateOptions,
): Promise<Authentication | { readonly unverifiable: string }> {
  const split = message instanceof Uint8Array ? splitMessage(message) : message;
  if (!split.ok) return { unverifiable: split.message };
  const streaming = new StreamingAuthentication(split.headers, input, options);
  streaming.push(split.body);
  const { authentication, arcSeal } = await streaming.finishWithResults();
  if (arcSeal === undefined) return authentication;
  if (!arcSeal.sealed) return { ...authentication, arcSeal };
  const f = arcSeal.fields;
  const prefix = Buffer.from(f.seal + f.messageSignature + f.authenticationResults, 'latin1');
  return { ...authentication, arcSeal: { ...arcSeal, message: Buffer.concat([prefix, split.bytes]) } };
}
