/**
 * What to do with one policy request before any DNS: skip it (DUNNO, with the reason for the
 * log) or check SPF for these inputs. Also validates the settings once, at start.
 */
import { parseClientIp } from '@mailward/core';
import type { PolicyAction, PolicySettings } from '../settings.js';
import type { Network } from './networks.js';
import { findNetwork, parseNetworks } from './networks.js';
import type { PolicyQuery } from './query.js';

export interface CompiledPolicySettings {
  readonly settings: PolicySettings;
  readonly skipNetworks: readonly Network[];
}

const ACTIONS: readonly PolicyAction[] = ['reject', 'defer', 'prepend', 'dunno'];

export function compilePolicySettings(
  settings: PolicySettings,
): { ok: true; compiled: CompiledPolicySettings } | { ok: false; error: string } {
  const networks = parseNetworks(settings.skipHosts);
  if (!networks.ok) return { ok: false, error: `skip hosts: ${networks.error}` };
  for (const [result, action] of Object.entries(settings.actions)) {
    if (!ACTIONS.includes(action)) {
      return { ok: false, error: `action for ${result} is "${String(action)}": use ${ACTIONS.join(', ')}` };
    }
  }
  const { ttlSeconds, maxEntries } = settings.cache;
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0)
    return { ok: false, error: 'cache TTL must be 0 or more seconds' };
  if (!Number.isInteger(maxEntries) || maxEntries < 0) return { ok: false, error: 'cache entries must be 0 or more' };
  if (settings.receiver.trim() === '' || /[\s;()]/.test(settings.receiver)) {
    return { ok: false, error: `receiver "${settings.receiver}" must be one host name` };
  }
  return { ok: true, compiled: { settings, skipNetworks: networks.networks } };
}

export type PolicyPlan =
  | { readonly kind: 'skip'; readonly reason: string }
  | {
      readonly kind: 'check';
      readonly ip: string;
      /** The MAIL FROM address; empty: the null sender, checked as postmaster@HELO (RFC 7208 §2.4). */
      readonly mailFrom: string;
      readonly helo: string;
      /** Check the HELO identity on its own too (RFC 7208 §2.3); never for the null sender, whose MAIL FROM check is that very check. */
      readonly checkHelo: boolean;
    };

/**
 * SPF applies at MAIL and RCPT (the MAIL FROM identity exists from MAIL on; Postfix's default
 * smtpd_delay_reject=yes evaluates sender restrictions at RCPT anyway). Other states (CONNECT,
 * DATA, END-OF-MESSAGE, VRFY, ETRN) get DUNNO. An absent protocol_state is a client that does not
 * send one (Exim's readsocket snippet asks at RCPT).
 */
const CHECKED_STATES = new Set(['', 'MAIL', 'RCPT']);

export function planPolicyCheck(query: PolicyQuery, compiled: CompiledPolicySettings): PolicyPlan {
  const { settings } = compiled;
  if (query.request !== '' && query.request !== 'smtpd_access_policy') {
    return { kind: 'skip', reason: `request=${query.request} is not smtpd_access_policy` };
  }
  if (!CHECKED_STATES.has(query.protocolState)) {
    return { kind: 'skip', reason: `protocol_state ${query.protocolState}: SPF is checked at MAIL or RCPT` };
  }
  const ip = parseClientIp(query.clientAddress);
  if (!ip) return { kind: 'skip', reason: `client_address "${query.clientAddress}" is not an IP address` };
  const network = findNetwork(ip, compiled.skipNetworks);
  if (network) return { kind: 'skip', reason: `client in skipped network ${network.text}` };
  if (settings.skipAuthenticated && query.saslUsername !== '') {
    return { kind: 'skip', reason: `client authenticated as ${query.saslUsername}` };
  }
  const mailFrom = query.sender;
  return {
    kind: 'check',
    ip: query.clientAddress,
    mailFrom,
    helo: query.heloName,
    checkHelo: settings.helo && mailFrom !== '' && query.heloName !== '',
  };
}
