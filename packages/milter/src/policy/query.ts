/**
 * The attributes of a policy request that the SPF check uses (SMTPD_POLICY_README, "Protocol
 * description"); the others (queue_id, size, ccert_*, ...) are ignored, as the protocol asks.
 * A missing attribute is the empty string, as Postfix sends unknown values.
 */
import type { PolicyRequest } from './request-decoder.js';

export interface PolicyQuery {
  /** `smtpd_access_policy` from Postfix; Exim's snippet sends it too. */
  readonly request: string;
  /** CONNECT, EHLO, HELO, MAIL, RCPT, DATA, END-OF-MESSAGE, VRFY, ETRN; empty when not sent. */
  readonly protocolState: string;
  readonly clientAddress: string;
  readonly heloName: string;
  /** The MAIL FROM address without angle brackets; empty for the null sender. */
  readonly sender: string;
  readonly recipient: string;
  readonly saslUsername: string;
  /** The same value for every request about one message (Postfix smtpd's per-message instance). */
  readonly instance: string;
}

export function policyQuery(request: PolicyRequest): PolicyQuery {
  const get = (name: string): string => request.attributes.get(name) ?? '';
  return {
    request: get('request'),
    protocolState: get('protocol_state').toUpperCase(),
    clientAddress: get('client_address'),
    heloName: get('helo_name'),
    sender: get('sender').replace(/^<(.*)>$/, '$1'),
    recipient: get('recipient'),
    saslUsername: get('sasl_username'),
    instance: get('instance'),
  };
}
