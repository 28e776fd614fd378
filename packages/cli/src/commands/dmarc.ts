import type { DiscoveryMode, DmarcRecord, PolicyDiscovery, ReportDestination, Resolver } from '@mailward/core';
import { DmarcDns, checkReportDestinations, discoverPolicy, requestedPolicy } from '@mailward/core';
import { mailDomainOf } from './mail-domain.js';
import type { CommandResult } from './result.js';
import { usageError } from './result.js';

export interface DmarcArgs {
  readonly domain: string;
  readonly json: boolean;
  readonly mode: DiscoveryMode;
}

/**
 * `mailward dmarc DOMAIN`: which DMARC policy applies to mail from DOMAIN, where it was found, and
 * what it asks for. Exit 0 when discovery ran (whether or not a policy exists), 1 on DNS failure.
 */
export async function dmarcCommand(args: DmarcArgs, deps: { readonly resolver: Resolver }): Promise<CommandResult> {
  const checked = mailDomainOf(args.domain);
  if ('reason' in checked) return usageError('dmarc', `${JSON.stringify(args.domain)}: ${checked.reason}`);
  const dns = new DmarcDns(deps.resolver);
  const discovery = await discoverPolicy(dns, checked.domain, args.mode);
  const destinations =
    discovery.kind === 'found'
      ? await checkReportDestinations(discovery.record, discovery.policyDomain, {
          resolver: deps.resolver,
          mode: args.mode,
          dns,
        })
      : [];
  const exitCode = discovery.kind === 'temperror' ? 1 : 0;
  const stdout = args.json
    ? renderJson(discovery, args.mode, destinations)
    : renderText(discovery, args.mode, destinations);
  return { exitCode, stdout, stderr: '' };
}

function explain(record: DmarcRecord): Record<string, unknown> {
  const requested = requestedPolicy(record);
  return {
    policy: requested.kind === 'policy' ? requested.p : null,
    policyNote: requested.reason ?? null,
    subdomainPolicy: record.sp ?? null,
    nonexistentSubdomainPolicy: record.np ?? null,
    testing: record.testing,
    psd: record.psd,
    adkim: record.adkim,
    aspf: record.aspf,
    rua: record.rua.map((u) => u.uri),
    ruf: record.ruf.map((u) => u.uri),
    fo: record.fo,
    pct: record.pct ?? null,
    problems: record.problems,
    record: record.text,
  };
}

function renderJson(
  discovery: PolicyDiscovery,
  mode: DiscoveryMode,
  destinations: readonly ReportDestination[],
): string {
  const body = {
    domain: discovery.authorDomain,
    mode,
    result: discovery.kind,
    ...(discovery.kind === 'found'
      ? {
          policyDomain: discovery.policyDomain,
          organizationalDomain: discovery.organizationalDomain,
          source: discovery.source,
          ...explain(discovery.record),
        }
      : { reason: discovery.reason }),
    destinations: destinations.map((d) => ({
      tag: d.tag,
      uri: d.uri,
      external: d.external,
      authorized: d.authorized ?? null,
      reason: d.reason,
    })),
    queries: discovery.steps.map((s) => ({
      name: s.name,
      outcome: s.result.kind,
      ...(s.result.kind !== 'record' && { detail: s.result.reason }),
    })),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

function renderText(
  discovery: PolicyDiscovery,
  mode: DiscoveryMode,
  destinations: readonly ReportDestination[],
): string {
  const lines: string[] = [];
  if (discovery.kind === 'found') {
    const r = discovery.record;
    const requested = requestedPolicy(r);
    const where =
      discovery.source === 'author-domain'
        ? 'its own record'
        : discovery.source === 'organizational-domain'
          ? 'its organizational domain'
          : 'its public suffix domain (psd=y)';
    lines.push(`${discovery.authorDomain}: DMARC policy from ${where}, _dmarc.${discovery.policyDomain}`);
    lines.push(`  record: ${r.text}`);
    if (requested.kind === 'no-policy') lines.push(`  no DMARC processing: ${requested.reason}`);
    else {
      const own = discovery.policyDomain === discovery.authorDomain;
      const tag = own ? 'p' : r.sp !== undefined ? 'sp' : 'p';
      const applied = own ? requested.p : (r.sp ?? requested.p);
      lines.push(
        `  mail failing DMARC: ${applied} (${tag}=)${r.testing ? ', but t=y: one step weaker while the owner tests' : ''}`,
      );
      if (!own && r.np !== undefined) lines.push(`  non-existent subdomains: ${r.np} (np=)`);
      if (requested.reason !== undefined) lines.push(`  note: ${requested.reason}`);
    }
    lines.push(
      `  organizational domain: ${discovery.organizationalDomain}; alignment: DKIM ${r.adkim === 's' ? 'strict' : 'relaxed'}, SPF ${r.aspf === 's' ? 'strict' : 'relaxed'}`,
    );
    lines.push(`  aggregate reports: ${r.rua.map((u) => u.uri).join(', ') || 'none requested'}`);
    if (r.ruf.length > 0) lines.push(`  failure reports: ${r.ruf.map((u) => u.uri).join(', ')}`);
    for (const d of destinations.filter((x) => x.external)) {
      lines.push(
        `  ${d.authorized === true ? 'ok' : d.authorized === false ? 'warning' : 'unknown'}: ${d.tag} ${d.uri}: ${d.reason}`,
      );
    }
    for (const p of r.problems) lines.push(`  ${p.severity}: ${p.message} (offset ${p.position})`);
  } else if (discovery.kind === 'none') {
    lines.push(
      `${discovery.authorDomain}: no DMARC policy (${discovery.reason}); receivers apply no DMARC to its mail`,
    );
  } else {
    lines.push(
      `${discovery.authorDomain}: discovery failed (${discovery.reason}); receivers would treat this as a temporary error`,
    );
  }
  lines.push(
    `  queries (${mode === 'rfc9989' ? 'RFC 9989 tree walk' : 'RFC 7489, public suffix list'}): ${discovery.steps.map((s) => `${s.name} ${s.result.kind}`).join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}
