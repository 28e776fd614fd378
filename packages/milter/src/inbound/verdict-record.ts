/**
 * The journal row of one evaluated message: what `authenticate()` found and what `decideInbound`
 * did, in the words of an RFC 9990 aggregate report record. Pure; the runtime appends it to the
 * store before it answers the MTA.
 */
import type { Authentication, Clock, DiscoveryMode } from '@mailward/core';
import type {
  DkimAuthResult,
  DmarcDisposition,
  PolicyOverrideReason,
  PolicyPublished,
  VerdictAction,
  VerdictReceiver,
  VerdictRecord,
} from '@mailward/reports';
import type { InboundVerdict } from './decide.js';

/** The SMTP envelope of the message, as the MTA gave it. */
export interface VerdictEnvelope {
  readonly ip: string;
  readonly helo?: string;
  /** MAIL FROM; "" for the null reverse-path. */
  readonly mailFrom: string;
  readonly recipients: readonly string[];
  readonly queueId?: string;
}

export interface VerdictRecordOptions {
  readonly receiver: VerdictReceiver;
  readonly clock: Clock;
  /** The discovery mode `authenticate()` ran with (its default: rfc9989, the DNS tree walk). */
  readonly dmarcMode?: DiscoveryMode;
}

const DONE: Readonly<Record<VerdictAction, string>> = {
  accept: 'accepted',
  reject: 'rejected',
  tempfail: 'deferred',
  quarantine: 'quarantined',
};

const STRENGTH: Readonly<Record<string, number>> = { none: 0, pass: 0, quarantine: 1, reject: 2 };

export function verdictRecord(
  auth: Authentication,
  verdict: InboundVerdict,
  envelope: VerdictEnvelope,
  options: VerdictRecordOptions,
): VerdictRecord {
  const dmarc = auth.dmarc;
  const evaluated = dmarc.authorDomain === undefined ? undefined : dmarc;
  const headerFrom = headerFromOf(auth);
  const policyPublished =
    evaluated?.record === undefined || evaluated.policyDomain === undefined
      ? undefined
      : published(evaluated.policyDomain, evaluated.record, options.dmarcMode ?? 'rfc9989');
  const disposition = appliedDisposition(auth, verdict);
  return {
    time: options.clock.now(),
    receiver: options.receiver,
    ...(envelope.queueId === undefined ? {} : { queueId: envelope.queueId }),
    sourceIp: envelope.ip,
    ...(envelope.helo === undefined ? {} : { helo: envelope.helo }),
    envelopeFrom: domainOf(envelope.mailFrom),
    headerFrom,
    envelopeTo: [...new Set(envelope.recipients.map(domainOf).filter((d) => d !== ''))],
    ...(policyPublished === undefined ? {} : { policyPublished }),
    policyDomain: policyPublished?.domain ?? evaluated?.authorDomain ?? headerFrom,
    policyEvaluated: {
      disposition,
      // RFC 9990 §3.1.1 (policy_evaluated): DMARC's own verdicts, i.e. an aligned pass.
      dkim: evaluated?.dkim.some((d) => d.aligned) === true ? 'pass' : 'fail',
      spf: evaluated?.spf?.aligned === true ? 'pass' : 'fail',
      reasons: overrideReasons(auth, verdict, disposition),
    },
    authResults: {
      dkim: auth.dkim.signatures.flatMap((s): DkimAuthResult[] =>
        s.domain === undefined
          ? []
          : [{ domain: s.domain, ...(s.selector === undefined ? {} : { selector: s.selector }), result: s.result }],
      ),
      spf: [{ domain: auth.spf.mailFrom.domain, scope: 'mfrom', result: auth.spf.mailFrom.result }],
    },
    dmarc: dmarc.result,
    action: verdict.action.kind,
    ...(verdict.wouldHave === undefined ? {} : { wouldHave: verdict.wouldHave }),
    testing: evaluated?.testing ?? false,
  };
}

function published(
  domain: string,
  record: NonNullable<Extract<Authentication['dmarc'], { record?: unknown }>['record']>,
  mode: DiscoveryMode,
): PolicyPublished {
  return {
    domain,
    adkim: record.adkim,
    aspf: record.aspf,
    ...(record.p === undefined ? {} : { p: record.p }),
    ...(record.sp === undefined ? {} : { sp: record.sp }),
    ...(record.np === undefined ? {} : { np: record.np }),
    ...(record.fo.length === 0 ? {} : { fo: record.fo.join(':') }),
    testing: record.testing ? 'y' : 'n',
    discoveryMethod: mode === 'rfc7489' ? 'psl' : 'treewalk',
  };
}

/**
 * What this receiver actually applied (RFC 9990 policy_evaluated/disposition): pass when DMARC
 * passed; otherwise what the MTA was told, so a dry run that accepted a p=reject failure says
 * none (with a local_policy reason) rather than the policy it did not enforce.
 */
function appliedDisposition(auth: Authentication, verdict: InboundVerdict): DmarcDisposition {
  if (auth.dmarc.result === 'pass') return 'pass';
  switch (verdict.action.kind) {
    case 'reject':
      return 'reject';
    case 'quarantine':
      return 'quarantine';
    default:
      return 'none';
  }
}

/** The evaluation's overrides (local policy, t=y), plus why this receiver applied less than that. */
function overrideReasons(
  auth: Authentication,
  verdict: InboundVerdict,
  disposition: DmarcDisposition,
): PolicyOverrideReason[] {
  const reasons: PolicyOverrideReason[] = auth.dmarc.overrides.map((o) => ({ type: o.type, comment: o.comment }));
  if (auth.dmarc.result !== 'fail' || (STRENGTH[disposition] ?? 0) >= (STRENGTH[auth.dmarc.action] ?? 0)) {
    return reasons;
  }
  const comment =
    verdict.wouldHave !== undefined
      ? `not enforced (dry run): would have ${DONE[verdict.wouldHave]}`
      : verdict.action.kind === 'tempfail'
        ? 'deferred: DNS failure may have caused the DMARC failure'
        : 'accepted: DNS failure may have caused the DMARC failure';
  return [...reasons, { type: 'local_policy', comment }];
}

/** RFC 9990 header_from: the From domain; several domains as "a, b"; "" when the From is unusable. */
function headerFromOf(auth: Authentication): string {
  switch (auth.author.kind) {
    case 'single':
      return auth.author.domain.toLowerCase();
    case 'multiple':
      return auth.author.domains.map((d) => d.toLowerCase()).join(', ');
    case 'invalid':
      return '';
  }
}

/** The domain of an address (after the last "@"), lower case; "" for the null reverse-path. */
function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0
    ? ''
    : address
        .slice(at + 1)
        .replace(/>$/, '')
        .replace(/\.$/, '')
        .toLowerCase();
}
