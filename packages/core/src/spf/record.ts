/**
 * SPF record syntax, RFC 7208 §4.5, §4.6 and §12 (ABNF). The whole record is parsed before
 * evaluation, so a syntax error anywhere is a permerror (§4.6), each error with its position.
 */
import type { IpAddress } from './ip.js';
import type { MacroString } from './macro.js';
import type { Qualifier } from './types.js';
import { parseIp4Network, parseIp6Network } from './ip.js';
import { parseMacroString } from './macro.js';

export interface DomainSpec {
  readonly text: string;
  readonly macro: MacroString;
}

export type Mechanism =
  | { readonly kind: 'all' }
  | { readonly kind: 'include'; readonly domain: DomainSpec }
  | { readonly kind: 'a' | 'mx'; readonly domain?: DomainSpec; readonly prefix4: number; readonly prefix6: number }
  | { readonly kind: 'ptr'; readonly domain?: DomainSpec }
  | { readonly kind: 'ip4' | 'ip6'; readonly network: IpAddress; readonly prefix: number }
  | { readonly kind: 'exists'; readonly domain: DomainSpec };

export type MechanismKind = Mechanism['kind'];

export interface Directive {
  readonly qualifier: Qualifier;
  readonly mechanism: Mechanism;
  /** The term as written. */
  readonly text: string;
  /** Offset of the term in the record. */
  readonly position: number;
}

export interface Modifier {
  readonly name: string;
  readonly value: string;
  readonly position: number;
}

export interface SpfRecord {
  readonly text: string;
  readonly directives: readonly Directive[];
  readonly redirect?: DomainSpec & { readonly position: number };
  readonly exp?: DomainSpec & { readonly position: number };
  /** Modifiers other than redirect and exp: ignored by evaluation (§6), kept for audits. */
  readonly unknownModifiers: readonly Modifier[];
}

export interface SpfSyntaxError {
  /** Offset in the record where the problem is. */
  readonly position: number;
  /** The term that holds it (cut when very long). */
  readonly term: string;
  readonly message: string;
}

export type ParseResult =
  | { ok: true; record: SpfRecord }
  | {
      ok: false;
      /** The first error (what evaluation reports). */
      error: SpfSyntaxError;
      /** Every error in the record, in order (at most 50). */
      errors: readonly SpfSyntaxError[];
    };

/** §4.5: a record is an SPF record when it starts with "v=spf1" followed by a space or its end. */
export function isSpfRecord(text: string): boolean {
  return /^v=spf1(?: |$)/i.test(text);
}

/** Mechanisms that query DNS and so count toward the limit of §4.6.4. */
export const DNS_MECHANISMS: ReadonlySet<MechanismKind> = new Set(['include', 'a', 'mx', 'ptr', 'exists']);

const QUALIFIERS = new Set(['+', '-', '~', '?']);
const MODIFIER = /^([A-Za-z][A-Za-z0-9._-]*)=/;
// A trailing dual-cidr-length: "/n", "//n" or "/n//m"; the domain-spec before it is taken lazily.
const DUAL_CIDR = /^(.*?)(?:\/([0-9]+))?(?:\/\/([0-9]+))?$/s;
const TOPLABEL = /^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$/;
const MAX_ERROR_TERM = 80;
const MAX_ERRORS = 50;

export function parseRecord(text: string): ParseResult {
  if (!isSpfRecord(text)) {
    return fail(0, text.slice(0, 12), 'record does not start with "v=spf1" followed by a space');
  }
  const errors: SpfSyntaxError[] = [];
  const directives: Directive[] = [];
  const unknownModifiers: Modifier[] = [];
  let redirect: (DomainSpec & { position: number }) | undefined;
  let exp: (DomainSpec & { position: number }) | undefined;
  let position = 6;
  // Every term is checked, so an administrator sees all the errors at once, not one per attempt.
  while (position < text.length && errors.length < MAX_ERRORS) {
    if (text[position] === ' ') {
      position += 1;
      continue;
    }
    let end = text.indexOf(' ', position);
    if (end < 0) end = text.length;
    const term = text.slice(position, end);
    const parsed = parseTerm(term, position, { redirect: redirect !== undefined, exp: exp !== undefined });
    if ('message' in parsed) errors.push(parsed);
    else if ('mechanism' in parsed) directives.push(parsed);
    else if (parsed.kind === 'modifier') unknownModifiers.push(parsed.modifier);
    else if (parsed.kind === 'redirect') redirect = parsed.spec;
    else exp = parsed.spec;
    position = end;
  }
  const first = errors[0];
  if (first) return { ok: false, error: first, errors };
  return {
    ok: true,
    record: {
      text,
      directives,
      unknownModifiers,
      ...(redirect ? { redirect } : {}),
      ...(exp ? { exp } : {}),
    },
  };
}

type ParsedTerm =
  | Directive
  | { kind: 'redirect' | 'exp'; spec: DomainSpec & { position: number } }
  | { kind: 'modifier'; modifier: Modifier }
  | SpfSyntaxError;

function parseTerm(term: string, position: number, seen: { redirect: boolean; exp: boolean }): ParsedTerm {
  // §3.1 and §4.6.1: records are 7-bit ASCII and terms are separated by spaces only.
  for (let i = 0; i < term.length; i += 1) {
    const code = term.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) {
      const what = code > 0x7e ? 'non-ASCII character' : 'control character';
      const point = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      return fail(position + i, term, `${what} ${point} is not allowed in an SPF record`).error;
    }
  }
  const modifier = MODIFIER.exec(term);
  if (!modifier) return parseDirective(term, position);
  const name = (modifier[1] as string).toLowerCase();
  const value = term.slice(modifier[0].length);
  const valueAt = position + modifier[0].length;
  if (name === 'redirect' || name === 'exp') {
    if (seen[name]) return fail(position, term, `the ${name}= modifier appears more than once (RFC 7208 §6)`).error;
    const spec = parseDomainSpec(value, valueAt, term, `${name}=`);
    if ('message' in spec) return spec;
    return { kind: name, spec: { ...spec, position } };
  }
  const macro = parseMacroString(value, { explanation: false });
  if (!macro.ok) return fail(valueAt + macro.error.offset, term, `in modifier ${name}=: ${macro.error.message}`).error;
  return { kind: 'modifier', modifier: { name, value, position } };
}

function parseDirective(term: string, position: number): Directive | SpfSyntaxError {
  let qualifier: Qualifier = '+';
  let rest = term;
  if (QUALIFIERS.has(term[0] as string)) {
    qualifier = term[0] as Qualifier;
    rest = term.slice(1);
  }
  const nameMatch = /^[A-Za-z0-9]*/.exec(rest);
  const name = (nameMatch?.[0] ?? '').toLowerCase();
  const args = rest.slice(name.length);
  const argsAt = position + (term.length - args.length);
  const mechanism = parseMechanism(name, args, argsAt, term);
  if ('message' in mechanism) return mechanism;
  return { qualifier, mechanism, text: term, position };
}

function parseMechanism(name: string, args: string, at: number, term: string): Mechanism | SpfSyntaxError {
  switch (name) {
    case 'all':
      if (args) return fail(at, term, '"all" takes no arguments').error;
      return { kind: 'all' };
    case 'include':
    case 'exists': {
      if (!args.startsWith(':')) return fail(at, term, `"${name}" requires ":" and a domain`).error;
      const domain = parseDomainSpec(args.slice(1), at + 1, term, name);
      return 'message' in domain ? domain : { kind: name, domain };
    }
    case 'ptr': {
      if (!args) return { kind: 'ptr' };
      if (!args.startsWith(':')) return fail(at, term, '"ptr" takes only ":" and a domain').error;
      const domain = parseDomainSpec(args.slice(1), at + 1, term, name);
      return 'message' in domain ? domain : { kind: 'ptr', domain };
    }
    case 'a':
    case 'mx':
      return parseAddressMechanism(name, args, at, term);
    case 'ip4':
    case 'ip6':
      return parseIpMechanism(name, args, at, term);
    default:
      return fail(at - name.length, term, name ? `unknown mechanism "${name}"` : 'not a mechanism or modifier').error;
  }
}

function parseAddressMechanism(name: 'a' | 'mx', args: string, at: number, term: string): Mechanism | SpfSyntaxError {
  if (args && !args.startsWith(':') && !args.startsWith('/')) {
    return fail(at, term, `"${name}" must be followed by ":domain", "/prefix" or nothing`).error;
  }
  const match = DUAL_CIDR.exec(args) as RegExpExecArray;
  const before = match[1] as string;
  const cidrAt = at + before.length;
  const prefix4 = match[2] === undefined ? 32 : parsePrefix(match[2], 32);
  if (prefix4 === undefined)
    return fail(cidrAt, term, `invalid IPv4 prefix length "/${match[2]}" (0 to 32, no leading zeros)`).error;
  const prefix6 = match[3] === undefined ? 128 : parsePrefix(match[3], 128);
  if (prefix6 === undefined)
    return fail(cidrAt, term, `invalid IPv6 prefix length "//${match[3]}" (0 to 128, no leading zeros)`).error;
  if (!before) return { kind: name, prefix4, prefix6 };
  if (!before.startsWith(':')) return fail(at, term, `unexpected text after "${name}"`).error;
  const domain = parseDomainSpec(before.slice(1), at + 1, term, name);
  return 'message' in domain ? domain : { kind: name, domain, prefix4, prefix6 };
}

function parseIpMechanism(name: 'ip4' | 'ip6', args: string, at: number, term: string): Mechanism | SpfSyntaxError {
  if (!args.startsWith(':')) return fail(at, term, `"${name}" requires ":" and an address`).error;
  const slash = args.indexOf('/');
  const addressText = slash < 0 ? args.slice(1) : args.slice(1, slash);
  const max = name === 'ip4' ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const parsed = parsePrefix(args.slice(slash + 1), max);
    if (parsed === undefined) {
      return fail(at + slash, term, `invalid prefix length "${args.slice(slash)}" (0 to ${max}, no leading zeros)`)
        .error;
    }
    prefix = parsed;
  }
  const network = name === 'ip4' ? parseIp4Network(addressText) : parseIp6Network(addressText);
  if (!network)
    return fail(at + 1, term, `"${addressText}" is not a valid ${name === 'ip4' ? 'IPv4' : 'IPv6'} address`).error;
  return { kind: name, network, prefix };
}

/** §12: "0" / %x31-39 0*1DIGIT (or 0*2DIGIT for IPv6), within the family's range. */
function parsePrefix(text: string, max: number): number | undefined {
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(text)) return undefined;
  const value = Number(text);
  return value <= max ? value : undefined;
}

/** domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand */
function parseDomainSpec(text: string, at: number, term: string, what: string): DomainSpec | SpfSyntaxError {
  if (!text) return fail(at, term, `${what} needs a domain`).error;
  const macro = parseMacroString(text, { explanation: false });
  if (!macro.ok) return fail(at + macro.error.offset, term, macro.error.message).error;
  const tail = text.slice(macro.value.tailStart);
  // A lone final dot after a macro ("%{d}.") is accepted: it only makes the name absolute.
  if (tail && tail !== '.') {
    const bare = tail.endsWith('.') ? tail.slice(0, -1) : tail;
    const lastDot = bare.lastIndexOf('.');
    const toplabel = bare.slice(lastDot + 1);
    // Text after the last macro must end in "." toplabel (§12 domain-end): a dot, then a label
    // that is not all digits.
    if (lastDot < 0 || !TOPLABEL.test(toplabel)) {
      return fail(
        at,
        term,
        `"${text}" is not a valid domain (it must end in a top-level label such as ".com" or in a macro)`,
      ).error;
    }
  }
  return { text, macro: macro.value };
}

function fail(
  position: number,
  term: string,
  message: string,
): { ok: false; error: SpfSyntaxError; errors: SpfSyntaxError[] } {
  const shown = term.length > MAX_ERROR_TERM ? `${term.slice(0, MAX_ERROR_TERM)}...` : term;
  const error = { position, term: shown, message };
  return { ok: false, error, errors: [error] };
}
