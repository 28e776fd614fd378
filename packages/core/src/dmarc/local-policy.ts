/**
 * Local policy: the receiver's own decision about a DMARC failure, kept apart from the disposition
 * the domain owner asked for. RFC 9989 lets a receiver deviate from the published policy when it
 * has better knowledge (a forwarder it trusts, a mailing list it knows, an ARC sealer whose
 * results it believes, or a site rule such as quarantining instead of rejecting) and asks that the
 * deviation be reported with an override reason (RFC 9990 PolicyOverrideReason). This module
 * validates such a configuration and applies it to one evaluation; it does no I/O.
 */
import type { IpAddress } from '../spf/ip.js';
import { inNetwork, parseClientIp, parseIp4Network, parseIp6Network } from '../spf/ip.js';
import { organizationalDomain } from '../domain/organizational.js';
import { parseAuthenticationResults } from '../authres/authentication-results.js';
import { domainNameProblem } from '../dns/name.js';
import type { DmarcEvaluation } from './evaluate.js';
import type { PolicyOverride } from './overrides.js';
import type { DmarcRequest } from './record.js';

export interface TrustedNetwork {
  /** As configured, e.g. "192.0.2.0/24". */
  readonly text: string;
  readonly network: IpAddress;
  readonly prefix: number;
}

export interface MailingListRule {
  /** The List-Id (RFC 2919), e.g. "dev.lists.example.org". */
  readonly listId: string;
  /** The list's mail must authenticate (SPF pass or DKIM pass) at or under this domain. */
  readonly domain: string;
}

export interface LocalPolicy {
  /** ARC sealers (ARC-Seal d=) whose recorded authentication results this receiver believes. */
  readonly trustedArcSealers: readonly string[];
  /** Forwarders recognised by client address, or by a domain that authenticated the message. */
  readonly trustedForwarders: {
    readonly networks: readonly TrustedNetwork[];
    readonly domains: readonly string[];
  };
  readonly mailingLists: readonly MailingListRule[];
  /** The action taken for each requested disposition when no override applies. */
  readonly actions: { readonly reject: DmarcRequest; readonly quarantine: DmarcRequest };
}

export const EMPTY_LOCAL_POLICY: LocalPolicy = {
  trustedArcSealers: [],
  trustedForwarders: { networks: [], domains: [] },
  mailingLists: [],
  actions: { reject: 'reject', quarantine: 'quarantine' },
};

export type LocalPolicyParse =
  { readonly ok: true; readonly policy: LocalPolicy } | { readonly ok: false; readonly reason: string };

class ConfigProblem extends Error {}

/**
 * Validates a local-policy document (already decoded from YAML or JSON):
 *
 *     trustedArcSealers: [google.com]
 *     trustedForwarders: { ips: [192.0.2.0/24], domains: [forwarder.example] }
 *     mailingLists: [dev.lists.example.org, { listId: x.example.net, domain: lists.example.net }]
 *     actions: { reject: quarantine }
 *
 * Unknown keys are errors, so a misspelt key never silently disables a rule. Every error names
 * the path of the offending value.
 */
export function parseLocalPolicy(document: unknown): LocalPolicyParse {
  try {
    return { ok: true, policy: readPolicy(document) };
  } catch (error) {
    if (error instanceof ConfigProblem) return { ok: false, reason: error.message };
    throw error;
  }
}

function readPolicy(document: unknown): LocalPolicy {
  if (document === null || document === undefined) return EMPTY_LOCAL_POLICY;
  const top = mapping(document, 'local policy');
  onlyKeys(top, ['trustedArcSealers', 'trustedForwarders', 'mailingLists', 'actions'], '');
  const forwarders =
    top['trustedForwarders'] === undefined ? {} : mapping(top['trustedForwarders'], 'trustedForwarders');
  onlyKeys(forwarders, ['ips', 'domains'], 'trustedForwarders.');
  const actions = top['actions'] === undefined ? {} : mapping(top['actions'], 'actions');
  onlyKeys(actions, ['reject', 'quarantine'], 'actions.');
  return {
    trustedArcSealers: list(top['trustedArcSealers'], 'trustedArcSealers').map((v, i) =>
      domain(v, `trustedArcSealers[${i}]`),
    ),
    trustedForwarders: {
      networks: list(forwarders['ips'], 'trustedForwarders.ips').map((v, i) =>
        network(v, `trustedForwarders.ips[${i}]`),
      ),
      domains: list(forwarders['domains'], 'trustedForwarders.domains').map((v, i) =>
        domain(v, `trustedForwarders.domains[${i}]`),
      ),
    },
    mailingLists: list(top['mailingLists'], 'mailingLists').map((v, i) => mailingList(v, `mailingLists[${i}]`)),
    actions: {
      reject: action(actions['reject'], 'actions.reject', ['reject', 'quarantine', 'none'], 'reject'),
      quarantine: action(actions['quarantine'], 'actions.quarantine', ['quarantine', 'none'], 'quarantine'),
    },
  };
}

function mapping(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigProblem(`${where}: expected a mapping of keys to values`);
  }
  return value as Record<string, unknown>;
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ConfigProblem(`${prefix}${key}: unknown key (expected one of ${allowed.join(', ')})`);
    }
  }
}

function list(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigProblem(`${where}: expected a list`);
  return value;
}

function domain(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new ConfigProblem(`${where}: expected a domain name`);
  const name = value.trim().toLowerCase().replace(/\.$/, '');
  const problem =
    domainNameProblem(name) ??
    (/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name)
      ? undefined
      : 'use letters, digits, hyphens and dots (the xn-- form for international names)');
  if (problem !== undefined) throw new ConfigProblem(`${where}: "${value}" is not a domain name: ${problem}`);
  return name;
}

function network(value: unknown, where: string): TrustedNetwork {
  if (typeof value !== 'string')
    throw new ConfigProblem(`${where}: expected an address or a network like 192.0.2.0/24`);
  const text = value.trim();
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const isV6 = addressText.includes(':');
  const address = isV6 ? parseIp6Network(addressText) : parseIp4Network(addressText);
  const max = isV6 ? 128 : 32;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  const prefix = /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (address === undefined) throw new ConfigProblem(`${where}: "${value}" is not an IPv4 or IPv6 address`);
  if (!(prefix >= 0 && prefix <= max)) throw new ConfigProblem(`${where}: "${value}" has a prefix outside 0..${max}`);
  return { text, network: address, prefix };
}

function mailingList(value: unknown, where: string): MailingListRule {
  if (typeof value === 'string') {
    const listId = domain(value, where);
    const org = organizationalDomain(listId);
    if (org === undefined) throw new ConfigProblem(`${where}: "${value}" is a public suffix, not a list id`);
    // RFC 2919 list ids sit under a domain their owner controls; its organizational domain is
    // what the list's mail authenticates as unless the entry names another.
    return { listId, domain: org };
  }
  const entry = mapping(value, where);
  onlyKeys(entry, ['listId', 'domain'], `${where}.`);
  const listId = domain(entry['listId'], `${where}.listId`);
  const authenticated =
    entry['domain'] === undefined ? organizationalDomain(listId) : domain(entry['domain'], `${where}.domain`);
  if (authenticated === undefined) throw new ConfigProblem(`${where}.listId: "${listId}" is a public suffix`);
  return { listId, domain: authenticated };
}

function action(value: unknown, where: string, allowed: readonly DmarcRequest[], fallback: DmarcRequest): DmarcRequest {
  if (value === undefined || value === null) return fallback;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  const found = allowed.find((a) => a === text);
  if (found === undefined) {
    // Never stricter than the domain owner asked: a receiver may soften a policy, not harden it.
    throw new ConfigProblem(`${where}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return found;
}

/** What the message showed, as far as local policy cares. */
export interface LocalPolicyEvidence {
  /** The SMTP client address. */
  readonly ip: string;
  /** SPF results with the domain checked (MAIL FROM and HELO). */
  readonly spf: readonly { readonly result: string; readonly domain: string }[];
  readonly dkim: readonly { readonly result: string; readonly domain: string }[];
  /** The ARC chain as verified (kept structural so that ARC stays removable). */
  readonly arc?: {
    readonly result: string;
    readonly sets: readonly {
      readonly instance: number;
      readonly sealer: { readonly domain: string; readonly selector: string };
      readonly authenticationResults: string;
    }[];
  };
  /** List-Id values (RFC 2919), lower case. */
  readonly listIds: readonly string[];
}

/**
 * Applies local policy to a failed evaluation. Overrides are tried in a fixed order (trusted
 * forwarder, mailing list, trusted ARC sealer); the first that holds makes the action `none` and is
 * reported. Otherwise the configured action for the disposition applies (reported as local_policy
 * when it softens it). A pass, none, temperror or permerror is returned unchanged.
 */
export function applyLocalPolicy(
  evaluation: DmarcEvaluation,
  evidence: LocalPolicyEvidence,
  policy: LocalPolicy,
): DmarcEvaluation {
  if (evaluation.result !== 'fail' || evaluation.disposition === 'none') return evaluation;
  const override =
    trustedForwarder(evidence, policy) ??
    mailingListMatch(evidence, policy) ??
    trustedArc(evaluation, evidence, policy);
  if (override !== undefined) {
    return {
      ...evaluation,
      action: 'none',
      overrides: [...evaluation.overrides, override],
      reasons: [...evaluation.reasons, `local policy: ${override.type}: ${override.comment}; delivered normally`],
    };
  }
  const configured = policy.actions[evaluation.disposition];
  if (configured === evaluation.disposition) return evaluation;
  const comment = `site policy applies ${configured} instead of ${evaluation.disposition}`;
  return {
    ...evaluation,
    action: configured,
    overrides: [...evaluation.overrides, { type: 'local_policy', comment }],
    reasons: [...evaluation.reasons, `local policy: ${comment}`],
  };
}

function atOrUnder(name: string, domain: string): boolean {
  const n = name.toLowerCase();
  return n === domain || n.endsWith(`.${domain}`);
}

/** Domains the message authenticated as: SPF pass (MAIL FROM, HELO) and DKIM pass d=. */
function authenticatedDomains(evidence: LocalPolicyEvidence): string[] {
  return [
    ...evidence.spf.filter((s) => s.result === 'pass').map((s) => s.domain.toLowerCase()),
    ...evidence.dkim.filter((d) => d.result === 'pass').map((d) => d.domain.toLowerCase()),
  ];
}

function trustedForwarder(evidence: LocalPolicyEvidence, policy: LocalPolicy): PolicyOverride | undefined {
  const { networks, domains } = policy.trustedForwarders;
  const ip = networks.length > 0 ? parseClientIp(evidence.ip) : undefined;
  if (ip !== undefined) {
    const hit = networks.find((n) => inNetwork(ip, n.network, n.prefix));
    if (hit !== undefined) return { type: 'trusted_forwarder', comment: `client ${evidence.ip} is in ${hit.text}` };
  }
  for (const name of authenticatedDomains(evidence)) {
    const hit = domains.find((d) => atOrUnder(name, d));
    if (hit !== undefined) return { type: 'trusted_forwarder', comment: `authenticated as ${name} (forwarder ${hit})` };
  }
  return undefined;
}

function mailingListMatch(evidence: LocalPolicyEvidence, policy: LocalPolicy): PolicyOverride | undefined {
  if (policy.mailingLists.length === 0 || evidence.listIds.length === 0) return undefined;
  // A List-Id alone is forgeable, so the list's own domain must also have authenticated the message.
  const authenticated = authenticatedDomains(evidence);
  for (const rule of policy.mailingLists) {
    if (!evidence.listIds.includes(rule.listId)) continue;
    const by = authenticated.find((name) => atOrUnder(name, rule.domain));
    if (by !== undefined) return { type: 'mailing_list', comment: `list ${rule.listId}, authenticated as ${by}` };
  }
  return undefined;
}

/**
 * RFC 8617 §7.2: a receiver may use a validated chain to override a DMARC failure when it trusts
 * the sealers. Only the newest sets count, down from the one that handed us the message, while
 * each is sealed by a trusted domain: an untrusted hop after a trusted one could have changed the
 * message. The override holds when one of those sets' AAR records dmarc=pass for the same author
 * domain. The comment follows RFC 8617 §7.2.1's "arc=pass as[N].d=... as[N].s=..." form.
 */
function trustedArc(
  evaluation: DmarcEvaluation,
  evidence: LocalPolicyEvidence,
  policy: LocalPolicy,
): PolicyOverride | undefined {
  const arc = evidence.arc;
  if (policy.trustedArcSealers.length === 0 || arc === undefined || arc.result !== 'pass') return undefined;
  const newestFirst = [...arc.sets].sort((a, b) => b.instance - a.instance);
  for (const set of newestFirst) {
    if (!policy.trustedArcSealers.some((d) => atOrUnder(set.sealer.domain, d))) return undefined;
    if (recordsDmarcPass(set.authenticationResults, evaluation.authorDomain)) {
      const chain = newestFirst.map(
        (s) => `as[${s.instance}].d=${s.sealer.domain} as[${s.instance}].s=${s.sealer.selector}`,
      );
      return { type: 'local_policy', comment: `arc=pass ${chain.join(' ')}` };
    }
  }
  return undefined;
}

function recordsDmarcPass(aarPayload: string, authorDomain: string): boolean {
  const parsed = parseAuthenticationResults(aarPayload);
  if (!parsed.ok) return false;
  return parsed.value.results.some(
    (r) =>
      r.method === 'dmarc' &&
      r.result === 'pass' &&
      r.properties.some((p) => p.ptype === 'header' && p.property === 'from' && p.value.toLowerCase() === authorDomain),
  );
}
