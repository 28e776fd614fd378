/**
 * DMARC policy records, RFC 9989 §4.7-4.8 (with RFC 7489's historic pct, rf and ri). Parsing never
 * throws. A text is a DMARC record only if it starts with "v=DMARC1" (case-sensitive value);
 * after that, §4.8: "unknown tags MUST be ignored" and "syntax errors in the remainder of the
 * record MUST be discarded in favor of default values (if any) or ignored outright", so a bad tag
 * becomes a problem with its position, never a failure of the whole record.
 */

export type DmarcRequest = 'none' | 'quarantine' | 'reject';
export type DmarcAlignmentMode = 'r' | 's';

export interface DmarcReportUri {
  /** As written, without the obsolete "!size" suffix. */
  readonly uri: string;
  readonly scheme: string;
  /** For mailto: the address, and its domain in lower case. */
  readonly address?: string;
  readonly domain?: string;
  /** The obsolete RFC 7489 size limit ("!10m"), which RFC 9989 tells reporters to ignore. */
  readonly obsoleteSizeLimit?: string;
}

export interface DmarcRecordProblem {
  readonly tag: string;
  /** Offset of the tag in the record text. */
  readonly position: number;
  readonly message: string;
  /** error: a value that is discarded; warning: accepted but worth fixing (historic tags, !size). */
  readonly severity: 'error' | 'warning';
}

export interface DmarcRecord {
  /** p= when valid; undefined when absent or invalid (see `requestedPolicy`). */
  readonly p?: DmarcRequest;
  readonly sp?: DmarcRequest;
  readonly np?: DmarcRequest;
  /** psd=, default "u". */
  readonly psd: 'y' | 'n' | 'u';
  /** t=y: the domain owner is testing its policy (RFC 9989 §4.7). */
  readonly testing: boolean;
  readonly adkim: DmarcAlignmentMode;
  readonly aspf: DmarcAlignmentMode;
  /** Valid report URIs only; invalid ones are problems. */
  readonly rua: readonly DmarcReportUri[];
  readonly ruf: readonly DmarcReportUri[];
  readonly fo: readonly string[];
  /** Historic (RFC 7489): honoured only in RFC 7489 mode. */
  readonly pct?: number;
  readonly rf?: readonly string[];
  readonly ri?: number;
  /** Whether p=, sp= or np= was present but invalid (§4.10.1 then looks at rua). */
  readonly invalidPolicyTag: boolean;
  readonly problems: readonly DmarcRecordProblem[];
  readonly text: string;
}

export type DmarcRecordParse =
  | { readonly ok: true; readonly record: DmarcRecord }
  | { readonly ok: false; readonly reason: string; readonly position: number };

/** The policy a record requests: §4.10.1 and §4.7 p=. */
export type RequestedPolicy =
  | { readonly kind: 'policy'; readonly p: DmarcRequest; readonly reason?: string }
  | { readonly kind: 'no-policy'; readonly reason: string };

const REQUESTS: ReadonlySet<string> = new Set(['none', 'quarantine', 'reject']);
const HISTORIC: ReadonlySet<string> = new Set(['pct', 'rf', 'ri']);
const MAX_URIS_KEPT = 100;

/** Does this TXT text claim to be a DMARC record? (§4.10 step 2: "start with a v tag" of DMARC1.) */
export function isDmarcRecordText(text: string): boolean {
  return /^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)/.test(text);
}

export function parseDmarcRecord(text: string): DmarcRecordParse {
  if (!/^v[ \t]*=/.test(text)) return { ok: false, reason: 'the record does not start with the v= tag', position: 0 };
  const tags = splitTags(text);
  const first = tags[0];
  if (first === undefined || first.name !== 'v' || first.value !== 'DMARC1') {
    return {
      ok: false,
      reason: `v=${JSON.stringify(first?.value ?? '')} is not DMARC1 (case-sensitive)`,
      position: first?.valueStart ?? 0,
    };
  }
  const problems: DmarcRecordProblem[] = [];
  const problem = (tag: RawTag, message: string, severity: 'error' | 'warning' = 'error'): void => {
    problems.push({ tag: tag.name, position: tag.start, message, severity });
  };
  const seen = new Set<string>();
  const values: Partial<Record<string, RawTag>> = {};
  // A p=, sp= or np= too broken to read still counts as an invalid policy tag (§4.10.1).
  let malformedPolicy = false;
  for (const tag of tags.slice(1)) {
    if (tag.malformed !== undefined) {
      problem(tag, tag.malformed);
      if (tag.name === 'p' || tag.name === 'sp' || tag.name === 'np') malformedPolicy = true;
      continue;
    }
    if (tag.name === 'v') {
      problem(tag, 'v= may only appear first');
      continue;
    }
    if (seen.has(tag.name)) {
      problem(tag, `${tag.name}= appears more than once; the first one is used`);
      continue;
    }
    seen.add(tag.name);
    values[tag.name] = tag;
  }

  const request = (name: 'p' | 'sp' | 'np'): DmarcRequest | undefined | 'invalid' => {
    const tag = values[name];
    if (tag === undefined) return undefined;
    const value = tag.value.toLowerCase();
    if (REQUESTS.has(value)) return value as DmarcRequest;
    problem(tag, `${name}=${JSON.stringify(tag.value)} is not none, quarantine or reject`);
    return 'invalid';
  };
  const p = request('p');
  const sp = request('sp');
  const np = request('np');
  const choice = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const tag = values[name];
    if (tag === undefined) return fallback;
    const value = tag.value.toLowerCase() as T;
    if (allowed.includes(value)) return value;
    problem(
      tag,
      `${name}=${JSON.stringify(tag.value)} is not one of ${allowed.join(', ')}; the default ${fallback} applies`,
    );
    return fallback;
  };
  const psd = choice('psd', ['y', 'n', 'u'] as const, 'u');
  const testing = choice('t', ['y', 'n'] as const, 'n') === 'y';
  const adkim = choice('adkim', ['r', 's'] as const, 'r');
  const aspf = choice('aspf', ['r', 's'] as const, 'r');
  const rua = uriList(values['rua'], problem);
  const ruf = uriList(values['ruf'], problem);
  const fo = foList(values['fo'], problem);
  for (const name of HISTORIC) {
    const tag = values[name];
    if (tag !== undefined) problem(tag, `${name}= was removed by RFC 9989; only RFC 7489 receivers use it`, 'warning');
  }
  const pct = integerTag(values['pct'], 0, 100, problem);
  const ri = integerTag(values['ri'], 0, 2 ** 32 - 1, problem);
  const rfTag = values['rf'];
  const rf = rfTag === undefined ? undefined : rfTag.value.split(':').map((s) => s.trim().toLowerCase());
  if (rf !== undefined && rfTag !== undefined && rf.some((format) => format !== 'afrf')) {
    problem(rfTag, `rf=${JSON.stringify(rfTag.value)}: afrf is the only report format defined`);
  }
  const record: DmarcRecord = {
    ...(p !== undefined && p !== 'invalid' && { p }),
    ...(sp !== undefined && sp !== 'invalid' && { sp }),
    ...(np !== undefined && np !== 'invalid' && { np }),
    psd,
    testing,
    adkim,
    aspf,
    rua,
    ruf,
    fo,
    ...(pct !== undefined && { pct }),
    ...(rf !== undefined && { rf }),
    ...(ri !== undefined && { ri }),
    invalidPolicyTag: malformedPolicy || p === 'invalid' || sp === 'invalid' || np === 'invalid',
    problems,
    text,
  };
  return { ok: true, record };
}

/**
 * The policy a record asks for (RFC 9989 §4.10.1, §4.7 p=): a missing p= means p=none; an invalid
 * p=, sp= or np= means p=none when rua has a valid URI, and otherwise no DMARC processing at all.
 */
export function requestedPolicy(record: DmarcRecord): RequestedPolicy {
  if (record.invalidPolicyTag) {
    if (record.rua.length > 0) {
      return {
        kind: 'policy',
        p: 'none',
        reason: 'an invalid p=, sp= or np= with a valid rua= is treated as p=none (RFC 9989 §4.10.1)',
      };
    }
    return {
      kind: 'no-policy',
      reason: 'an invalid p=, sp= or np= without a valid rua= means no DMARC processing (RFC 9989 §4.10.1)',
    };
  }
  if (record.p === undefined)
    return { kind: 'policy', p: 'none', reason: 'no p= tag: treated as p=none (RFC 9989 §4.7)' };
  return { kind: 'policy', p: record.p };
}

interface RawTag {
  readonly name: string;
  readonly value: string;
  readonly start: number;
  readonly valueStart: number;
  readonly malformed?: string;
}

/** §4.8: dmarc-sep = *WSP ";" *WSP, equals = *WSP "=" *WSP, tag names 1*ALPHA. Linear time. */
function splitTags(text: string): RawTag[] {
  const tags: RawTag[] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf(';', start);
    if (end < 0) end = text.length;
    const piece = text.slice(start, end);
    const lead = piece.length - piece.trimStart().length;
    const trimmed = piece.trim();
    if (trimmed !== '') {
      const at = start + lead;
      const equals = trimmed.indexOf('=');
      if (equals < 0)
        tags.push({
          name: trimmed.toLowerCase(),
          value: '',
          start: at,
          valueStart: at,
          malformed: `"${clip(trimmed)}" has no "="`,
        });
      else {
        const name = trimmed.slice(0, equals).trimEnd();
        const rawValue = trimmed.slice(equals + 1);
        const value = rawValue.trim();
        const valueStart = at + equals + 1 + (rawValue.length - rawValue.trimStart().length);
        const malformed = !/^[A-Za-z]+$/.test(name)
          ? `"${clip(name)}" is not a tag name (letters only)`
          : value === ''
            ? `${name}= has an empty value`
            : /[^\x20-\x3a\x3c-\x7e]/.test(value)
              ? `${name}= has a character outside printable ASCII at offset ${valueStart + value.search(/[^\x20-\x3a\x3c-\x7e]/)}`
              : undefined;
        tags.push({
          name: name.toLowerCase(),
          value,
          start: at,
          valueStart,
          ...(malformed !== undefined && { malformed }),
        });
      }
    }
    start = end + 1;
  }
  return tags;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

type Report = (tag: RawTag, message: string, severity?: 'error' | 'warning') => void;

/** §4.8 dmarc-urilist: URIs separated by commas, each optionally with the obsolete "!size". */
function uriList(tag: RawTag | undefined, problem: Report): DmarcReportUri[] {
  if (tag === undefined) return [];
  const uris: DmarcReportUri[] = [];
  const items = tag.value.split(',');
  for (const item of items.slice(0, MAX_URIS_KEPT)) {
    const text = item.trim();
    const match = /^([A-Za-z][A-Za-z0-9+.-]*):([^!\s]+)(?:!([0-9]+[kmgt]?))?$/i.exec(text);
    if (match === null) {
      problem(tag, `${tag.name}= item ${JSON.stringify(clip(text))} is not a URI`);
      continue;
    }
    const scheme = (match[1] ?? '').toLowerCase();
    const rest = match[2] ?? '';
    const size = match[3];
    if (size !== undefined)
      problem(tag, `${tag.name}= "!${size}" size limit is obsolete (RFC 9989 §4.8); reporters ignore it`, 'warning');
    const uri = `${match[1]}:${rest}`;
    if (scheme === 'mailto') {
      const address = decodeURIComponentSafe(rest.split('?')[0] ?? '');
      const at = address.lastIndexOf('@');
      const domain = at > 0 ? address.slice(at + 1).toLowerCase() : '';
      if (at <= 0 || !/^[a-z0-9-]+(\.[a-z0-9-]+)+\.?$/.test(domain)) {
        problem(tag, `${tag.name}= ${JSON.stringify(clip(uri))} is not a mailto: address`);
        continue;
      }
      uris.push({
        uri,
        scheme,
        address,
        domain: domain.replace(/\.$/, ''),
        ...(size !== undefined && { obsoleteSizeLimit: size }),
      });
    } else if (scheme === 'https' || scheme === 'http') {
      const host = /^\/\/([^/:?#]+)/.exec(rest)?.[1]?.toLowerCase();
      if (host === undefined) {
        problem(tag, `${tag.name}= ${JSON.stringify(clip(uri))} has no host`);
        continue;
      }
      uris.push({ uri, scheme, domain: host, ...(size !== undefined && { obsoleteSizeLimit: size }) });
    } else {
      // Any valid URI can be given; receivers ignore schemes they do not support (§4.7 rua).
      uris.push({ uri, scheme, ...(size !== undefined && { obsoleteSizeLimit: size }) });
    }
  }
  if (items.length > MAX_URIS_KEPT)
    problem(tag, `${tag.name}= has ${items.length} URIs; only the first ${MAX_URIS_KEPT} are kept`);
  return uris;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** §4.8 dmarc-fo: "0" / "1" and "d" / "s", colon-separated, each at most once, 0 and 1 exclusive. */
function foList(tag: RawTag | undefined, problem: Report): string[] {
  if (tag === undefined) return ['0'];
  const options = tag.value.split(':').map((s) => s.trim().toLowerCase());
  const valid = options.every((o) => ['0', '1', 'd', 's'].includes(o)) && new Set(options).size === options.length;
  if (!valid || (options.includes('0') && options.includes('1'))) {
    problem(tag, `fo=${JSON.stringify(tag.value)} is not a valid option list (0 or 1, d, s); the default 0 applies`);
    return ['0'];
  }
  return options;
}

function integerTag(tag: RawTag | undefined, min: number, max: number, problem: Report): number | undefined {
  if (tag === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(tag.value) || Number(tag.value) < min || Number(tag.value) > max) {
    problem(tag, `${tag.name}=${JSON.stringify(tag.value)} is not an integer from ${min} to ${max}`);
    return undefined;
  }
  return Number(tag.value);
}
