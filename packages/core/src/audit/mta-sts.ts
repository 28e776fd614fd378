/**
 * MTA-STS policy audit (RFC 8461 §3.2, §3.3, §4.1): the policy fetched over HTTPS (by an adapter
 * that applies the fetching rules: a valid certificate for mta-sts.DOMAIN, no redirects, a size cap
 * and a timeout), its content type, syntax, mode and max_age, and whether every MX host is covered
 * by an `mx:` pattern, a wildcard matching exactly one left-most label.
 */
import type { Finding } from './finding.js';

export type PolicyFetch =
  | { readonly kind: 'ok'; readonly status: number; readonly contentType: string; readonly body: string }
  | { readonly kind: 'error'; readonly reason: string };

/** Fetches https://mta-sts.DOMAIN/.well-known/mta-sts.txt under RFC 8461 §3.3's rules. */
export interface MtaStsFetcher {
  fetchPolicy(domain: string): Promise<PolicyFetch>;
}

export interface MtaStsPolicy {
  readonly mode?: string;
  readonly maxAge?: number;
  readonly mx: readonly string[];
}

const RFC = 'RFC 8461';
const MAX_AGE_LIMIT = 31_557_600;

/** §4.1: "*.example.com" matches one label below example.com, not example.com, not a.b.example.com. */
export function mxPatternMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === h;
  const suffix = p.slice(1); // ".example.com"
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, h.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

/** §3.2: "key: value" lines (CRLF or LF); version must come first. */
export function parseMtaStsPolicy(body: string): { policy: MtaStsPolicy; problems: string[] } {
  const problems: string[] = [];
  const mx: string[] = [];
  let mode: string | undefined;
  let maxAge: number | undefined;
  const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
  lines.forEach((line, index) => {
    const colon = line.indexOf(':');
    if (colon < 0) {
      problems.push(`line ${index + 1}: "${line.slice(0, 60)}" is not "key: value"`);
      return;
    }
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (index === 0 && (key !== 'version' || value !== 'STSv1'))
      problems.push('the first line must be "version: STSv1"');
    if (key === 'mode') {
      if (!['enforce', 'testing', 'none'].includes(value))
        problems.push(`mode "${value}" is not enforce, testing or none`);
      mode = value;
    } else if (key === 'max_age') {
      if (!/^\d{1,10}$/.test(value)) problems.push(`max_age "${value}" is not a number of seconds`);
      else maxAge = Number(value);
    } else if (key === 'mx') {
      if (!/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\.?$/.test(value))
        problems.push(`mx "${value}" is not a host name pattern`);
      mx.push(value);
    }
  });
  if (lines.length === 0) problems.push('the policy is empty');
  if (mode === undefined) problems.push('no mode');
  if (maxAge === undefined) problems.push('no max_age');
  if (mode !== 'none' && mx.length === 0) problems.push('no mx');
  return { policy: { ...(mode !== undefined && { mode }), ...(maxAge !== undefined && { maxAge }), mx }, problems };
}

export interface MtaStsPolicyAudit {
  readonly findings: readonly Finding[];
  /** The mode of a policy that was fetched and parsed without problems. */
  readonly mode?: string;
}

export async function auditMtaStsPolicy(
  domain: string,
  options: { readonly fetcher: MtaStsFetcher; readonly mxHosts: readonly string[] },
): Promise<MtaStsPolicyAudit> {
  const findings: Finding[] = [];
  const add = (severity: Finding['severity'], code: string, message: string, rfc: string, fix?: string) =>
    findings.push({ code, severity, area: 'mta-sts', message, rfc, ...(fix !== undefined && { fix }) });
  const url = `https://mta-sts.${domain}/.well-known/mta-sts.txt`;
  const fetched = await options.fetcher.fetchPolicy(domain);
  if (fetched.kind === 'error') {
    add(
      'warning',
      'mta-sts-policy-unreachable',
      `${url}: ${fetched.reason}; senders ignore MTA-STS`,
      `${RFC} §3.3`,
      `serve the policy at ${url} with a valid certificate for mta-sts.${domain}, without redirects`,
    );
    return { findings };
  }
  if (fetched.status !== 200) {
    add(
      'warning',
      'mta-sts-policy-unreachable',
      `${url}: HTTP ${fetched.status}${fetched.status >= 300 && fetched.status < 400 ? ' (redirects are not followed)' : ''}`,
      `${RFC} §3.3`,
      `serve the policy at ${url} with status 200`,
    );
    return { findings };
  }
  if (!/^text\/plain\b/i.test(fetched.contentType)) {
    add(
      'warning',
      'mta-sts-policy-content-type',
      `${url}: Content-Type is "${fetched.contentType}", not text/plain; senders must ignore the policy`,
      `${RFC} §3.2`,
      'serve the policy as text/plain',
    );
    return { findings };
  }
  const { policy, problems } = parseMtaStsPolicy(fetched.body);
  for (const problem of problems)
    add(
      'warning',
      'mta-sts-policy-syntax',
      `${url}: ${problem}`,
      `${RFC} §3.2`,
      'publish "version: STSv1", "mode:", one "mx:" line per MX and "max_age:"',
    );
  if (problems.length > 0) return { findings };
  if (policy.mode === 'testing')
    add(
      'info',
      'mta-sts-testing',
      'mode: testing: failures are reported (TLS-RPT), not enforced',
      `${RFC} §5`,
      'set mode: enforce once the reports are clean',
    );
  if (policy.mode === 'none')
    add('info', 'mta-sts-mode-none', 'mode: none: the policy is being withdrawn', `${RFC} §5`);
  if (policy.maxAge !== undefined && policy.maxAge > MAX_AGE_LIMIT) {
    add(
      'warning',
      'mta-sts-max-age-invalid',
      `max_age ${policy.maxAge} is over ${MAX_AGE_LIMIT} (one year)`,
      `${RFC} §3.2`,
      'set max_age: 604800 (one week) or more, up to 31557600',
    );
  } else if (policy.maxAge !== undefined && policy.maxAge < 86_400 && policy.mode === 'enforce') {
    add(
      'warning',
      'mta-sts-max-age-short',
      `max_age ${policy.maxAge}: senders forget the policy within a day, leaving a window for downgrade`,
      `${RFC} §3.2`,
      'set max_age: 604800 (one week) or more',
    );
  }
  if (policy.mode !== 'none') {
    for (const host of options.mxHosts) {
      if (!policy.mx.some((pattern) => mxPatternMatches(pattern, host))) {
        // In enforce mode a sender that honours the policy refuses to deliver to an MX it does
        // not list (RFC 8461 §5): mail to that host is lost, so it is an error.
        add(
          policy.mode === 'enforce' ? 'error' : 'warning',
          'mta-sts-mx-not-covered',
          `MX ${host} matches no mx: pattern of the policy${policy.mode === 'enforce' ? ': senders enforcing the policy will not deliver there' : ''}`,
          `${RFC} §4.1`,
          `add "mx: ${host}" to the policy`,
        );
      }
    }
  }
  if (!findings.some((f) => f.severity === 'warning' || f.severity === 'error')) {
    add(
      'ok',
      'mta-sts-ok',
      `MTA-STS mode ${policy.mode ?? '?'}, max_age ${policy.maxAge ?? '?'}, covering ${options.mxHosts.length} MX host${options.mxHosts.length === 1 ? '' : 's'}`,
      RFC,
    );
  }
  return { findings, ...(policy.mode !== undefined && { mode: policy.mode }) };
}
