/**
 * DMARC evaluation for one author domain, RFC 9989 §4.4, §4.10 and §5.3 (and RFC 7489 in that
 * mode): identifier alignment of the SPF and DKIM results the caller computed, policy selection
 * among p, sp and np, t=y and (RFC 7489 only) pct. The result keeps `disposition` — what the
 * domain owner asks for once p/sp/np and t are applied — apart from any local decision.
 */
import type { LookupOptions, Resolver } from '../dns/types.js';
import { normalizeName } from '../dns/types.js';
import type { DiscoveryMode, PolicyDiscovery } from './discover.js';
import { DmarcDns, discoverPolicy, organizationalDomainOf } from './discover.js';
import type { DmarcAlignmentMode, DmarcRecord, DmarcRequest } from './record.js';
import { requestedPolicy } from './record.js';
import type { PolicyOverride } from './overrides.js';

export type DmarcResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';

export interface DmarcAuthInput {
  /** The RFC5322.From domain. */
  readonly authorDomain: string;
  /** SPF's MAIL FROM check: its result and the domain it checked. */
  readonly spf?: { readonly result: string; readonly domain: string };
  /** Every DKIM signature's result and d=. */
  readonly dkim: readonly { readonly result: string; readonly domain: string; readonly selector?: string }[];
}

export interface DmarcOptions {
  readonly resolver: Resolver;
  /** rfc9989 (default): DNS tree walk; rfc7489: public suffix list. */
  readonly mode?: DiscoveryMode;
  /** For RFC 7489 pct=: a number in [0, 1). Default: never sampled out (as if pct=100). */
  readonly random?: () => number;
  /** Share lookups with other evaluations of the same message. */
  readonly dns?: DmarcDns;
  readonly signal?: AbortSignal;
}

export interface AlignmentCheck {
  readonly domain: string;
  readonly result: string;
  readonly aligned: boolean;
  readonly reason: string;
  readonly selector?: string;
}

export interface DmarcEvaluation {
  readonly result: DmarcResult;
  /** The policy the domain owner requests for this message (none when DMARC passes or no policy applies). */
  readonly disposition: DmarcRequest;
  /**
   * What this receiver does: the disposition unless local policy (see applyLocalPolicy) says
   * otherwise. evaluateDmarc alone always returns the disposition.
   */
  readonly action: DmarcRequest;
  /**
   * Why the applied policy differs from the published one, as the reasons of an aggregate report
   * (RFC 9990 PolicyOverrideReason; sampled_out from RFC 7489 Appendix C).
   */
  readonly overrides: readonly PolicyOverride[];
  readonly authorDomain: string;
  readonly policyDomain?: string;
  readonly organizationalDomain?: string;
  readonly record?: DmarcRecord;
  /** Which tag gave the policy. */
  readonly policyTag?: 'p' | 'sp' | 'np';
  /** The policy before t=y and pct were applied. */
  readonly requested?: DmarcRequest;
  readonly testing: boolean;
  /** RFC 7489 pct= sampling: false when this message was sampled out. */
  readonly sampledIn?: boolean;
  readonly spf?: AlignmentCheck;
  readonly dkim: readonly AlignmentCheck[];
  readonly reasons: readonly string[];
  readonly discovery: PolicyDiscovery;
}

/** One step weaker: t=y (RFC 9989 §4.7 t) and RFC 7489 pct sampling (§6.6.4). */
function weaken(policy: DmarcRequest): DmarcRequest {
  return policy === 'reject' ? 'quarantine' : 'none';
}

export async function evaluateDmarc(input: DmarcAuthInput, options: DmarcOptions): Promise<DmarcEvaluation> {
  const mode = options.mode ?? 'rfc9989';
  const lookup: LookupOptions = options.signal === undefined ? {} : { signal: options.signal };
  const dns = options.dns ?? new DmarcDns(options.resolver, lookup);
  const author = normalizeName(input.authorDomain);
  const discovery = await discoverPolicy(dns, author, mode);
  const reasons: string[] = [];
  const base = {
    authorDomain: author,
    testing: false,
    dkim: [] as AlignmentCheck[],
    discovery,
    action: 'none' as const,
    overrides: [],
  };

  if (discovery.kind === 'temperror') {
    return {
      ...base,
      result: 'temperror',
      disposition: 'none',
      reasons: [`policy discovery failed: ${discovery.reason}`],
    };
  }
  if (discovery.kind === 'none') {
    return { ...base, result: 'none', disposition: 'none', reasons: [`no DMARC policy: ${discovery.reason}`] };
  }
  const record = discovery.record;
  const requested = requestedPolicy(record);
  if (requested.kind === 'no-policy') {
    return {
      ...base,
      result: 'none',
      disposition: 'none',
      policyDomain: discovery.policyDomain,
      record,
      reasons: [requested.reason],
    };
  }
  if (requested.reason !== undefined) reasons.push(requested.reason);

  const authorOrg = discovery.organizationalDomain;
  const align = async (domain: string, how: DmarcAlignmentMode): Promise<{ aligned: boolean; reason: string }> => {
    const candidate = normalizeName(domain);
    if (candidate === author) return { aligned: true, reason: `${candidate} is the author domain` };
    if (how === 's') return { aligned: false, reason: `strict alignment: ${candidate} is not ${author}` };
    const org = await organizationalDomainOf(dns, candidate, mode);
    if (!org.ok) return { aligned: false, reason: `organizational domain of ${candidate} unknown: ${org.reason}` };
    return org.domain === authorOrg
      ? { aligned: true, reason: `${candidate} and ${author} share the organizational domain ${authorOrg}` }
      : { aligned: false, reason: `${candidate} (organizational domain ${org.domain}) is not in ${authorOrg}` };
  };

  let spf: AlignmentCheck | undefined;
  if (input.spf !== undefined) {
    const { result, domain } = input.spf;
    const alignment =
      result === 'pass' ? await align(domain, record.aspf) : { aligned: false, reason: `SPF ${result}` };
    spf = { domain, result, aligned: result === 'pass' && alignment.aligned, reason: alignment.reason };
  }
  const dkim: AlignmentCheck[] = [];
  for (const signature of input.dkim) {
    const alignment =
      signature.result === 'pass'
        ? await align(signature.domain, record.adkim)
        : { aligned: false, reason: `DKIM ${signature.result}` };
    dkim.push({
      domain: signature.domain,
      result: signature.result,
      aligned: signature.result === 'pass' && alignment.aligned,
      reason: alignment.reason,
      ...(signature.selector !== undefined && { selector: signature.selector }),
    });
  }

  // Policy tag (§4.10.1): the author domain's own record gives p; a parent's gives sp, or np when
  // the author domain does not exist (§3.2.13: NXDOMAIN or NODATA for A, AAAA and MX).
  let policyTag: 'p' | 'sp' | 'np' = 'p';
  let policy: DmarcRequest = requested.p;
  if (discovery.policyDomain !== author) {
    const exists = await domainExists(options.resolver, author, lookup);
    if (!exists && record.np !== undefined) {
      policyTag = 'np';
      policy = record.np;
    } else if (record.sp !== undefined) {
      policyTag = 'sp';
      policy = record.sp;
    }
    if (!exists) reasons.push(`${author} does not exist (no A, AAAA or MX)`);
  }
  // t= exists only in RFC 9989; RFC 7489 §6.3 ignores unknown tags.
  const testing = mode === 'rfc9989' && record.testing;
  const evaluated = {
    authorDomain: author,
    policyDomain: discovery.policyDomain,
    organizationalDomain: authorOrg,
    record,
    policyTag,
    requested: policy,
    testing,
    ...(spf !== undefined && { spf }),
    dkim,
    discovery,
  };
  const passing = [
    ...(spf?.aligned === true ? [`SPF (${spf.domain})`] : []),
    ...dkim.filter((d) => d.aligned).map((d) => `DKIM (d=${d.domain})`),
  ];
  if (passing.length > 0) {
    return {
      ...evaluated,
      result: 'pass',
      disposition: 'none',
      action: 'none',
      overrides: [],
      reasons: [...reasons, `aligned pass: ${passing.join(', ')}`],
    };
  }
  reasons.push('no aligned SPF or DKIM pass');
  let disposition = policy;
  const overrides: PolicyOverride[] = [];
  if (testing && disposition !== 'none') {
    disposition = weaken(disposition);
    reasons.push(`t=y: ${policy} is applied as ${disposition} (RFC 9989 §4.7)`);
    overrides.push({ type: 'policy_test_mode', comment: `t=y: ${policy} applied as ${disposition}` });
  }
  let sampledIn: boolean | undefined;
  if (mode === 'rfc7489' && record.pct !== undefined && record.pct < 100 && disposition !== 'none') {
    sampledIn = (options.random ?? (() => 0))() * 100 < record.pct;
    if (!sampledIn) {
      const before = disposition;
      disposition = weaken(disposition);
      reasons.push(
        `pct=${record.pct}: this message was sampled out, ${before} is applied as ${disposition} (RFC 7489 §6.6.4)`,
      );
      overrides.push({ type: 'sampled_out', comment: `pct=${record.pct}: ${before} applied as ${disposition}` });
    }
  }
  return {
    ...evaluated,
    result: 'fail',
    disposition,
    action: disposition,
    overrides,
    ...(sampledIn !== undefined && { sampledIn }),
    reasons: [...reasons, `${policyTag}=${policy} from ${discovery.policyDomain}`],
  };
}

/** RFC 9989 §3.2.13: a domain does not exist when A, AAAA and MX all give NXDOMAIN or NODATA. DNS
 * errors count as existing, so a failure never selects the stricter np= by accident. */
export async function domainExists(resolver: Resolver, domain: string, options: LookupOptions = {}): Promise<boolean> {
  const results = await Promise.all(
    (['A', 'AAAA', 'MX'] as const).map((type) => resolver.lookup(domain, type, options)),
  );
  return !results.every((r) => r.kind === 'nxdomain' || r.kind === 'nodata');
}
