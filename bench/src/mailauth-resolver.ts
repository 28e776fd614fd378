/**
 * A resolver with the calling convention of node's `dns.promises.resolve(name, rrtype)`, which is
 * what mailauth expects: arrays of records (TXT as string[][], MX as { exchange, priority }[],
 * A/AAAA/PTR/CNAME/NS as strings) and rejections carrying node's error codes (ENOTFOUND for
 * NXDOMAIN, ENODATA for no records of the type, ESERVFAIL, EREFUSED, ETIMEOUT).
 *
 * It answers from the same zone as mailward's MemoryResolver (so CNAMEs, NXDOMAIN and NODATA mean
 * the same thing on both sides), memoizing each answer after the first question so mailauth's
 * numbers measure its own evaluation, not the zone lookup. Every call still returns a fresh array
 * and every failure a fresh Error, as node does (mailauth sorts MX arrays in place and attaches
 * `spfResult` to errors).
 */
import type { LookupResult, MxRecord, RecordType, Resolver, TxtRecord } from '@mailward/core';

export type NodeStyleResolve = (name: string, rrtype: string) => Promise<unknown[]>;

const ERROR_CODES = {
  nxdomain: 'ENOTFOUND',
  nodata: 'ENODATA',
  servfail: 'ESERVFAIL',
  refused: 'EREFUSED',
  timeout: 'ETIMEOUT',
} as const;

const SUPPORTED: ReadonlySet<string> = new Set<RecordType>(['A', 'AAAA', 'MX', 'TXT', 'PTR', 'CNAME', 'NS']);

type Memo = { readonly ok: true; readonly records: readonly unknown[] } | { readonly ok: false; readonly code: string };

export function nodeStyleResolver(source: Resolver): NodeStyleResolve {
  const memo = new Map<string, Memo>();
  return async (name: string, rrtype: string): Promise<unknown[]> => {
    const type = rrtype.toUpperCase();
    const hostname = name.toLowerCase().replace(/\.$/, '');
    const key = `${type} ${hostname}`;
    let entry = memo.get(key);
    if (!entry) {
      if (!SUPPORTED.has(type)) throw new TypeError(`unsupported rrtype ${rrtype}`);
      entry = toMemo(type as RecordType, await source.lookup(hostname, type as RecordType));
      memo.set(key, entry);
    }
    if (entry.ok) return entry.records.slice();
    const syscall = `query${type.charAt(0)}${type.slice(1).toLowerCase()}`;
    throw Object.assign(new Error(`${syscall} ${entry.code} ${name}`), { code: entry.code, syscall, hostname: name });
  };
}

function toMemo(type: RecordType, result: LookupResult<RecordType>): Memo {
  if (result.kind !== 'answer') return { ok: false, code: ERROR_CODES[result.kind] };
  switch (type) {
    case 'TXT':
      return { ok: true, records: result.records.map((record) => [...(record as TxtRecord).strings]) };
    case 'MX':
      return {
        ok: true,
        records: result.records.map((record) => {
          const mx = record as MxRecord;
          return { exchange: mx.exchange, priority: mx.preference };
        }),
      };
    default:
      return { ok: true, records: result.records.map((record) => record as string) };
  }
}
