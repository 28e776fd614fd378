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
  readonly matches: boolean;
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
 * this private key? Exit 0 when it is, 1 when it is not or cannot be checked.
 */
export async function dkimKeyCheckCommand(
  args: KeyCheckArgs,
  deps: { readonly resolver: Resolver },
): Promise<CommandResult> {
  const fetched = await fetchDkimKey(deps.resolver, args.selector, args.domain);
  let report: KeyCheckReport;
  if (fetched.kind !== 'keys') {
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
  return { exitCode: report.matches ? 0 : 1, stdout, stderr: '' };
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
  const lines = [`${report.matches ? 'OK' : 'MISMATCH'}: ${report.name}: ${report.reason}`];
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
