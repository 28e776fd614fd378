/**
 * What one generation of the milter's settings becomes once the runtime has loaded keys, built the
 * resolver and parsed the local policy: everything a session's handler needs, and nothing it has
 * to read from disk or the network itself. A reload builds a new one; sessions keep the one they
 * started with.
 */
import type { Authentication, Clock, LocalPolicy, Resolver } from '@mailward/core';
import type { InboundPolicy, InboundVerdict } from '../inbound/decide.js';
import type { VerdictEnvelope } from '../inbound/verdict-record.js';
import type { LoadedSigningKey, LoadedSigningRule } from './signing.js';

export interface MilterPipeline {
  /** This receiver's authserv-id (RFC 8601 §2.5). */
  readonly authservId: string;
  /** Whether a client address is an internal host (its mail is outbound). */
  readonly isInternal: (address: string) => boolean;
  /** MTA service names (`{daemon_name}`) whose mail is outbound. */
  readonly outboundDaemons: ReadonlySet<string>;
  readonly signingRules: readonly LoadedSigningRule[];
  readonly inbound: InboundPolicy;
  readonly localPolicy?: LocalPolicy;
  /** Seal an ARC set (RFC 8617 §5.1) on inbound mail that is delivered, with this key. */
  readonly arcSeal?: LoadedSigningKey;
  /** What a message gets when handling it failed (a bug, a key the signer refuses): see MessageReport.error. */
  readonly onError: 'tempfail' | 'accept';
  readonly resolver: Resolver;
  /** Wall clock: DKIM t=, x= and signature expiry. */
  readonly clock: Clock;
  /** A monotonic millisecond clock, for durations. */
  readonly monotonicMs: () => number;
  /** Called once per message that reached its end (or failed), for the log line and the metrics. */
  readonly report: (report: MessageReport) => void;
  /**
   * With `--store`: records an inbound verdict in the journal; awaited before the EOM reply, so a
   * verdict is committed before the MTA acts on it. Never rejects (the runtime logs and counts a
   * failed append; the message still gets its verdict).
   */
  readonly recordVerdict?: (auth: Authentication, verdict: InboundVerdict, envelope: VerdictEnvelope) => Promise<void>;
}

export type MessageAction = 'accept' | 'reject' | 'tempfail' | 'quarantine-hold' | 'quarantine-header';

export interface MessageReport {
  /** The MTA's queue ID (macro `i`), when it sent one. */
  readonly queueId?: string;
  readonly direction: 'outbound' | 'inbound';
  /** Why that direction: "internal host 10.0.0.5", "SASL login alice", "client 192.0.2.1". */
  readonly directionReason: string;
  /** Outbound: "signed d=… s=…, …" or "not signed: …". Inbound: "dmarc=… spf=… dkim=…". */
  readonly verdict: string;
  readonly action: MessageAction;
  /** One line: why this action. */
  readonly reason: string;
  /** Inbound: the DMARC result (pass, fail, none, temperror, permerror). */
  readonly dmarc?: string;
  /** Inbound, dry run: what enforcement would have done. */
  readonly wouldHave?: string;
  /** Outbound: the signatures added, as "d=domain s=selector". */
  readonly signatures?: readonly string[];
  /** Inbound with arcSeal: "i=N" when an ARC set was added, else why not. */
  readonly arc?: string;
  /** Forged Authentication-Results (our authserv-id) deleted. */
  readonly removedAuthenticationResults: number;
  readonly bodyBytes: number;
  /** Milliseconds: MAIL to the reply at EOM, and the end-of-message work alone. */
  readonly totalMs: number;
  readonly finishMs: number;
  /** A handler failure (then action is the onError one). */
  readonly error?: string;
}
