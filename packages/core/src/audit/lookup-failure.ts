/**
 * The finding for a DNS lookup that failed. A failure says nothing about the domain's records: the
 * resolver may be down, refusing, or unable to reach the domain's name servers. So the finding is
 * `info`, its area is "could not check" (finding.ts), and the message names the failure as the
 * resolver reported it (the server, and refused apart from timeout), never a fix for the domain.
 */
import type { DnsFailure } from '../dns/types.js';
import type { AuditArea, Finding } from './finding.js';

const WHAT: Record<DnsFailure['kind'], string> = {
  refused: 'the DNS server refused the query',
  timeout: 'no usable answer from the DNS server (timeout, or the server unreachable)',
  servfail: 'the DNS server answered SERVFAIL or an unusable answer',
};

const FIX: Record<DnsFailure['kind'], string> = {
  refused: 'not a finding about the domain: ask a DNS server that answers for it (--dns HOST), then audit again',
  timeout:
    'not a finding about the domain: check the network and the DNS server (or ask another with --dns HOST), then audit again',
  servfail:
    "not a finding about the domain as far as mailward can tell: the resolver could not get an answer from the domain's name servers; audit again, or ask another resolver (--dns HOST)",
};

export function lookupFailed(
  area: AuditArea,
  code: string,
  subject: string,
  failure: Pick<DnsFailure, 'kind' | 'reason'>,
  rfc: string,
): Finding {
  return {
    code,
    severity: 'info',
    area,
    message: `could not check ${subject}: ${WHAT[failure.kind]} (${failure.reason})`,
    rfc,
    fix: FIX[failure.kind],
  };
}
