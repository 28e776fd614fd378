/**
 * MX audit (RFC 5321 §5.1, RFC 7505): null MX, targets that resolve to addresses, targets that are
 * CNAMEs or IP literals, duplicates, reverse DNS of the targets with forward confirmation, and a
 * domain that sends mail but cannot receive any.
 */
import type { Resolver } from '../dns/types.js';
import { isFailure } from '../dns/types.js';
import { ipText, parseClientIp, reverseName } from '../spf/ip.js';
import type { Finding } from './finding.js';
import { isLookupFailure } from './finding.js';
import { lookupFailed } from './lookup-failure.js';

export interface MxAudit {
  readonly findings: readonly Finding[];
  /** No MX, or a null MX: the domain receives no mail. */
  readonly parked: boolean;
  readonly nullMx: boolean;
  readonly hosts: readonly string[];
}

const RFC = 'RFC 5321 §5.1';

export async function auditMx(
  domain: string,
  options: {
    readonly resolver: Resolver;
    /** Whether the domain sends mail (its SPF or DKIM say so). */ readonly sends?: boolean;
  },
): Promise<MxAudit> {
  const findings: Finding[] = [];
  const add = (severity: Finding['severity'], code: string, message: string, rfc: string, fix?: string) =>
    findings.push({ code, severity, area: 'mx', message, rfc, ...(fix !== undefined && { fix }) });
  const name = domain.toLowerCase().replace(/\.$/, '');
  const answer = await options.resolver.lookup(name, 'MX');
  if (isFailure(answer)) {
    findings.push(lookupFailed('mx', 'mx-lookup-failed', `the MX records of ${name}`, answer, RFC));
    return { findings, parked: false, nullMx: false, hosts: [] };
  }
  if (answer.kind !== 'answer') {
    if (options.sends === true) {
      add(
        'warning',
        'mx-none-but-sends',
        `${name} sends mail but has no MX: replies and bounces cannot reach it, and some receivers refuse such senders`,
        'RFC 7505 §4',
        `publish ${name}. MX 10 <your mail server>.`,
      );
    } else {
      add(
        'info',
        'mx-none',
        `${name} has no MX${answer.kind === 'nxdomain' ? ' (the name does not exist)' : ''}: mail to it falls back to its address records`,
        'RFC 5321 §5.1; RFC 7505',
        `if it receives no mail, say so with a null MX: ${name}. MX 0 .`,
      );
    }
    return { findings, parked: true, nullMx: false, hosts: [] };
  }
  const records = answer.records.map((r) => ({
    preference: r.preference,
    host: r.exchange.toLowerCase().replace(/\.$/, ''),
  }));
  const nullMx = records.some((r) => r.host === '');
  if (nullMx) {
    if (records.length > 1) {
      add(
        'error',
        'mx-null-mixed',
        `${name} publishes a null MX together with other MX records`,
        'RFC 7505 §3',
        'keep either the null MX alone or only real MX records',
      );
    } else {
      add('ok', 'mx-null', `${name} receives no mail (null MX)`, 'RFC 7505');
      if (options.sends === true) {
        add(
          'warning',
          'mx-none-but-sends',
          `${name} sends mail but its null MX refuses all mail: replies and bounces are lost`,
          'RFC 7505 §4',
          `replace the null MX by ${name}. MX 10 <your mail server>.`,
        );
      }
      return { findings, parked: true, nullMx: true, hosts: [] };
    }
  }
  const hosts = records.filter((r) => r.host !== '').map((r) => r.host);
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host))
      add(
        'warning',
        'mx-duplicate',
        `${host} is listed more than once`,
        RFC,
        `remove the duplicate MX record for ${host}`,
      );
    seen.add(host);
  }
  for (const host of seen) {
    if (parseClientIp(host) !== undefined || /^\[.*\]$/.test(host)) {
      add(
        'error',
        'mx-target-ip',
        `MX target ${host} is an address, not a host name`,
        RFC,
        `point the MX at a host name that has A/AAAA records`,
      );
      continue;
    }
    const [a, aaaa] = await Promise.all([options.resolver.lookup(host, 'A'), options.resolver.lookup(host, 'AAAA')]);
    // A failed lookup is not a missing address: say so, and judge only what was answered.
    const addressFailure = isFailure(a) ? a : isFailure(aaaa) ? aaaa : undefined;
    if (addressFailure !== undefined) {
      findings.push(lookupFailed('mx', 'mx-lookup-failed', `the addresses of MX host ${host}`, addressFailure, RFC));
      if (!(a.kind === 'answer' || aaaa.kind === 'answer')) continue;
    }
    const addresses = [...(a.kind === 'answer' ? a.records : []), ...(aaaa.kind === 'answer' ? aaaa.records : [])];
    if ((a.kind === 'answer' && a.cnames.length > 0) || (aaaa.kind === 'answer' && aaaa.cnames.length > 0)) {
      add(
        'warning',
        'mx-target-cname',
        `MX target ${host} is a CNAME; MX must name a host with address records`,
        'RFC 2181 §10.3; RFC 5321 §5.1',
        `point the MX at the canonical name`,
      );
    }
    if (addresses.length === 0) {
      add(
        'error',
        'mx-target-unresolvable',
        `MX target ${host} has no A or AAAA record: mail to ${name} cannot be delivered there`,
        RFC,
        `give ${host} an address, or remove the MX record`,
      );
      continue;
    }
    const first = parseClientIp(addresses[0] as string);
    if (first === undefined) continue;
    const ptr = await options.resolver.lookup(reverseName(first), 'PTR');
    if (isFailure(ptr)) {
      findings.push(
        lookupFailed(
          'mx',
          'mx-lookup-failed',
          `the reverse DNS (PTR) of ${host} (${ipText(first)})`,
          ptr,
          'RFC 1912 §2.1',
        ),
      );
      continue;
    }
    if (ptr.kind !== 'answer' || ptr.records.length === 0) {
      add(
        'warning',
        'mx-ptr-missing',
        `${host} (${ipText(first)}) has no PTR record; many receivers distrust mail from such hosts`,
        'RFC 1912 §2.1',
        `ask the owner of ${ipText(first)} to publish a PTR record for ${host}`,
      );
      continue;
    }
    const ptrName = (ptr.records[0] as string).toLowerCase().replace(/\.$/, '');
    const back = await options.resolver.lookup(ptrName, first.version === 4 ? 'A' : 'AAAA');
    if (isFailure(back)) {
      findings.push(
        lookupFailed(
          'mx',
          'mx-lookup-failed',
          `whether ${ptrName} resolves back to ${ipText(first)}`,
          back,
          'RFC 1912 §2.1',
        ),
      );
      continue;
    }
    const confirmed =
      back.kind === 'answer' &&
      back.records.some((r) => {
        const ip = parseClientIp(r);
        return ip !== undefined && ipText(ip) === ipText(first);
      });
    if (!confirmed) {
      add(
        'warning',
        'mx-ptr-not-confirmed',
        `${host} (${ipText(first)}) has PTR ${ptrName}, which does not resolve back to it`,
        'RFC 1912 §2.1',
        `make ${ptrName} resolve to ${ipText(first)}`,
      );
    }
  }
  if (!findings.some((f) => f.severity === 'error' || f.severity === 'warning' || isLookupFailure(f))) {
    add('ok', 'mx-ok', `${hosts.length} MX host${hosts.length === 1 ? '' : 's'}: ${[...seen].join(', ')}`, RFC);
  }
  return { findings, parked: false, nullMx, hosts: [...seen] };
}
