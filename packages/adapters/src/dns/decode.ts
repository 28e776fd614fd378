import type { Answer as PacketRecord } from 'dns-packet';
import type { RecordData, RecordType } from '@mailward/core';
import { normalizeName } from '@mailward/core';

export type DecodedRecord<T extends RecordType> =
  { readonly ok: true; readonly data: RecordData[T] } | { readonly ok: false; readonly reason: string };

/**
 * Converts one dns-packet resource record into core's `RecordData` for `type`. dns-packet has
 * already parsed the wire format; this checks the shapes it produced (a hostile server controls
 * them) and applies core's conventions: lower-case names without the final dot, TXT strings as
 * Latin-1 so every byte survives, byte fields as plain Uint8Array copies.
 */
export function toRecordData<T extends RecordType>(type: T, record: PacketRecord): DecodedRecord<T> {
  const data = decodeData(type, 'data' in record ? (record.data as unknown) : undefined);
  return data === undefined
    ? { ok: false, reason: `cannot decode the ${type} record of ${record.name}` }
    : { ok: true, data: data as RecordData[T] };
}

function decodeData(type: RecordType, data: unknown): RecordData[RecordType] | undefined {
  switch (type) {
    case 'A':
    case 'AAAA':
      return typeof data === 'string' ? data : undefined;
    case 'PTR':
    case 'CNAME':
    case 'NS':
      return typeof data === 'string' ? normalizeName(data) : undefined;
    case 'TXT':
      return decodeTxt(data);
    case 'MX': {
      const mx = fields(data);
      if (typeof mx?.exchange !== 'string' || !isUint(mx.preference)) return undefined;
      return { preference: mx.preference, exchange: normalizeName(mx.exchange) };
    }
    case 'SOA': {
      const soa = fields(data);
      if (typeof soa?.mname !== 'string' || typeof soa.rname !== 'string') return undefined;
      const numbers = [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum];
      if (!numbers.every(isUint)) return undefined;
      const [serial, refresh, retry, expire, minimum] = numbers as number[];
      return {
        mname: normalizeName(soa.mname),
        rname: normalizeName(soa.rname),
        serial: serial ?? 0,
        refresh: refresh ?? 0,
        retry: retry ?? 0,
        expire: expire ?? 0,
        minimum: minimum ?? 0,
      };
    }
    case 'TLSA': {
      const tlsa = fields(data);
      if (!tlsa || !isUint(tlsa.usage) || !isUint(tlsa.selector) || !isUint(tlsa.matchingType)) return undefined;
      if (!(tlsa.certificate instanceof Uint8Array)) return undefined;
      return {
        usage: tlsa.usage,
        selector: tlsa.selector,
        matchingType: tlsa.matchingType,
        certificate: new Uint8Array(tlsa.certificate),
      };
    }
    case 'DNSKEY': {
      const key = fields(data);
      if (!key || !isUint(key.flags) || !isUint(key.algorithm) || !(key.key instanceof Uint8Array)) return undefined;
      // dns-packet rejects any protocol other than 3 (RFC 4034 §2.1.2) and does not return it.
      return { flags: key.flags, protocol: 3, algorithm: key.algorithm, key: new Uint8Array(key.key) };
    }
    case 'DS': {
      const ds = fields(data);
      if (!ds || !isUint(ds.keyTag) || !isUint(ds.algorithm) || !isUint(ds.digestType)) return undefined;
      if (!(ds.digest instanceof Uint8Array)) return undefined;
      return {
        keyTag: ds.keyTag,
        algorithm: ds.algorithm,
        digestType: ds.digestType,
        digest: new Uint8Array(ds.digest),
      };
    }
  }
}

/**
 * TXT character-strings are bytes, not text. Latin-1 maps each byte to the code point of the
 * same value, so nothing is lost and non-ASCII bytes stay visible to the SPF and DKIM parsers
 * (which must reject them) instead of turning into U+FFFD.
 */
function decodeTxt(data: unknown): RecordData['TXT'] | undefined {
  const parts = Array.isArray(data) ? (data as unknown[]) : [data];
  const strings: string[] = [];
  for (const part of parts) {
    if (part instanceof Uint8Array) strings.push(Buffer.from(part).toString('latin1'));
    else if (typeof part === 'string') strings.push(part);
    else return undefined;
  }
  return { text: strings.join(''), strings };
}

function fields(data: unknown): Record<string, unknown> | undefined {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : undefined;
}

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
