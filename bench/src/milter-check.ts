/**
 * Correctness before speed: what a side's milters did to a message must be right, or the bench
 * measures nothing worth having.
 * - Outbound: the delivered message carries a DKIM signature by bench.example's outbound key that
 *   passes core's verifier (and, for the cross-check, the other side's verifier: the bench runs
 *   each side's signed output through the other side's inbound path).
 * - Inbound: the delivered message carries an Authentication-Results field by the side's own
 *   authserv-id with dmarc=pass.
 * Each check returns a one-line problem or undefined.
 */
import type { Buffer } from 'node:buffer';
import { MemoryResolver, parseAuthenticationResults, verifyDkim, type Zone } from '@mailward/core';
import { splitHeaderLines, type Outcome } from './milter-chain.js';
import { AUTHOR_DOMAIN, OUTBOUND_SELECTOR } from './milter-world.js';

/** The milters sign with t= = now, so the check runs on the real clock. */
const CHECK_CLOCK = { now: () => Date.now() };

function delivered(outcome: Outcome): Buffer | string {
  if (outcome.action === 'accept') return outcome.delivered;
  return `${outcome.action} by ${outcome.by}${outcome.reply ? ` (${outcome.reply})` : ''}`;
}

export async function checkSigned(outcome: Outcome, zone: Zone): Promise<string | undefined> {
  const message = delivered(outcome);
  if (typeof message === 'string') return `outbound message not accepted: ${message}`;
  const result = await verifyDkim(message, { resolver: new MemoryResolver(zone), clock: CHECK_CLOCK });
  const ours = result.signatures.filter(
    (signature) => signature.domain === AUTHOR_DOMAIN && signature.selector === OUTBOUND_SELECTOR,
  );
  if (ours.length === 0) return `outbound message has no DKIM signature by s=${OUTBOUND_SELECTOR} d=${AUTHOR_DOMAIN}`;
  const failed = ours.find((signature) => signature.result !== 'pass');
  if (failed) return `outbound signature does not verify with core: ${failed.result}`;
  return undefined;
}

/** The dmarc= result in the side's own Authentication-Results, or a problem. */
export function dmarcResult(outcome: Outcome, authservId: string): { result: string } | { problem: string } {
  const message = delivered(outcome);
  if (typeof message === 'string') return { problem: `inbound message not accepted: ${message}` };
  const { headers } = splitHeaderLines(message);
  for (const line of headers) {
    const colon = line.indexOf(':');
    if (line.slice(0, colon).trim().toLowerCase() !== 'authentication-results') continue;
    const parsed = parseAuthenticationResults(line.slice(colon + 1));
    if (!parsed.ok || parsed.value.authservId.toLowerCase() !== authservId.toLowerCase()) continue;
    const dmarc = parsed.value.results.find((entry) => entry.method === 'dmarc');
    if (dmarc) return { result: dmarc.result };
  }
  return { problem: `no Authentication-Results by ${authservId} with a dmarc= result` };
}

export function checkDmarcPass(outcome: Outcome, authservId: string): string | undefined {
  const found = dmarcResult(outcome, authservId);
  if ('problem' in found) return found.problem;
  return found.result === 'pass' ? undefined : `${authservId} says dmarc=${found.result}, not pass`;
}

/** Whether the side's own Authentication-Results say dkim=pass for a signature with s=selector. */
export function checkDkimPass(outcome: Outcome, authservId: string, selector: string): string | undefined {
  const message = delivered(outcome);
  if (typeof message === 'string') return `message not accepted: ${message}`;
  const { headers } = splitHeaderLines(message);
  const seen: string[] = [];
  for (const line of headers) {
    const colon = line.indexOf(':');
    if (line.slice(0, colon).trim().toLowerCase() !== 'authentication-results') continue;
    const parsed = parseAuthenticationResults(line.slice(colon + 1));
    if (!parsed.ok || parsed.value.authservId.toLowerCase() !== authservId.toLowerCase()) continue;
    for (const entry of parsed.value.results) {
      if (entry.method !== 'dkim') continue;
      const s = entry.properties.find((p) => p.ptype === 'header' && p.property === 's')?.value;
      seen.push(`dkim=${entry.result} s=${s ?? '?'}`);
      if (entry.result === 'pass' && s === selector) return undefined;
    }
  }
  return `${authservId} has no dkim=pass for s=${selector} (${seen.join(', ') || 'no dkim results'})`;
}
