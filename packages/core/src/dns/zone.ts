import type { DnsFailure, RecordData, RecordType } from './types.js';
import { domainNameProblem } from './name.js';
import { normalizeName } from './types.js';

/**
 * A declarative zone: what the in-memory resolver serves. Built from a plain object (parsed from
 * YAML or JSON by the caller) so tests and the CLI's `--dns-fixture` share one format; see
 * docs/dns-fixture.md. The format follows the OpenSPF test suite's `zonedata` so that suite loads
 * with no translation beyond its SPF-to-TXT copying rule.
 */
export interface ZoneRecord<T extends RecordType = RecordType> {
  readonly type: T;
  readonly data: RecordData[T];
  readonly ttl: number;
}

export type FailureKind = DnsFailure['kind'];

export interface ZoneNode {
  readonly records: readonly ZoneRecord[];
  /**
   * A failure every query at this name gets, except for the record types listed in
   * `exceptTypes` (those that had records listed before the failure marker).
   */
  readonly failure?: { readonly kind: FailureKind; readonly exceptTypes: ReadonlySet<RecordType> };
}

export type Zone = ReadonlyMap<string, ZoneNode>;

export const DEFAULT_TTL = 3600;

export type ZoneParseResult = { ok: true; zone: Zone } | { ok: false; errors: string[] };

const FAILURE_MARKERS: Record<string, FailureKind> = {
  TIMEOUT: 'timeout',
  SERVFAIL: 'servfail',
  REFUSED: 'refused',
};

const TEXT_TYPES = ['A', 'AAAA', 'PTR', 'CNAME', 'NS'] as const;

/** Builds a zone from `{ name: [ { TYPE: value, ttl?: n } | 'TIMEOUT' | 'SERVFAIL' | 'REFUSED' ] }`. */
export function parseZone(input: unknown): ZoneParseResult {
  const errors: string[] = [];
  const zone = new Map<string, ZoneNode>();
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: ['zone must be a mapping of domain names to lists of records'] };
  }
  for (const [rawName, rawEntries] of Object.entries(input as Record<string, unknown>)) {
    const name = normalizeName(rawName);
    const problem = domainNameProblem(name);
    if (problem) {
      errors.push(`${rawName}: ${problem}`);
      continue;
    }
    const entries: unknown[] = Array.isArray(rawEntries) ? rawEntries : [rawEntries];
    const records: ZoneRecord[] = [...(zone.get(name)?.records ?? [])];
    let failure = zone.get(name)?.failure;
    for (const [index, entry] of entries.entries()) {
      const where = `${rawName}[${index}]`;
      if (typeof entry === 'string' && entry.toUpperCase() in FAILURE_MARKERS) {
        const kind = FAILURE_MARKERS[entry.toUpperCase()] as FailureKind;
        failure ??= { kind, exceptTypes: new Set(records.map((record) => record.type)) };
        continue;
      }
      const parsed = parseEntry(entry, where);
      if (typeof parsed === 'string') errors.push(parsed);
      else if (parsed) records.push(parsed);
    }
    zone.set(name, failure ? { records, failure } : { records });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, zone };
}

function parseEntry(entry: unknown, where: string): ZoneRecord | string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return `${where}: expected a mapping like { TXT: "v=spf1 -all" } or TIMEOUT, SERVFAIL, REFUSED`;
  }
  const fields = Object.entries(entry as Record<string, unknown>);
  const ttlField = fields.find(([key]) => key === 'ttl');
  const typed = fields.filter(([key]) => key !== 'ttl');
  if (typed.length !== 1) return `${where}: expected exactly one record type key, got ${typed.length}`;
  const [rawType, value] = typed[0] as [string, unknown];
  const type = rawType.toUpperCase();
  let ttl = DEFAULT_TTL;
  if (ttlField) {
    const t = ttlField[1];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) return `${where}: ttl must be a non-negative integer`;
    ttl = t;
  }
  if ((TEXT_TYPES as readonly string[]).includes(type)) {
    if (typeof value !== 'string') return `${where}: ${type} value must be a string`;
    const data = type === 'A' || type === 'AAAA' ? value : normalizeName(value);
    return { type: type as RecordType, data, ttl };
  }
  switch (type) {
    case 'TXT': {
      // NONE is the OpenSPF suite's way to say "explicitly no TXT record here".
      if (value === 'NONE') return undefined;
      const strings = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(strings) || !strings.every((s) => typeof s === 'string')) {
        return `${where}: TXT value must be a string or a list of strings`;
      }
      return { type: 'TXT', data: { text: strings.join(''), strings }, ttl };
    }
    case 'MX': {
      if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'number' || typeof value[1] !== 'string') {
        return `${where}: MX value must be [preference, exchange]`;
      }
      return { type: 'MX', data: { preference: value[0], exchange: normalizeName(value[1]) }, ttl };
    }
    default:
      return `${where}: unsupported record type ${rawType} (supported: A, AAAA, MX, TXT, PTR, CNAME, NS)`;
  }
}
