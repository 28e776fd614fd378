// Option negotiation (SMFIC_OPTNEG). The MTA offers a version, the actions it allows and the
// protocol flags it understands; the milter answers with a subset. Postfix refuses a reply whose
// version is above its own or whose actions it did not offer (milter8.c milter8_connect), and
// Postfix's offer at milter_protocol = 6 is version 6, actions 0x1FF, protocol 0x1FFFFF.
import { Action, ALL_PROTOCOL_FLAGS, flagNames, MDS_FLAGS, MILTER_PROTOCOL_VERSION, Protocol } from './constants.js';
import type { MilterCommand } from './commands.js';
import type { MilterReply, SymbolList } from './replies.js';

export interface MilterOffer {
  version: number;
  actions: number;
  protocol: number;
}

/** What Postfix 2.6+ sends with milter_protocol = 6 (milter8.c: my_actions, MILTER8_V6_PROTO_MASK). */
export const POSTFIX_V6_OFFER: MilterOffer = { version: 6, actions: 0x1ff, protocol: 0x1fffff };

export interface MilterWants {
  /** SMFIF_* the milter cannot work without (e.g. ADDHDRS to add Authentication-Results). */
  requiredActions: number;
  /** SMFIF_* used when offered (e.g. QUARANTINE). */
  optionalActions?: number;
  /** SMFIP_* bits requested when offered: NO* steps not needed, NR_* replies not sent, SKIP, HDR_LEADSPC. */
  protocol: number;
  /** SMFIP_* bits the milter cannot work without (e.g. HDR_LEADSPC for byte-exact headers). */
  requiredProtocol?: number;
  /** Macros to ask for per stage; sent only when the MTA offers SMFIF_SETSYMLIST. */
  symbolLists?: SymbolList[];
}

export interface Agreement {
  version: number;
  actions: number;
  protocol: number;
  symbolLists: SymbolList[];
}

export type NegotiationRefusal =
  | { kind: 'version'; offered: number; message: string }
  | { kind: 'actions'; missing: string[]; message: string }
  | { kind: 'protocol'; missing: string[]; message: string };

export type NegotiationResult = { ok: true; agreement: Agreement } | { ok: false; refusal: NegotiationRefusal };

/**
 * Computes what to agree on. Version 6 is required: below it there are no no-reply flags,
 * no SKIP and no HDR_LEADSPC, so a message costs dozens of round trips and header bytes are not
 * exact (rspamd refuses below 6 as well). Only offered bits are requested; a required bit that
 * is not offered is a typed refusal naming it.
 */
export function negotiate(offer: MilterOffer, wants: MilterWants): NegotiationResult {
  if (offer.version < MILTER_PROTOCOL_VERSION) {
    return {
      ok: false,
      refusal: {
        kind: 'version',
        offered: offer.version,
        message: `the MTA offers milter protocol ${offer.version}; mailward needs 6 (Postfix: milter_protocol = 6)`,
      },
    };
  }
  const missingActions = wants.requiredActions & ~offer.actions;
  if (missingActions !== 0) {
    const missing = flagNames(missingActions, Action, 'SMFIF_');
    return {
      ok: false,
      refusal: { kind: 'actions', missing, message: `the MTA does not allow ${missing.join(', ')}` },
    };
  }
  const offeredProtocol = offer.protocol & ~MDS_FLAGS & ALL_PROTOCOL_FLAGS;
  const missingProtocol = (wants.requiredProtocol ?? 0) & ~offeredProtocol;
  if (missingProtocol !== 0) {
    const missing = flagNames(missingProtocol, Protocol, 'SMFIP_');
    return {
      ok: false,
      refusal: { kind: 'protocol', missing, message: `the MTA does not offer ${missing.join(', ')}` },
    };
  }
  const symbolLists = wants.symbolLists ?? [];
  let actions = wants.requiredActions | ((wants.optionalActions ?? 0) & offer.actions);
  const useSymbolLists = symbolLists.length > 0 && (offer.actions & Action.SETSYMLIST) !== 0;
  if (useSymbolLists) actions |= Action.SETSYMLIST;
  else actions &= ~Action.SETSYMLIST;
  const protocol = (wants.protocol | (wants.requiredProtocol ?? 0)) & offeredProtocol;
  return {
    ok: true,
    agreement: { version: MILTER_PROTOCOL_VERSION, actions, protocol, symbolLists: useSymbolLists ? symbolLists : [] },
  };
}

export function optnegReply(agreement: Agreement): MilterReply {
  return {
    type: 'optneg',
    version: agreement.version,
    actions: agreement.actions,
    protocol: agreement.protocol,
    ...(agreement.symbolLists.length > 0 ? { symbolLists: agreement.symbolLists } : {}),
  };
}

/** Every no-reply flag: with them all, a message costs one reply (at end of message). */
export const ALL_NO_REPLY =
  Protocol.NR_CONN |
  Protocol.NR_HELO |
  Protocol.NR_MAIL |
  Protocol.NR_RCPT |
  Protocol.NR_DATA |
  Protocol.NR_UNKN |
  Protocol.NR_HDR |
  Protocol.NR_EOH |
  Protocol.NR_BODY;

/** The no-reply flag (SMFIP_NR_*) of each command that has one (libmilter mfdef.h). */
const NO_REPLY_FLAG: Partial<Record<MilterCommand['type'], number>> = {
  connect: Protocol.NR_CONN,
  helo: Protocol.NR_HELO,
  mail: Protocol.NR_MAIL,
  rcpt: Protocol.NR_RCPT,
  data: Protocol.NR_DATA,
  header: Protocol.NR_HDR,
  eoh: Protocol.NR_EOH,
  body: Protocol.NR_BODY,
  unknown: Protocol.NR_UNKN,
};

/**
 * Whether the MTA waits for a reply to this command under the agreed protocol flags: OPTNEG and
 * end of message always; macros, abort and quit never; the others unless their SMFIP_NR_* flag was
 * agreed. The session and the MTA-side client must agree on this, so both ask here.
 */
export function commandAwaitsReply(type: MilterCommand['type'], agreedProtocol: number): boolean {
  if (type === 'optneg' || type === 'eom') return true;
  const flag = NO_REPLY_FLAG[type];
  return flag !== undefined && (agreedProtocol & flag) === 0;
}
