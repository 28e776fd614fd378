/**
 * The runtime side of the verdict journal for the milter: builds each inbound message's journal
 * row (inbound/verdict-record.ts) and appends it, bounded in time, before the EOM reply. A store
 * that fails or hangs costs the message nothing but its row: the failure is logged and counted,
 * and the message still gets its verdict (docs/verdicts.md).
 */
import type { Authentication, Clock } from '@mailward/core';
import type { VerdictJournal } from '@mailward/reports';
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
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /** Called once per verdict not recorded (the metrics). */
  readonly failed: () => void;
  readonly timeoutMs?: number;
}): VerdictRecorder {
  const timeoutMs = options.timeoutMs ?? DEFAULT_JOURNAL_TIMEOUT_MS;
  return async (auth, verdict, envelope) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.journal.appendVerdicts([
          verdictRecord(auth, verdict, envelope, { receiver: 'milter', clock: options.clock }),
        ]),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the store did not confirm within ${timeoutMs / 1000} s`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      options.failed();
      options.log(
        `milter: ${envelope.queueId ?? '-'}: verdict not recorded: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      clearTimeout(timer);
    }
  };
}
