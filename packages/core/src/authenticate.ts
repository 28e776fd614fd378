/**
 * Whole-message authentication: the message is split once, then SPF (MAIL FROM and HELO), DKIM and
 * ARC run side by side and DMARC combines them (RFC 9989 §5.3). Returns the typed results and the
 * header fields a receiver adds: Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 §9.1).
 */
import type { Clock } from './clock.js';
import type { Resolver } from './dns/types.js';
import type { SplitMessage } from './message/split.js';
import { splitMessage } from './message/split.js';
import type { AuthorDomains } from './message/author.js';
import { authorDomains } from './message/author.js';
import type { SpfCheckResult } from './spf/types.js';
import { checkHelo, checkMailFrom } from './spf/check.js';
import type { DkimVerification } from './dkim/verify.js';
import { DkimVerifier } from './dkim/verify.js';
import type { ArcVerification } from './arc/verify.js';
import { ArcVerifier } from './arc/verify.js';
import type { ArcSealOptions, ArcSealResult } from './arc/seal.js';
import { sealArc } from './arc/seal.js';
import type { DiscoveryMode, DmarcEvaluation, LocalPolicy, PolicyOverride } from './dmarc/index.js';
import { DmarcDns, applyLocalPolicy, evaluateDmarc } from './dmarc/index.js';
import { listIds } from './message/list-id.js';
import type { AuthResultEntry, AuthResultProperty } from './authres/authentication-results.js';
import { formatAuthenticationResults, formatAuthenticationResultsField } from './authres/authentication-results.js';
import { formatReceivedSpf } from './authres/received-spf.js';

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

const RANK: Record<string, number> = { none: 0, quarantine: 1, reject: 2 };

export async function authenticate(
  message: Uint8Array | SplitMessage,
  input: AuthenticateInput,
  options: AuthenticateOptions,
): Promise<Authentication | { readonly unverifiable: string }> {
  const split = message instanceof Uint8Array ? splitMessage(message) : message;
  if (!split.ok) return { unverifiable: split.message };

  const spfOptions = { resolver: options.resolver, clock: options.clock, receiver: options.authservId };
  const dkimVerifier = new DkimVerifier(split.headers, { resolver: options.resolver, clock: options.clock });
  const arcVerifier = new ArcVerifier(split.headers, { resolver: options.resolver, clock: options.clock });
  dkimVerifier.push(split.body);
  arcVerifier.push(split.body);
  const helo = input.helo;
  const [mailFrom, heloCheck, dkim, arc] = await Promise.all([
    checkMailFrom({ ip: input.ip, mailFrom: input.mailFrom, ...(helo === undefined ? {} : { helo }) }, spfOptions),
    helo === undefined ? Promise.resolve(undefined) : checkHelo({ ip: input.ip, helo }, spfOptions),
    dkimVerifier.finish(),
    arcVerifier.finish(),
  ]);

  const author = authorDomains(split.headers);
  const dkimInput = dkim.signatures
    .filter((s) => s.domain !== undefined)
    .map((s) => ({
      result: s.result,
      domain: s.domain ?? '',
      ...(s.selector !== undefined && { selector: s.selector }),
    }));
  const dns = new DmarcDns(options.resolver);
  const localPolicy = options.localPolicy;
  const evidence = {
    ip: input.ip,
    spf: [mailFrom, ...(heloCheck === undefined ? [] : [heloCheck])],
    dkim: dkimInput,
    arc,
    listIds: localPolicy === undefined ? [] : listIds(split.headers),
  };
  const evaluate = async (domain: string): Promise<DmarcEvaluation> => {
    const evaluation = await evaluateDmarc(
      { authorDomain: domain, spf: { result: mailFrom.result, domain: mailFrom.domain }, dkim: dkimInput },
      {
        resolver: options.resolver,
        dns,
        ...(options.dmarcMode === undefined ? {} : { mode: options.dmarcMode }),
        ...(options.random === undefined ? {} : { random: options.random }),
      },
    );
    return localPolicy === undefined ? evaluation : applyLocalPolicy(evaluation, evidence, localPolicy);
  };
  let dmarc: DmarcOutcome;
  const unchecked = { result: 'none', disposition: 'none', action: 'none', overrides: [] } as const;
  if (author.kind === 'invalid') {
    dmarc = { ...unchecked, reasons: [`no DMARC check: ${author.reason}`] };
  } else if (author.kind === 'single') {
    dmarc = await evaluate(author.domain);
  } else if ((options.multipleFromDomains ?? 'exempt') === 'exempt') {
    dmarc = {
      ...unchecked,
      reasons: [`From names several domains (${author.domains.join(', ')}): exempt from DMARC (RFC 9989 §5.3.1)`],
    };
  } else {
    // Bounded by authorDomains (at most 100 addresses); each walk is at most 8 queries, shared.
    const all = await Promise.all(author.domains.map(evaluate));
    const failing = all.filter((e) => e.result === 'fail');
    const strictest = [...failing].sort((a, b) => (RANK[b.action] ?? 0) - (RANK[a.action] ?? 0))[0];
    dmarc = strictest ?? all.find((e) => e.result === 'temperror') ?? all[0]!;
  }

  const receivedSpf = `${formatReceivedSpf(mailFrom, {
    clientIp: input.ip,
    envelopeFrom: input.mailFrom,
    ...(helo === undefined ? {} : { helo }),
    receiver: options.authservId,
  })}\r\n`;
  const ownResults = {
    authservId: options.authservId,
    results: resultEntries(input, mailFrom, heloCheck, dkim, arc, dmarc),
  };
  const authenticationResults = formatAuthenticationResultsField(ownResults);
  const arcSeal =
    options.arcSeal === undefined
      ? undefined
      : sealOwnHop(split, options.arcSeal, formatAuthenticationResults(ownResults).trim(), arc, options.clock);
  return {
    spf: { mailFrom, ...(heloCheck === undefined ? {} : { helo: heloCheck }) },
    dkim,
    arc,
    author,
    dmarc,
    headers: { authenticationResults, receivedSpf },
    ...(arcSeal !== undefined && { arcSeal }),
  };
}

function sealOwnHop(
  split: SplitMessage,
  key: NonNullable<AuthenticateOptions['arcSeal']>,
  authenticationResults: string,
  arc: ArcVerification,
  clock: Clock,
): ArcSealResult {
  try {
    return sealArc(split, { ...key, authenticationResults, chainValidation: arc.result, clock });
  } catch (error) {
    // sealArc throws RangeError for unusable settings (a key that does not fit the algorithm, a bad d=).
    if (error instanceof RangeError) return { sealed: false, reason: error.message };
    throw error;
  }
}

function prop(ptype: string, property: string, value: string): AuthResultProperty {
  return { ptype, property, value };
}

/** RFC 8601 §2.7 results with the properties of the IANA registry (smtp.*, header.*, policy.*). */
function resultEntries(
  input: AuthenticateInput,
  mailFrom: SpfCheckResult,
  helo: SpfCheckResult | undefined,
  dkim: DkimVerification,
  arc: ArcVerification,
  dmarc: DmarcOutcome,
): AuthResultEntry[] {
  const entries: AuthResultEntry[] = [];
  const dkimEntries = dkim.signatures.map((s) => ({
    method: 'dkim',
    result: s.result,
    ...(s.result !== 'pass' && { reason: s.reason }),
    properties: [
      ...(s.domain === undefined ? [] : [prop('header', 'd', s.domain)]),
      ...(s.selector === undefined ? [] : [prop('header', 's', s.selector)]),
      // RFC 6008: the first 8 characters of b= tell signatures apart.
      ...(s.b === undefined ? [] : [prop('header', 'b', s.b.slice(0, 8))]),
    ],
  }));
  entries.push(...(dkimEntries.length > 0 ? dkimEntries : [{ method: 'dkim', result: 'none', properties: [] }]));
  entries.push({
    method: 'spf',
    result: mailFrom.result,
    ...(mailFrom.result !== 'pass' && mailFrom.result !== 'none' && { reason: mailFrom.reason }),
    properties: [prop('smtp', 'mailfrom', input.mailFrom === '' ? `postmaster@${mailFrom.domain}` : input.mailFrom)],
  });
  if (helo !== undefined && input.helo !== undefined) {
    entries.push({ method: 'spf', result: helo.result, properties: [prop('smtp', 'helo', input.helo)] });
  }
  entries.push({
    method: 'arc',
    result: arc.result,
    ...(arc.result === 'fail' && { reason: arc.reason }),
    properties:
      arc.oldestPass !== undefined && arc.oldestPass > 0 ? [prop('header', 'oldest-pass', String(arc.oldestPass))] : [],
  });
  if (dmarc.authorDomain !== undefined) {
    const e = dmarc;
    entries.push({
      method: 'dmarc',
      result: e.result,
      // "dis=" is what this receiver does, as in the comments of the large providers.
      ...(e.requested !== undefined && {
        comment: `p=${e.requested} dis=${e.action}${e.overrides.map((o) => ` override=${o.type}`).join('')}`,
      }),
      properties: [
        prop('header', 'from', e.authorDomain),
        ...(e.requested !== undefined ? [prop('policy', 'dmarc', e.disposition)] : []),
      ],
    });
  } else {
    entries.push({ method: 'dmarc', result: 'none', properties: [] });
  }
  return entries;
}
