/**
 * What mailward's milter asks of the MTA at OPTNEG.
 *
 * - Every no-reply flag (SMFIP_NR_*): the MTA sends CONNECT … BODY without waiting, so a message
 *   costs one round trip, the reply to end of message (as rspamd does). Decisions made before then
 *   (none today) would be sent at EOM by the session.
 * - No DATA, RCPT or UNKNOWN events: nothing in them changes a verdict or a signature.
 * - HDR_LEADSPC (required): header values arrive with the space after the colon, so the header
 *   bytes DKIM hashes are the bytes of the message (simple canonicalization depends on it).
 * - No SKIP: every message that is signed or verified needs its whole body hashed. The body is
 *   unneeded only for outbound mail that no signing rule covers, and then the chunks are passed
 *   over without hashing; asking the MTA to stop sending them would need a reply per BODY chunk
 *   (SMFIR_SKIP answers a BODY), which costs every other message a round trip per 64 KiB.
 * - Actions: ADDHDRS (DKIM-Signature, Authentication-Results, Received-SPF; INSHEADER is an
 *   ADDHDRS action), CHGHDRS (deleting forged Authentication-Results), QUARANTINE when offered.
 * - Macros (SETSYMLIST, so no milter_*_macros configuration is needed): `j` and `{daemon_name}` at
 *   CONNECT; `{auth_authen}` at MAIL (SASL login = outbound); the queue ID `i` at EOH and EOM, the
 *   stages Postfix has it (it picks the queue ID after the first accepted RCPT, so `i` at MAIL is
 *   empty: MILTER_README "Workarounds").
 */
import { milter } from '@mailward/core';

const { Action, Protocol, ALL_NO_REPLY } = milter;

export const MILTER_WANTS: milter.MilterWants = {
  requiredActions: Action.ADDHDRS | Action.CHGHDRS,
  optionalActions: Action.QUARANTINE,
  protocol: ALL_NO_REPLY | Protocol.NORCPT | Protocol.NODATA | Protocol.NOUNKNOWN | Protocol.HDR_LEADSPC,
  requiredProtocol: Protocol.HDR_LEADSPC,
  symbolLists: [
    { stage: 'connect', macros: ['j', '{daemon_name}'] },
    { stage: 'envfrom', macros: ['{auth_authen}', '{auth_type}'] },
    { stage: 'eoh', macros: ['i'] },
    { stage: 'eom', macros: ['i'] },
  ],
};
