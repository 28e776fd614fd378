import type { Resolver } from '../dns/types.js';
import type { IpAddress } from './ip.js';
import type { MacroContext } from './macro.js';
import type { SpfLimits } from './types.js';
import { ipForMacro, ipText } from './ip.js';

/** State shared by one check_host() evaluation and every include/redirect it recurses into. */
export interface EvaluationState {
  readonly resolver: Resolver;
  readonly limits: SpfLimits;
  readonly ip: IpAddress;
  readonly ipForMacro: string;
  /** The client IP in its usual text form (`%{c}`, reasons). */
  readonly ipText: string;
  readonly sender: string;
  readonly localPart: string;
  readonly senderDomain: string;
  readonly helo: string;
  readonly receiver: string;
  readonly timestamp: number;
  /** DNS-querying terms evaluated so far (§4.6.4). */
  terms: number;
  voidLookups: number;
  /** `%{p}` is looked up at most once per check. */
  validatedName?: Promise<string>;
}

export function newState(
  fields: Omit<EvaluationState, 'terms' | 'voidLookups' | 'validatedName' | 'ipForMacro' | 'ipText'>,
): EvaluationState {
  return { ...fields, ipForMacro: ipForMacro(fields.ip), ipText: ipText(fields.ip), terms: 0, voidLookups: 0 };
}

export function macroContext(
  state: EvaluationState,
  domain: string,
  validatedName: () => Promise<string>,
): MacroContext {
  return {
    sender: state.sender,
    localPart: state.localPart,
    senderDomain: state.senderDomain,
    domain,
    ipForMacro: state.ipForMacro,
    ipText: state.ipText,
    ipVersion: state.ip.version === 4 ? 4 : 6,
    helo: state.helo,
    receiver: state.receiver,
    timestamp: state.timestamp,
    validatedName,
  };
}
