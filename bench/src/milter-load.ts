/**
 * Closed-loop load on a milter chain: `concurrency` MTA-side sessions (each one SMTP connection's
 * worth of milter connections) send messages back to back for a fixed time.
 * - msg/s: messages the chain accepted ÷ the round's wall time (session set-up included);
 * - latency: per message, from the MACRO/MAIL packet of the first milter to the final reply of the
 *   last one at end of message (what Postfix waits for before it answers the client's final dot).
 * Any outcome other than accept is a failure: the round reports it and the bench exits 1.
 */
import { ChainSession, type MessageSpec, type Outcome, type SessionSpec } from './milter-chain.js';

export interface LoadOptions {
  readonly session: SessionSpec;
  readonly message: MessageSpec;
  readonly concurrency: number;
  readonly durationMs: number;
  /** Messages per session before it reconnects (Postfix: one milter session per SMTP session). */
  readonly messagesPerSession: number;
}

export interface LoadResult {
  readonly accepted: number;
  readonly elapsedMs: number;
  /** Per-message latencies in milliseconds. */
  readonly latencies: number[];
  /** The first non-accept outcome or error, when any. */
  readonly failure?: string;
}

function describe(outcome: Outcome): string {
  return outcome.action === 'accept'
    ? 'accept'
    : `${outcome.action} by ${outcome.by}${outcome.reply ? ` (${outcome.reply})` : ''}`;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let accepted = 0;
  let failure: string | undefined;
  const start = performance.now();
  const deadline = start + options.durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && failure === undefined) {
      const session = await ChainSession.open(options.session);
      try {
        for (let sent = 0; sent < options.messagesPerSession && performance.now() < deadline; sent++) {
          const began = performance.now();
          const outcome = await session.message(options.message);
          const took = performance.now() - began;
          if (outcome.action !== 'accept') {
            failure ??= describe(outcome);
            return;
          }
          latencies.push(took);
          accepted++;
        }
      } finally {
        await session.close();
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: options.concurrency }, worker));
  for (const result of results) {
    if (result.status === 'rejected')
      failure ??= result.reason instanceof Error ? result.reason.message : String(result.reason);
  }
  return { accepted, elapsedMs: performance.now() - start, latencies, ...(failure ? { failure } : {}) };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}
