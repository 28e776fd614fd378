/**
 * Authentication of a message that arrives in pieces, as a milter receives it: the header fields
 * first, then the body in chunks, never held whole (ARCHITECTURE.md "DKIM streaming"). The DKIM and
 * ARC verifiers hash each chunk as it comes; SPF needs no body, so its checks start at once and run
 * while the body streams. finish() then combines the results with DMARC (RFC 9989 §5.3), as
 * authenticate() does: that function is this class's whole-message wrapper.
 */
import type { Authentication, AuthenticateInput, AuthenticateOptions, DmarcOutcome } from './authenticate.js';
import type { HeaderField } from './message/header.js';
import { authorDomains } from './message/author.js';
import type { SpfCheckResult } from './spf/types.js';
import { checkHelo, checkMailFrom } from './spf/check.js';
import type { DkimVerification } from './dkim/verify.js';
import { DkimVerifier } from './dkim/verify.js';
import type { ArcVerification } from './arc/verify.js';
import type { ArcSealFields } from './arc/seal.js';
import { ArcSealer } from './arc/seal.js';
import { ArcVerifier } from './arc/verify.js';
import type { DmarcEvaluation } from './dmarc/index.js';
import { DmarcDns, applyLocalPolicy, evaluateDmarc } from './dmarc/index.js';
import { listIds } from './message/list-id.js';
import type { AuthResultEntry, AuthResultProperty } from './authres/authentication-results.js';
import { formatAuthenticationResults, formatAuthenticationResultsField } from './authres/authentication-results.js';
import { formatReceivedSpf } from './authres/received-spf.js';

export type StreamingAuthenticateOptions = AuthenticateOptions;

export interface StreamingAuthenticationResult {
  /** The results; `arcSeal` is never set here (see the field below). */
  readonly authentication: Authentication;
  /** This hop's results as an Authentication-Results payload ("authserv-id; method=result ..."), for an AAR. */
  readonly ownResults: string;
  /**
   * With the arcSeal option: the ARC set to prepend (the sealed message is not built: the caller
   * inserts the fields), or why none was added.
   */
  readonly arcSeal?: ArcSealFields;
}

const RANK: Record<string, number> = { none: 0, quarantine: 1, reject: 2 };

export class StreamingAuthentication {
  private readonly dkimVerifier: DkimVerifier;
  private readonly arcVerifier: ArcVerifier;
  private readonly spf: Promise<[SpfCheckResult, SpfCheckResult | undefined]>;
  /** The sealer, or why sealing is impossible (settings it refuses: a bad key, a bad d=). */
  private readonly sealer: ArcSealer | { readonly refused: string } | undefined;
  private finished = false;

  constructor(
    private readonly headers: readonly HeaderField[],
    private readonly input: AuthenticateInput,
    private readonly options: StreamingAuthenticateOptions,
  ) {
    const verifyOptions = { resolver: options.resolver, clock: options.clock };
    this.dkimVerifier = new DkimVerifier(headers, verifyOptions);
    this.arcVerifier = new ArcVerifier(headers, verifyOptions);
    const spfOptions = { resolver: options.resolver, clock: options.clock, receiver: options.authservId };
    const helo = input.helo;
    this.spf = Promise.all([
      checkMailFrom({ ip: input.ip, mailFrom: input.mailFrom, ...(helo === undefined ? {} : { helo }) }, spfOptions),
      helo === undefined ? Promise.resolve(undefined) : checkHelo({ ip: input.ip, helo }, spfOptions),
    ]);
    // A message aborted before finish() never awaits this; a rejection must not go unhandled.
    this.spf.catch(() => undefined);
    this.sealer = options.arcSeal === undefined ? undefined : makeSealer(headers, options.arcSeal, options.clock);
  }

  /** One piece of the body, in order (bytes after the empty line, CRLF line endings). */
  push(chunk: Uint8Array): void {
    if (this.finished) throw new Error('push after finish');
    this.dkimVerifier.push(chunk);
    this.arcVerifier.push(chunk);
    if (this.sealer instanceof ArcSealer) this.sealer.push(chunk);
  }

  async finish(): Promise<Authentication> {
    return (await this.finishWithResults()).authentication;
  }

  async finishWithResults(): Promise<StreamingAuthenticationResult> {
    if (this.finished) throw new Error('finish called twice');
    this.finished = true;
    const { input, options, headers } = this;
    const [[mailFrom, heloCheck], dkim, arc] = await Promise.all([
      this.spf,
      this.dkimVerifier.finish(),
      this.arcVerifier.finish(),
    ]);

    const author = authorDomains(headers);
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
      listIds: localPolicy === undefined ? [] : listIds(headers),
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

    const helo = input.helo;
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
    const aarPayload = formatAuthenticationResults(ownResults).trim();
    const arcSeal = this.sealer === undefined ? undefined : seal(this.sealer, aarPayload, arc);
    return {
      authentication: {
        spf: { mailFrom, ...(heloCheck === undefined ? {} : { helo: heloCheck }) },
        dkim,
        arc,
        author,
        dmarc,
        headers: { authenticationResults, receivedSpf },
      },
      ownResults: aarPayload,
      ...(arcSeal === undefined ? {} : { arcSeal }),
    };
  }
}

function makeSealer(
  headers: readonly HeaderField[],
  key: NonNullable<AuthenticateOptions['arcSeal']>,
  clock: AuthenticateOptions['clock'],
): ArcSealer | { readonly refused: string } {
  try {
    return new ArcSealer(headers, { ...key, clock });
  } catch (error) {
    // ArcSealer throws RangeError for unusable settings (a key that does not fit the algorithm, a bad d=).
    if (error instanceof RangeError) return { refused: error.message };
    throw error;
  }
}

function seal(sealer: ArcSealer | { readonly refused: string }, aar: string, arc: ArcVerification): ArcSealFields {
  if (!(sealer instanceof ArcSealer)) return { sealed: false, reason: sealer.refused };
  try {
    return sealer.finish(aar, arc.result);
  } catch (error) {
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
