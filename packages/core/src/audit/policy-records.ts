/**
 * The optional protections published as TXT records: TLS-RPT (RFC 8460 §3), MTA-STS's policy
 * indicator (RFC 8461 §3.1; the HTTPS policy itself is audited separately) and BIMI (the draft
 * "Brand Indicators for Message Identification"), with BIMI's DMARC prerequisite. Missing ones are
 * info, problems warnings: never errors.
 */
import type { DnsFailure, Resolver } from '../dns/types.js';
import { isFailure } from '../dns/types.js';
import type { AuditArea, Finding } from './finding.js';
import { lookupFailed } from './lookup-failure.js';

type Add = (severity: Finding['severity'], code: string, message: string, rfc: string, fix?: string) => void;

function adder(findings: Finding[], area: AuditArea): Add {
  return (severity, code, message, rfc, fix) =>
    findings.push({ code, severity, area, message, rfc, ...(fix !== undefined && { fix }) });
}

/** Tag-value pairs "a=b; c=d"; the first tag must be v. */
function tags(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    if (!map.has(key)) map.set(key, part.slice(eq + 1).trim());
  }
  return map;
}

async function txt(resolver: Resolver, name: string): Promise<{ failed?: DnsFailure; texts: string[] }> {
  const answer = await resolver.lookup(name, 'TXT');
  if (isFailure(answer)) return { failed: answer, texts: [] };
  return { texts: answer.kind === 'answer' ? answer.records.map((r) => r.text) : [] };
}

export async function auditTlsRpt(domain: string, options: { readonly resolver: Resolver }): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = adder(findings, 'tls-rpt');
  const name = `_smtp._tls.${domain}`;
  const { failed, texts } = await txt(options.resolver, name);
  const records = texts.filter((t) => /^v=TLSRPTv1\s*(;|$)/i.test(t.trim()));
  const fix = `publish ${name}. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@${domain}"`;
  if (failed !== undefined)
    findings.push(lookupFailed('tls-rpt', 'tlsrpt-lookup-failed', `the TLS-RPT record ${name}`, failed, 'RFC 8460 §3'));
  else if (records.length === 0)
    add(
      'info',
      'tlsrpt-missing',
      `no TLS-RPT record: you hear nothing when senders fail to reach you over TLS`,
      'RFC 8460 §3',
      fix,
    );
  else if (records.length > 1)
    add(
      'warning',
      'tlsrpt-multiple-records',
      `${name} has ${records.length} TLS-RPT records: senders use none`,
      'RFC 8460 §3',
      'keep one record',
    );
  else {
    const rua = tags(records[0] as string).get('rua');
    const uris = (rua ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    const bad = uris.filter((u) => !/^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/i.test(u));
    if (uris.length === 0)
      add('warning', 'tlsrpt-syntax', `${name}: no rua= with a mailto: or https: address`, 'RFC 8460 §3', fix);
    else if (bad.length > 0)
      add(
        'warning',
        'tlsrpt-syntax',
        `${name}: rua "${bad.join(', ')}" is neither mailto: nor https:`,
        'RFC 8460 §3',
        fix,
      );
    else add('ok', 'tlsrpt-ok', `TLS reports go to ${uris.join(', ')}`, 'RFC 8460 §3');
  }
  return findings;
}

export async function auditMtaStsRecord(
  domain: string,
  options: { readonly resolver: Resolver },
): Promise<{ findings: Finding[]; id?: string }> {
  const findings: Finding[] = [];
  const add = adder(findings, 'mta-sts');
  const name = `_mta-sts.${domain}`;
  const { failed, texts } = await txt(options.resolver, name);
  const records = texts.filter((t) => /^v=STSv1\s*(;|$)/i.test(t.trim()));
  if (failed !== undefined) {
    findings.push(
      lookupFailed('mta-sts', 'mta-sts-lookup-failed', `the MTA-STS record ${name}`, failed, 'RFC 8461 §3.1'),
    );
    return { findings };
  }
  if (records.length === 0) {
    add(
      'info',
      'mta-sts-missing',
      'no MTA-STS: senders deliver to you over TLS only opportunistically, open to downgrade',
      'RFC 8461 §3',
      `publish ${name}. TXT "v=STSv1; id=<YYYYMMDDnn>" and the policy at https://mta-sts.${domain}/.well-known/mta-sts.txt`,
    );
    return { findings };
  }
  if (records.length > 1) {
    add(
      'warning',
      'mta-sts-multiple-records',
      `${name} has ${records.length} STSv1 records: senders treat MTA-STS as absent`,
      'RFC 8461 §3.1',
      'keep one record',
    );
    return { findings };
  }
  const id = tags(records[0] as string).get('id');
  if (id === undefined || !/^[A-Za-z0-9]{1,32}$/.test(id)) {
    add(
      'warning',
      'mta-sts-syntax',
      `${name}: id= must be 1 to 32 letters and digits (got ${JSON.stringify(id ?? null)})`,
      'RFC 8461 §3.1',
      `publish ${name}. TXT "v=STSv1; id=2026112801"`,
    );
    return { findings };
  }
  return { findings, id };
}

export async function auditBimi(
  domain: string,
  options: { readonly resolver: Resolver; readonly dmarcPolicy?: string; readonly dmarcPct?: number },
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = adder(findings, 'bimi');
  const name = `default._bimi.${domain}`;
  const { failed, texts } = await txt(options.resolver, name);
  const records = texts.filter((t) => /^v=BIMI1\s*(;|$)/i.test(t.trim()));
  if (failed !== undefined)
    findings.push(
      lookupFailed(
        'bimi',
        'bimi-lookup-failed',
        `the BIMI record ${name}`,
        failed,
        'draft-brand-indicators-for-message-identification §4',
      ),
    );
  else if (records.length === 0)
    add(
      'info',
      'bimi-missing',
      'no BIMI record: mailbox providers show no logo for your mail',
      'draft-brand-indicators-for-message-identification §4',
      `publish ${name}. TXT "v=BIMI1; l=https://${domain}/logo.svg; a=https://${domain}/vmc.pem"`,
    );
  else if (records.length > 1)
    add(
      'warning',
      'bimi-multiple-records',
      `${name} has ${records.length} BIMI records`,
      'draft-brand-indicators-for-message-identification §4',
      'keep one record',
    );
  else {
    const t = tags(records[0] as string);
    const logo = t.get('l') ?? '';
    const evidence = t.get('a');
    if (logo !== '' && !/^https:\/\/\S+\.svg$/i.test(logo)) {
      add(
        'warning',
        'bimi-syntax',
        `${name}: l= must be an https URL of an SVG file (got ${JSON.stringify(logo)})`,
        'draft-brand-indicators-for-message-identification §4.2',
        `set l=https://${domain}/logo.svg`,
      );
    }
    if (evidence !== undefined && evidence !== '' && !/^https:\/\/\S+$/i.test(evidence)) {
      add(
        'warning',
        'bimi-syntax',
        `${name}: a= must be an https URL (got ${JSON.stringify(evidence)})`,
        'draft-brand-indicators-for-message-identification §4.2',
        'set a= to the https URL of your VMC',
      );
    }
    if (evidence === undefined || evidence === '') {
      add(
        'info',
        'bimi-no-evidence',
        `${name}: no a= (mark certificate); the largest providers show logos only with one`,
        'draft-brand-indicators-for-message-identification §4.2',
      );
    }
    // BIMI requires DMARC enforcement: quarantine or reject for all mail.
    const enforced =
      options.dmarcPolicy === 'reject' || (options.dmarcPolicy === 'quarantine' && (options.dmarcPct ?? 100) === 100);
    if (!enforced) {
      add(
        'warning',
        'bimi-dmarc-too-weak',
        `BIMI needs DMARC at p=quarantine (pct=100) or p=reject; the policy here is ${options.dmarcPolicy ?? 'absent'}`,
        'draft-brand-indicators-for-message-identification §3',
        'move DMARC to p=quarantine or p=reject first',
      );
    }
    if (!findings.some((f) => f.severity === 'warning' || f.severity === 'error'))
      add(
        'ok',
        'bimi-ok',
        `BIMI record valid (logo ${logo === '' ? 'declined' : logo})`,
        'draft-brand-indicators-for-message-identification',
      );
  }
  return findings;
}

/**
 * DNSSEC, as far as a resolver tells: whether the zone publishes DNSKEY records, and whether the
 * resolver marked the answers authenticated (the AD bit). mailward does not validate signatures
 * itself; with a non-validating resolver a signed zone shows as "signed, not validated here".
 * A validating resolver answers SERVFAIL for a zone whose chain is broken (RFC 4035 §5.5, bogus);
 * asking the failed question again with checking disabled (the CD bit, §3.2.2) tells that apart
 * from a server that is down.
 */
export async function auditDnssec(domain: string, options: { readonly resolver: Resolver }): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = adder(findings, 'dnssec');
  const { resolver } = options;
  let [dnskey, soa] = await Promise.all([resolver.lookup(domain, 'DNSKEY'), resolver.lookup(domain, 'SOA')]);
  // One more try for what failed: a single lost or failed answer is not a finding.
  if (isFailure(dnskey)) dnskey = await resolver.lookup(domain, 'DNSKEY');
  if (isFailure(soa)) soa = await resolver.lookup(domain, 'SOA');
  const failed = isFailure(soa)
    ? { type: 'SOA' as const, result: soa }
    : isFailure(dnskey)
      ? { type: 'DNSKEY' as const, result: dnskey }
      : undefined;
  if (failed !== undefined) {
    // Only an answer with RCODE SERVFAIL can mean bogus data; then the same question without
    // validation: any answer to it (records, NODATA, NXDOMAIN) shows that the data is there and
    // only validation fails.
    const unchecked =
      failed.result.kind === 'servfail' && failed.result.rcode === true
        ? await resolver.lookup(domain, failed.type, { checkingDisabled: true })
        : undefined;
    if (unchecked !== undefined && !isFailure(unchecked)) {
      add(
        'error',
        'dnssec-bogus',
        `${domain} fails DNSSEC validation: the resolver answers SERVFAIL for its ${failed.type}, but answers when asked not to validate (CD bit). Validating receivers cannot look up the domain's MX, SPF or DMARC records, so mail to and from it fails there`,
        'RFC 4035 §5.5',
        'repair the chain of trust: re-sign the zone if its signatures expired or are missing, and make the DS record at your registrar match a DNSKEY the zone publishes (or remove the DS to turn DNSSEC off)',
      );
    } else {
      findings.push(
        lookupFailed(
          'dnssec',
          'dnssec-lookup-failed',
          `the DNSSEC state of ${domain} (its ${failed.type} lookup failed twice)`,
          failed.result,
          'RFC 1035 §4.1.1',
        ),
      );
    }
    return findings;
  }
  const signed = dnskey.kind === 'answer' && dnskey.records.length > 0;
  const validated = (dnskey.kind === 'answer' && dnskey.authenticated) || (soa.kind === 'answer' && soa.authenticated);
  if (validated)
    add(
      'ok',
      'dnssec-validated',
      `answers for ${domain} are DNSSEC-validated (AD bit from the resolver)`,
      'RFC 4035 §3.2.3',
    );
  else if (signed)
    add(
      'info',
      'dnssec-not-validated',
      `${domain} publishes DNSKEY records, but the resolver did not mark the answers authenticated (no AD bit): check with a validating resolver (--dns)`,
      'RFC 4035 §3.2.3',
    );
  else
    add(
      'info',
      'dnssec-unsigned',
      `${domain} is not signed with DNSSEC (no DNSKEY at the zone apex)`,
      'RFC 4033',
      'enable DNSSEC at your DNS host and publish the DS record at your registrar',
    );
  return findings;
}
