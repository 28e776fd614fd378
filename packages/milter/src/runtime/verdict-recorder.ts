/**
 * The runtime side of the verdict journal, for the milter and the Exim check: builds each checked
 * message's row (inbound/verdict-record.ts) and appends it, bounded in time, before the reply. A store
 * that fails or hangs costs the message nothing but its row: the failure is logged and counted,
 * and the message still gets its verdict (docs/verdicts.md).
 */
import type { Authentication, Clock } from '@mailward/core';
import type { VerdictJournal, VerdictReceiver } from '@mailward/reports';
import type { InboundVerdict } from '../inbound/decide.js';
import { verdictRecord, type VerdictEnvelope } from '../inbound/verdict-record.js';

export type VerdictRecorder = (
  auth: Authentication,
  verdict: InboundVerdict,
  envelope: VerdictEnvelope,
) => Promise<void>;

export const DEFAULT_JOURNAL_TIMEOUT_MS = 5_000;

export function verdictRecorder(options: {
  readonly journal: Pick<VerdictJournal, 'appendVerdicts'>;
  readonly receiver: VerdictReceiver;
  readonly clock: Clock;
  /** Called once per verdict not recorded, with why (the log line and the count). */
  readonly failed: (envelope: VerdictEnvelope, reason: string) => void;
  readonly timeoutMs?: number;
}): VerdictRecorder {
  const timeoutMs = options.timeoutMs ?? DEFAULT_JOURNAL_TIMEOUT_MS;
  return async (auth, verdict, envelope) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.journal.appendVerdicts([
          verdictRecord(auth, verdict, envelope, { receiver: options.receiver, clock: options.clock }),
        ]),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the store did not confirm within ${timeoutMs / 1000} s`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      options.failed(envelope, error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  };
}
