import type { Clock } from '../clock.js';
import type { LookupKind, LookupOptions, LookupResult, RecordType, Resolver } from './types.js';
import { describeOutcome } from './types.js';

export interface QueryLogEntry {
  readonly name: string;
  readonly type: RecordType;
  readonly outcome: LookupKind;
  /** Human summary of the outcome (record count and TTL, or the failure reason). */
  readonly detail: string;
  /** The answer's records in text form, for traces (at most a few, long values cut). */
  readonly records: readonly string[];
  readonly durationMs: number;
  /** Asked with the CD bit (no validation), e.g. by the DNSSEC audit after a SERVFAIL. */
  readonly checkingDisabled?: true;
}

/** Records every lookup that passes through it, with its outcome and duration, in order. */
export class QueryLogResolver implements Resolver {
  readonly entries: QueryLogEntry[] = [];

  constructor(
    private readonly inner: Resolver,
    private readonly clock: Clock,
  ) {}

  async lookup<T extends RecordType>(name: string, type: T, options?: LookupOptions): Promise<LookupResult<T>> {
    const started = this.clock.now();
    const result = await this.inner.lookup(name, type, options);
    this.entries.push({
      name,
      type,
      outcome: result.kind,
      detail: describeOutcome(result),
      records: result.kind === 'answer' ? result.records.slice(0, 10).map(recordText) : [],
      durationMs: this.clock.now() - started,
      ...(options?.checkingDisabled === true && { checkingDisabled: true as const }),
    });
    return result;
  }
}

const MAX_RECORD_TEXT = 300;

export function recordText(record: unknown): string {
  let text: string;
  if (typeof record === 'string') text = record;
  else if (typeof record === 'object' && record !== null && 'text' in record) text = String(record.text);
  else if (typeof record === 'object' && record !== null && 'exchange' in record && 'preference' in record) {
    text = `${String(record.preference)} ${String(record.exchange)}`;
  } else
    text = JSON.stringify(record, (_key, value: unknown) =>
      value instanceof Uint8Array ? `<${value.length} bytes>` : value,
    );
  return text.length > MAX_RECORD_TEXT ? `${text.slice(0, MAX_RECORD_TEXT)}... (${text.length} chars)` : text;
}
