/**
 * What an incoming message gets once it is authenticated: the action (accept, reject, tempfail,
 * quarantine) and the header fields to prepend. Pure; the milter and Exim's content check both
 * call it, so the two integrations decide alike.
 *
 * Rules, in order:
 * 1. DMARC passed, or the sender publishes no enforcing policy (p=none, none, permerror): accept.
 * 2. DMARC could not be checked because DNS failed (result temperror, or a failure that an SPF
 *    or DKIM temperror for an aligned-looking domain may have caused): "could not check", never
 *    the sender's fault, so `onDnsFailure` decides: 451 4.7.5 (try again later) or accept.
 * 3. A failure with action reject (after local policy): 550 5.7.1 with a text naming the domain.
 * 4. A failure with action quarantine: hold (SMFIR_QUARANTINE in the milter) or header only.
 * Without `enforce` (the dry run) the action is always accept and `wouldHave` says what
 * enforcement would have done.
 */
import { sameOrganizationalDomain, type Authentication, type DmarcRequest, type DmarcResult } from '@mailward/core';

export type QuarantineStyle = 'hold' | 'header';

/** Settings for one author domain, overriding the defaults. */
export interface DomainInboundPolicy {
  readonly enforce?: boolean;
  readonly quarantine?: QuarantineStyle;
}

export interface InboundPolicy {
  /** Act on DMARC failures (reject, quarantine). Without it only label (dry run). */
  readonly enforce: boolean;
  /** When DNS failed where the verdict depended on it. */
  readonly onDnsFailure: 'tempfail' | 'accept';
  /** How a p=quarantine failure is quarantined: held by the MTA, or only marked by a header. */
  readonly quarantine: QuarantineStyle;
  /** Per author domain (lower case, no trailing dot). */
  readonly domains?: ReadonlyMap<string, DomainInboundPolicy>;
}

export const DEFAULT_INBOUND_POLICY: InboundPolicy = { enforce: false, onDnsFailure: 'tempfail', quarantine: 'hold' };

export interface SmtpReply {
  readonly code: '550' | '451';
  readonly status: '5.7.1' | '4.7.5';
  readonly text: string;
}

export type InboundAction =
  | { readonly kind: 'accept' }
  | { readonly kind: 'reject'; readonly reply: SmtpReply }
  | { readonly kind: 'tempfail'; readonly reply: SmtpReply }
  | { readonly kind: 'quarantine'; readonly style: QuarantineStyle; readonly reason: string };

export interface InboundVerdict {
  readonly action: InboundAction;
  /** In a dry run (or a domain without enforcement): what enforcement would have done. */
  readonly wouldHave?: InboundAction['kind'];
  readonly dmarc: DmarcResult;
  /** The author domain DMARC judged, when there was one. */
  readonly authorDomain?: string;
  /** One line for the log: why this action. */
  readonly reason: string;
  /** Header fields to prepend, in this order, each ending in CRLF. */
  readonly headers: readonly string[];
}

/** The header a header-only quarantine adds; mail filters (Sieve, procmail) can file on it. */
export const QUARANTINE_HEADER = 'X-Mailward-Quarantine';

export function decideInbound(auth: Authentication, policy: InboundPolicy): InboundVerdict {
  const dmarc = auth.dmarc;
  const authorDomain = dmarc.authorDomain;
  const domainPolicy = authorDomain === undefined ? undefined : policy.domains?.get(authorDomain.toLowerCase());
  const enforce = domainPolicy?.enforce ?? policy.enforce;
  const quarantineStyle = domainPolicy?.quarantine ?? policy.quarantine;
  const labels = [auth.headers.authenticationResults, auth.headers.receivedSpf];
  const base = { dmarc: dmarc.result, ...(authorDomain !== undefined && { authorDomain }) };

  const planned = plannedAction(auth, policy.onDnsFailure, quarantineStyle);
  // When the message is accepted although the policy asked for more (a dry run, or a DNS
  // failure with onDnsFailure accept), the A-R comment's dis= must say what was done: none.
  const acceptedLabels = [withDisposition(labels[0] ?? '', 'none'), ...labels.slice(1)];
  if (planned.kind === 'accept') {
    return {
      ...base,
      action: planned,
      reason: acceptReason(auth),
      headers: acceptedLabels,
    };
  }
  const reason = actionReason(planned, auth);
  if (!enforce) {
    return {
      ...base,
      action: { kind: 'accept' },
      wouldHave: planned.kind,
      reason: `dry run: ${reason}`,
      headers: acceptedLabels,
    };
  }
  const headers =
    planned.kind === 'quarantine' && planned.style === 'header'
      ? [...labels, `${QUARANTINE_HEADER}: ${planned.reason}\r\n`]
      : labels;
  return { ...base, action: planned, reason, headers };
}

function plannedAction(
  auth: Authentication,
  onDnsFailure: 'tempfail' | 'accept',
  style: QuarantineStyle,
): InboundAction {
  const dmarc = auth.dmarc;
  const domain = dmarc.authorDomain ?? '';
  if (dmarc.result === 'temperror' || (dmarc.result === 'fail' && enforcing(dmarc.action) && dnsMayHaveCaused(auth))) {
    if (onDnsFailure === 'accept') return { kind: 'accept' };
    return {
      kind: 'tempfail',
      reply: {
        code: '451',
        status: '4.7.5',
        text: `DMARC policy of ${domain} could not be checked (DNS failure); try again later`,
      },
    };
  }
  if (dmarc.result !== 'fail') return { kind: 'accept' };
  if (dmarc.action === 'reject') {
    return {
      kind: 'reject',
      reply: {
        code: '550',
        status: '5.7.1',
        text: `Message rejected: it fails the DMARC policy of ${domain} (no aligned SPF or DKIM pass)`,
      },
    };
  }
  if (dmarc.action === 'quarantine') {
    return { kind: 'quarantine', style, reason: `fails the DMARC policy of ${domain} (p=quarantine)` };
  }
  return { kind: 'accept' };
}

function enforcing(action: DmarcRequest): boolean {
  return action === 'reject' || action === 'quarantine';
}

/**
 * A DMARC failure is only the sender's fault when every identity that could have aligned was
 * actually checked. An SPF or DKIM temperror for a domain in the author's organizational domain
 * might have been the aligned pass (RFC 7489 §6.6.2 treats that as "could not check" too).
 */
function dnsMayHaveCaused(auth: Authentication): boolean {
  const author = auth.dmarc.authorDomain;
  if (author === undefined) return false;
  const related = (domain: string | undefined) => domain !== undefined && sameOrganizationalDomain(domain, author);
  if (auth.spf.mailFrom.result === 'temperror' && related(auth.spf.mailFrom.domain)) return true;
  return auth.dkim.signatures.some((s) => s.result === 'temperror' && related(s.domain));
}

function acceptReason(auth: Authentication): string {
  const dmarc = auth.dmarc;
  const domain = dmarc.authorDomain;
  switch (dmarc.result) {
    case 'pass':
      return `dmarc=pass for ${domain ?? 'the author domain'}`;
    case 'fail':
      return `dmarc=fail for ${domain ?? 'the author domain'}, policy ${dmarc.action}: accepted`;
    case 'temperror':
      return `dmarc=temperror for ${domain ?? 'the author domain'}: accepted (on DNS failure: accept)`;
    default:
      return `dmarc=${dmarc.result}${domain === undefined ? '' : ` for ${domain}`}${dmarc.reasons[0] === undefined ? '' : `: ${dmarc.reasons[0]}`}`;
  }
}

function actionReason(action: Exclude<InboundAction, { kind: 'accept' }>, auth: Authentication): string {
  switch (action.kind) {
    case 'reject':
    case 'tempfail':
      return `${action.kind} ${action.reply.code} ${action.reply.status}: ${action.reply.text}`;
    case 'quarantine':
      return `quarantine (${action.style}): ${action.reason}${auth.dmarc.reasons.length > 0 ? `; ${auth.dmarc.reasons.join('; ')}` : ''}`;
  }
}

/**
 * core writes the DMARC result's comment as "(p=REQUESTED dis=ACTION)" with the action local
 * policy chose; the action actually taken is only known here. Rewrites dis= in our own A-R field
 * (the comment may be folded, hence \s+).
 */
function withDisposition(field: string, taken: DmarcRequest): string {
  return field.replace(/(\bdmarc=[a-z]+\s+\(p=[a-z]+\s+dis=)[a-z]+/, `$1${taken}`);
}
