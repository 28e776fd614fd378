import type { KeyObject } from 'node:crypto';
import type { DkimKey, Resolver } from '@mailward/core';
import { fetchDkimKey, publishedKeyMatches } from '@mailward/core';
import type { CommandResult } from './result.js';

export interface KeyCheckArgs {
  readonly domain: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
  readonly keyFile: string;
  readonly json: boolean;
}

interface KeyCheckReport {
  readonly name: string;
  /** null when the lookup failed: whether the key matches is unknown. */
  readonly matches: boolean | null;
  readonly reason: string;
  readonly published: {
    readonly type: string;
    readonly bits: number | null;
    readonly testing: boolean;
    readonly revoked: boolean;
    readonly services: readonly string[];
    readonly hashAlgorithms: readonly string[] | null;
    readonly record: string;
  } | null;
}

/**
 * `mailward dkim key-check`: is the key published at SELECTOR._domainkey.DOMAIN the public half of
 * this private key? Exit 0 when it is, 1 when it is not (or no usable key is published), 3 when
 * the lookup failed: a DNS failure says nothing about the published key, so it is no mismatch.
 */
export async function dkimKeyCheckCommand(
  args: KeyCheckArgs,
  deps: { readonly resolver: Resolver },
): Promise<CommandResult> {
  const fetched = await fetchDkimKey(deps.resolver, args.selector, args.domain);
  let report: KeyCheckReport;
  if (fetched.kind === 'unavailable') {
    report = { name: fetched.name, matches: null, reason: fetched.reason, published: null };
  } else if (fetched.kind !== 'keys') {
    report = { name: fetched.name, matches: false, reason: fetched.reason, published: null };
  } else {
    const checks = fetched.keys.map((key) => ({ key, match: publishedKeyMatches(args.privateKey, key) }));
    const found = checks.find((c) => c.match.matches) ?? checks[0];
    // fetchDkimKey returns at least one key when kind is 'keys'.
    const { key, match } = found!;
    report = {
      name: fetched.name,
      matches: match.matches,
      reason: match.matches ? `the published key matches ${args.keyFile}` : match.reason,
      published: describeKey(key),
    };
  }
  const stdout = args.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report);
  return { exitCode: report.matches === null ? 3 : report.matches ? 0 : 1, stdout, stderr: '' };
}

function describeKey(key: DkimKey): KeyCheckReport['published'] {
  return {
    type: key.keyType,
    bits: key.bits ?? null,
    testing: key.testing,
    revoked: key.revoked,
    services: key.services,
    hashAlgorithms: key.hashAlgorithms ?? null,
    record: key.raw,
  };
}

function renderText(report: KeyCheckReport): string {
  const verdict = report.matches === null ? 'LOOKUP FAILED' : report.matches ? 'OK' : 'MISMATCH';
  const lines = [`${verdict}: ${report.name}: ${report.reason}`];
  if (report.matches === null)
    lines.push('  could not check the published key; ask another DNS server (--dns HOST) or try again later');
  const p = report.published;
  if (p !== null) {
    lines.push(`  key: ${p.type}${p.bits === null ? '' : `, ${p.bits} bits`}${p.revoked ? ', revoked' : ''}`);
    if (p.testing) lines.push('  t=y: the domain says it is testing DKIM; verifiers may treat failures leniently');
    if (p.type === 'rsa' && p.bits !== null && p.bits < 2048)
      lines.push('  warning: RSA keys under 2048 bits are weak (RFC 8301 recommends 2048)');
    if (!p.services.includes('*')) lines.push(`  s=${p.services.join(':')}`);
    if (p.hashAlgorithms !== null) lines.push(`  h=${p.hashAlgorithms.join(':')}`);
  }
  return `${lines.join('\n')}\n`;
}
