/**
 * Renders core's declarative `Zone` as an RFC 1035 master file that Knot loads, so the same
 * fixture can be served by MemoryResolver and by a real server.
 *
 * Text encoding: core decodes TXT bytes as Latin-1, so a fixture character up to U+00FF stands
 * for the byte of the same value (`é` is byte 0xE9); that way the network resolver returns exactly
 * the fixture's string. A character above U+00FF cannot come out of Latin-1 decoding; it is
 * written as its UTF-8 bytes, which is what a real zone holding that text would serve (and what
 * the network resolver then returns as several Latin-1 characters). Names are written as UTF-8,
 * as dns-packet encodes them.
 */
import type { RecordType, Zone, ZoneRecord } from '@mailward/core';

export interface RenderZoneOptions {
  /** Zone apex, e.g. `example.com` or `.` for the root. Every name in the zone must be at or below it. */
  readonly origin: string;
  readonly serial?: number;
  /** SOA MINIMUM, i.e. the negative-caching TTL of NXDOMAIN and NODATA answers (default 300). */
  readonly negativeTtl?: number;
}

export const SOA_TTL = 3600;
export const DEFAULT_NEGATIVE_TTL = 300;
const NAME_SERVER = 'ns.invalid.';
/** Longest character-string (RFC 1035 §3.3: one length byte). */
const MAX_STRING_BYTES = 255;

export function renderZone(zone: Zone, options: RenderZoneOptions): string {
  const origin = absoluteName(options.origin);
  const lines = [`; rendered from a mailward zone fixture, origin ${origin}`];
  const apex = zone.get(bare(options.origin))?.records ?? [];
  // The apex needs an SOA (and, by convention, NS) unless the fixture brings its own.
  if (!apex.some((record) => record.type === 'SOA')) {
    const soa = `${NAME_SERVER} hostmaster.invalid. ${options.serial ?? 1} 3600 600 86400`;
    lines.push(`${origin} ${SOA_TTL} IN SOA ${soa} ${options.negativeTtl ?? DEFAULT_NEGATIVE_TTL}`);
  }
  if (!apex.some((record) => record.type === 'NS')) lines.push(`${origin} ${SOA_TTL} IN NS ${NAME_SERVER}`);
  for (const [name, node] of [...zone.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!isWithin(absoluteName(name), origin)) throw new Error(`${name} is not inside the zone ${origin}`);
    for (const record of node.records) lines.push(renderRecord(name, record));
  }
  return `${lines.join('\n')}\n`;
}

/** One resource record line: `owner ttl IN TYPE rdata`. `owner` is a plain (unescaped) name. */
export function renderRecord(owner: string, record: ZoneRecord): string {
  return `${absoluteName(owner)} ${record.ttl} IN ${record.type} ${renderData(record)}`;
}

function renderData(record: ZoneRecord): string {
  const { type, data } = record as { type: RecordType; data: unknown };
  const d = data as Record<string, unknown>;
  switch (type) {
    case 'A':
    case 'AAAA':
      return String(data);
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return absoluteName(String(data));
    case 'MX':
      return `${String(d['preference'])} ${absoluteName(String(d['exchange']))}`;
    case 'TXT':
      return characterStrings(d['strings'] as readonly string[]);
    case 'SOA':
      return [
        absoluteName(String(d['mname'])),
        absoluteName(String(d['rname'])),
        ...['serial', 'refresh', 'retry', 'expire', 'minimum'].map((key) => String(d[key])),
      ].join(' ');
    case 'TLSA':
      return `${String(d['usage'])} ${String(d['selector'])} ${String(d['matchingType'])} ${hex(d['certificate'])}`;
    case 'DNSKEY':
      return `${String(d['flags'])} ${String(d['protocol'])} ${String(d['algorithm'])} ${base64(d['key'])}`;
    case 'DS':
      return `${String(d['keyTag'])} ${String(d['algorithm'])} ${String(d['digestType'])} ${hex(d['digest'])}`;
  }
}

/**
 * TXT strings as quoted character-strings. Printable ASCII stays readable, `"` and `\` are
 * backslash-escaped, every other byte is written `\DDD` (decimal), and a string longer than
 * 255 bytes is split into several character-strings (the record's text, their concatenation,
 * is unchanged). A TXT record always has at least one string, so no strings become `""`.
 */
export function characterStrings(strings: readonly string[]): string {
  const chunks: Buffer[] = [];
  for (const text of strings.length > 0 ? strings : ['']) {
    const bytes = textBytes(text);
    if (bytes.length === 0) chunks.push(bytes);
    for (let start = 0; start < bytes.length; start += MAX_STRING_BYTES) {
      chunks.push(bytes.subarray(start, start + MAX_STRING_BYTES));
    }
  }
  return chunks.map((chunk) => `"${[...chunk].map(escapeTextByte).join('')}"`).join(' ');
}

/** Fixture text to bytes: Latin-1 where possible, UTF-8 for characters above U+00FF. */
export function textBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    parts.push(code <= 0xff ? Buffer.from([code]) : Buffer.from(char, 'utf8'));
  }
  return Buffer.concat(parts);
}

function escapeTextByte(byte: number): string {
  if (byte === 0x22 || byte === 0x5c) return `\\${String.fromCharCode(byte)}`;
  if (byte >= 0x20 && byte <= 0x7e) return String.fromCharCode(byte);
  return escapeByte(byte);
}

/**
 * A domain name in master-file form: absolute (final dot), each label's bytes escaped as
 * `\DDD` unless they are letters, digits, `-`, `_` or `*` (so `*` alone stays a wildcard).
 */
export function absoluteName(name: string): string {
  const plain = bare(name);
  if (plain === '') return '.';
  const labels = plain
    .split('.')
    .map((label) =>
      [...Buffer.from(label, 'utf8')]
        .map((byte) =>
          /[A-Za-z0-9_*-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : escapeByte(byte),
        )
        .join(''),
    );
  return `${labels.join('.')}.`;
}

function escapeByte(byte: number): string {
  return `\\${byte.toString().padStart(3, '0')}`;
}

function bare(name: string): string {
  const lower = name.toLowerCase();
  return lower === '.' ? '' : lower.replace(/\.$/, '');
}

function isWithin(name: string, origin: string): boolean {
  return origin === '.' || name === origin || name.endsWith(`.${origin}`);
}

function hex(bytes: unknown): string {
  return Buffer.from(bytes as Uint8Array).toString('hex');
}

function base64(bytes: unknown): string {
  return Buffer.from(bytes as Uint8Array).toString('base64');
}
