/**
 * DMARC audit: the policy that applies to the domain (RFC 9989 tree walk, compared with RFC 7489's
 * public-suffix answer), the record's syntax and meaning, p=none / sp=none / t=y, reporting (rua
 * present, at most two URIs, external destinations authorized per RFC 9990 §4, the rua domain able
 * to receive mail), and tags RFC 9989 removed.
 */
import { DmarcDns, discoverPolicy } from '../dmarc/discover.js';
import { checkReportDestinations } from '../dmarc/report-destinations.js';
import { isDmarcRecordText, requestedPolicy } from '../dmarc/record.js';
import type { DnsFailure, Resolver } from '../dns/types.js';
import { isFailure } from '../dns/types.js';
import type { Finding } from './finding.js';
import { isLookupFailure } from './finding.js';
import { lookupFailed } from './lookup-failure.js';

/**
 * DMARC discovery reports a failed lookup as text, "NAME: KIND (REASON)" (discover.ts); the kind
 * is read back from it so that refused and timeout are told apart.
 */
function failureOf(reason: string): Pick<DnsFailure, 'kind' | 'reason'> {
  const match = /^[^ ]+: (servfail|refused|timeout) \((.*)\)$/s.exec(reason);
  if (match === null) return { kind: 'servfail', reason };
  return { kind: match[1] as DnsFailure['kind'], reason: match[2] as string };
}

export interface DmarcAudit {
  readonly findings: readonly Finding[];
  /** The policy that applies to mail from the domain (none when no record applies). */
  readonly policy?: 'none' | 'quarantine' | 'reject';
  readonly policyDomain?: string;
  readonly record?: string;
  readonly hasRua: boolean;
  /** RFC 7489 pct=, when published. */
  readonly pct?: number;
}

const RFC = 'RFC 9989';

export async function auditDmarc(domain: string, options: { readonly resolver: Resolver }): Promise<DmarcAudit> {
  const findings: Finding[] = [];
  const add = (severity: Finding['severity'], code: string, message: string, rfc: string, fix?: string) =>
    findings.push({ code, severity, area: 'dmarc', message, rfc, ...(fix !== undefined && { fix }) });
  const name = domain.toLowerCase().replace(/\.$/, '');
  const dns = new DmarcDns(options.resolver);
  const discovery = await discoverPolicy(dns, name, 'rfc9989');
  const suggested = `_dmarc.${name}. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@${name}"`;

  if (discovery.kind === 'temperror') {
    findings.push(
      lookupFailed(
        'dmarc',
        'dmarc-lookup-failed',
        `the DMARC policy of ${name}`,
        failureOf(discovery.reason),
        `${RFC} §4.10`,
      ),
    );
    return { findings, hasRua: false };
  }
  // Several records, or a text that says v=DMARC1 but does not parse: say why it is ignored.
  const own = await options.resolver.lookup(`_dmarc.${name}`, 'TXT');
  const ownTexts = own.kind === 'answer' ? own.records.map((r) => r.text).filter(isDmarcRecordText) : [];
  if (ownTexts.length > 1) {
    add(
      'error',
      'dmarc-multiple-records',
      `_dmarc.${name} has ${ownTexts.length} DMARC records: all are discarded`,
      `${RFC} §4.10 step 2`,
      'keep one record',
    );
  }
  if (discovery.kind === 'none') {
    if (ownTexts.length === 1) {
      add('error', 'dmarc-syntax', `_dmarc.${name}: ${discovery.reason}`, `${RFC} §4.7`, suggested);
    } else if (ownTexts.length === 0) {
      add(
        'error',
        'dmarc-missing',
        `no DMARC policy applies to ${name}: receivers have no instruction for mail that fails`,
        `${RFC} §4.10`,
        `publish ${suggested}, read the reports, then move to p=quarantine and p=reject`,
      );
    }
    return { findings, hasRua: false };
  }
  const record = discovery.record;
  const requested = requestedPolicy(record);
  for (const problem of record.problems) {
    const removed = /^(pct|rf|ri)$/.test(problem.tag);
    add(
      removed ? 'info' : problem.severity === 'error' ? 'warning' : 'info',
      removed ? 'dmarc-removed-tag' : 'dmarc-tag-problem',
      `_dmarc.${discovery.policyDomain}: ${problem.tag}= at position ${problem.position}: ${problem.message}`,
      removed ? `${RFC} (removed tags); RFC 7489 §6.3` : `${RFC} §4.7`,
      removed
        ? `remove ${problem.tag}=`
        : /^(p|sp|np)$/.test(problem.tag)
          ? `write ${problem.tag}=none, ${problem.tag}=quarantine or ${problem.tag}=reject`
          : `correct ${problem.tag}= (RFC 9989 §4.7 lists its values), or remove it`,
    );
  }
  if (discovery.source !== 'author-domain') {
    add(
      'info',
      'dmarc-inherited',
      `${name} has no record of its own; the policy of ${discovery.policyDomain} applies (${discovery.source === 'public-suffix-domain' ? 'a public suffix domain' : 'its organizational domain'})`,
      `${RFC} §4.10`,
    );
  }
  let policy: 'none' | 'quarantine' | 'reject' | undefined;
  if (requested.kind === 'no-policy') {
    add(
      'error',
      'dmarc-no-policy',
      `_dmarc.${discovery.policyDomain}: ${requested.reason}`,
      `${RFC} §4.10.1`,
      suggested,
    );
  } else {
    policy = discovery.source === 'author-domain' ? requested.p : (record.sp ?? requested.p);
    if (requested.p === 'none' && requested.reason !== undefined) {
      // The record does not say p=none: a typo (p=rejct) or no p= at all is read as p=none.
      add(
        'warning',
        'dmarc-p-none',
        `receivers read this record as p=none: ${requested.reason}; failing mail is delivered as usual`,
        `${RFC} §4.10.1`,
        'write the policy you mean: p=reject, p=quarantine, or p=none while you read the reports',
      );
    } else if (requested.p === 'none') {
      add(
        'warning',
        'dmarc-p-none',
        `p=none: failing mail is delivered as usual; DMARC only reports`,
        `${RFC} §4.7`,
        'once the reports show every legitimate sender passing, set p=quarantine, then p=reject',
      );
    }
    if (record.sp === 'none' && requested.p !== 'none') {
      add(
        'warning',
        'dmarc-sp-none',
        `sp=none leaves every subdomain of ${discovery.policyDomain} unprotected while p=${requested.p}`,
        `${RFC} §4.7`,
        'remove sp= (subdomains then follow p=)',
      );
    }
    if (record.testing) {
      add(
        'warning',
        'dmarc-testing',
        `t=y: receivers apply ${requested.p} one step weaker (testing mode)`,
        `${RFC} §4.7`,
        'remove t=y when the policy is ready',
      );
    }
  }
  const uris = [...record.rua, ...record.ruf];
  if (record.rua.length === 0) {
    add(
      'warning',
      'dmarc-no-rua',
      'no rua: you receive no aggregate reports, so you cannot see who sends as your domain',
      'RFC 9990 §2',
      `add rua=mailto:dmarc-reports@${discovery.policyDomain}`,
    );
  }
  if (record.rua.length > 2 || record.ruf.length > 2) {
    add(
      'warning',
      'dmarc-many-uris',
      `${uris.length} report URIs: some reporters send to the first two only`,
      'RFC 9990 §2',
      'keep at most two rua and two ruf URIs',
    );
  }
  const destinations = await checkReportDestinations(record, discovery.policyDomain, {
    resolver: options.resolver,
    dns,
  });
  for (const destination of destinations) {
    if (destination.external && destination.authorized === undefined) {
      findings.push(
        lookupFailed(
          'dmarc',
          'dmarc-lookup-failed',
          `whether ${destination.domain ?? 'the destination'} accepts reports for ${discovery.policyDomain}`,
          failureOf(destination.reason ?? 'lookup failed'),
          'RFC 9990 §4',
        ),
      );
    }
    if (destination.external && destination.authorized === false) {
      add(
        'warning',
        'dmarc-external-unauthorized',
        `${destination.tag}=${destination.uri}: ${destination.reason}`,
        'RFC 9990 §4',
        `the owner of ${destination.domain ?? 'that domain'} must publish ${destination.name ?? `${discovery.policyDomain}._report._dmarc.${destination.domain ?? ''}`}. TXT "v=DMARC1"`,
      );
    }
  }
  for (const domainOfRua of new Set(record.rua.map((u) => u.domain).filter((d): d is string => d !== undefined))) {
    const mx = await options.resolver.lookup(domainOfRua, 'MX');
    const a = mx.kind === 'answer' || isFailure(mx) ? mx : await options.resolver.lookup(domainOfRua, 'A');
    // Only answers count: a failed lookup says nothing about the rua domain.
    if ((mx.kind === 'nxdomain' || mx.kind === 'nodata') && (a.kind === 'nxdomain' || a.kind === 'nodata')) {
      add(
        'warning',
        'dmarc-rua-no-mx',
        `reports go to ${domainOfRua}, which has neither MX nor address records: reports cannot be delivered`,
        'RFC 5321 §5.1',
        `give ${domainOfRua} an MX record, or report to another address`,
      );
    }
  }
  // RFC 7489 finds the policy through the public suffix list; say when that differs.
  const legacy = await discoverPolicy(dns, name, 'rfc7489');
  if (legacy.kind === 'found' && legacy.policyDomain !== discovery.policyDomain) {
    add(
      'info',
      'dmarc-discovery-differs',
      `receivers on RFC 7489 use the record of ${legacy.policyDomain}, RFC 9989 receivers that of ${discovery.policyDomain}`,
      `${RFC} §4.10; RFC 7489 §6.6.3`,
    );
  } else if (legacy.kind !== 'found') {
    add(
      'info',
      'dmarc-discovery-differs',
      `receivers on RFC 7489 find no policy for ${name} (they do not walk to ${discovery.policyDomain})`,
      `${RFC} §4.10; RFC 7489 §6.6.3`,
    );
  }
  if (!findings.some((f) => f.severity === 'error' || f.severity === 'warning' || isLookupFailure(f))) {
    add(
      'ok',
      'dmarc-ok',
      `DMARC p=${policy ?? 'none'} from _dmarc.${discovery.policyDomain}, with aggregate reports`,
      RFC,
    );
  }
  return {
    findings,
    ...(policy !== undefined && { policy }),
    policyDomain: discovery.policyDomain,
    record: record.text,
    hasRua: record.rua.length > 0,
    ...(record.pct !== undefined && { pct: record.pct }),
  };
}
