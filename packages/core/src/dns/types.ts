/**
 * The DNS model every protocol in mailward is written against.
 *
 * A lookup never throws for a DNS condition: NXDOMAIN, NODATA, SERVFAIL, REFUSED and
 * timeouts are typed outcomes, because SPF void lookups (RFC 7208 §4.6.4), temperror vs
 * permerror, and DMARC's np= (RFC 9989) all depend on telling them apart.
 */

export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'CNAME' | 'NS' | 'SOA' | 'TLSA' | 'DNSKEY' | 'DS';

export const RECORD_TYPES: readonly RecordType[] = [
  'A',
  'AAAA',
  'MX',
  'TXT',
  'PTR',
  'CNAME',
  'NS',
  'SOA',
  'TLSA',
  'DNSKEY',
  'DS',
];

export interface MxRecord {
  readonly preference: number;
  /** Target host name, lower-case, without the trailing dot. */
  readonly exchange: string;
}

/**
 * A TXT record. `text` is the character-strings joined with no separator, as RFC 7208 §3.3
 * (and RFC 6376 §3.6.2.2) require; `strings` keeps them apart for auditing (e.g. a 255-byte
 * split in the wrong place). Bytes are decoded as Latin-1 so no byte is ever lost: a non-ASCII
 * byte shows up as a code point above U+007F, which is what the SPF parser must reject.
 */
export interface TxtRecord {
  readonly text: string;
  readonly strings: readonly string[];
}

export interface SoaRecord {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly certificate: Uint8Array;
}

export interface DnskeyRecord {
  readonly flags: number;
  readonly protocol: number;
  readonly algorithm: number;
  readonly key: Uint8Array;
}

export interface DsRecord {
  readonly keyTag: number;
  readonly algorithm: number;
  readonly digestType: number;
  readonly digest: Uint8Array;
}

/** The data type of each record type's answer. Host names are lower-case without the final dot. */
export interface RecordData {
  A: string;
  AAAA: string;
  MX: MxRecord;
  TXT: TxtRecord;
  PTR: string;
  CNAME: string;
  NS: string;
  SOA: SoaRecord;
  TLSA: TlsaRecord;
  DNSKEY: DnskeyRecord;
  DS: DsRecord;
}

export interface Answer<T extends RecordType> {
  readonly kind: 'answer';
  readonly records: readonly RecordData[T][];
  /** Smallest TTL among the records (and the CNAMEs followed to reach them), in seconds. */
  readonly ttl: number;
  /** Names of the CNAMEs followed from the queried name, in order (empty when none). */
  readonly cnames: readonly string[];
  /** True when the answer came with the AD bit from a validating resolver. */
  readonly authenticated: boolean;
}

/** The name does not exist (RCODE 3). */
export interface NxDomain {
  readonly kind: 'nxdomain';
  readonly ttl?: number;
}
/** The name exists but has no record of the asked type (RCODE 0, empty answer). */
export interface NoData {
  readonly kind: 'nodata';
  readonly ttl?: number;
}
/** The server answered SERVFAIL, or answered something unusable (`reason` says what). */
export interface ServFail {
  readonly kind: 'servfail';
  readonly reason: string;
  /**
   * True when the server's answer had RCODE SERVFAIL itself (not another error code, an unusable
   * packet or a CNAME loop): the one failure a validating resolver gives for bogus data
   * (RFC 4035 §5.5).
   */
  readonly rcode?: true;
}
export interface Refused {
  readonly kind: 'refused';
  readonly reason: string;
}
/** No usable answer within the time allowed. */
export interface Timeout {
  readonly kind: 'timeout';
  readonly reason: string;
}

export type DnsFailure = ServFail | Refused | Timeout;
export type LookupResult<T extends RecordType> = Answer<T> | NxDomain | NoData | DnsFailure;
export type LookupKind = LookupResult<RecordType>['kind'];

export interface LookupOptions {
  /** Aborts the lookup; the result is then a timeout outcome. */
  readonly signal?: AbortSignal;
  /**
   * Asks a validating resolver not to validate (the CD bit, RFC 4035 §3.2.2). A zone whose
   * DNSSEC is broken answers SERVFAIL without it and answers with it; a server that is down fails
   * both ways. Resolvers that do not validate ignore it.
   */
  readonly checkingDisabled?: boolean;
}

/** The seam of the whole system: protocol code asks, adapters answer. */
export interface Resolver {
  lookup<T extends RecordType>(name: string, type: T, options?: LookupOptions): Promise<LookupResult<T>>;
}

export function isFailure(result: LookupResult<RecordType>): result is DnsFailure {
  return result.kind === 'servfail' || result.kind === 'refused' || result.kind === 'timeout';
}

/** Lower-case, strip one trailing dot. DNS names compare case-insensitively (RFC 4343). */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') && lower.length > 1 ? lower.slice(0, -1) : lower;
}

/** Short human description of an outcome, for traces and reasons. */
export function describeOutcome(result: LookupResult<RecordType>): string {
  switch (result.kind) {
    case 'answer':
      return `${result.records.length} record(s), ttl ${result.ttl}`;
    case 'nxdomain':
      return 'NXDOMAIN';
    case 'nodata':
      return 'no records of that type (NODATA)';
    case 'servfail':
      return `SERVFAIL: ${result.reason}`;
    case 'refused':
      return `REFUSED: ${result.reason}`;
    case 'timeout':
      return `timeout: ${result.reason}`;
  }
}
