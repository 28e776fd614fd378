/**
 * SPF macros, RFC 7208 §7. A macro-string is parsed once into parts (so syntax errors are found
 * when the record is parsed, as §4.6 requires) and expanded later against the check's context.
 */

export type MacroLetter = 's' | 'l' | 'o' | 'd' | 'i' | 'p' | 'h' | 'c' | 'r' | 't' | 'v';

export interface MacroExpand {
  readonly kind: 'macro';
  readonly letter: MacroLetter;
  /** Upper-case letter: URL-escape the expansion (§7.3). */
  readonly escape: boolean;
  /** Number of right-hand parts to keep; undefined keeps all. */
  readonly keep?: number;
  readonly reverse: boolean;
  /** Characters to split on; '.' when none given. */
  readonly delimiters: string;
}

export type MacroPart = { readonly kind: 'literal'; readonly text: string } | MacroExpand;

export interface MacroString {
  readonly parts: readonly MacroPart[];
  /** True when any part depends on the check (so the string cannot be pre-computed). */
  readonly hasMacros: boolean;
  /** Offset where the literal text after the last macro-expand (including %%, %_, %-) starts. */
  readonly tailStart: number;
}

export interface MacroError {
  /** Offset within the macro-string where the problem starts. */
  readonly offset: number;
  readonly message: string;
}

const LETTERS = new Set('slodiphcrtv');
/** `c`, `r` and `t` are only allowed in exp= explanation strings (§7.2). */
const EXP_ONLY = new Set('crt');
const DELIMITERS = new Set('.-+,/_=');

export function parseMacroString(
  text: string,
  options: { explanation: boolean },
): { ok: true; value: MacroString } | { ok: false; error: MacroError } {
  const parts: MacroPart[] = [];
  let literal = '';
  let hasMacros = false;
  let tailStart = 0;
  let i = 0;
  const flush = (): void => {
    if (literal) parts.push({ kind: 'literal', text: literal });
    literal = '';
  };
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch !== 0x25 /* % */) {
      // macro-literal = %x21-24 / %x26-7E; explanation strings also allow spaces (§6.2 explain-string).
      const allowed = (ch >= 0x21 && ch <= 0x7e) || (options.explanation && ch === 0x20);
      if (!allowed) return { ok: false, error: { offset: i, message: `character ${describeChar(ch)} is not allowed` } };
      literal += text[i];
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '%') literal += '%';
    else if (next === '_') literal += ' ';
    else if (next === '-') literal += '%20';
    else if (next === '{') {
      const close = text.indexOf('}', i + 2);
      if (close < 0) return { ok: false, error: { offset: i, message: 'macro "%{" is never closed with "}"' } };
      const parsed = parseMacroBody(text.slice(i + 2, close), i, options);
      if ('message' in parsed) return { ok: false, error: parsed };
      flush();
      parts.push(parsed);
      hasMacros = true;
      i = close + 1;
      tailStart = i;
      continue;
    } else {
      return {
        ok: false,
        error: {
          offset: i,
          message: `"%" must be followed by "{", "%", "_" or "-", not ${next === undefined ? 'the end' : JSON.stringify(next)}`,
        },
      };
    }
    i += 2;
    tailStart = i;
  }
  flush();
  return { ok: true, value: { parts, hasMacros, tailStart } };
}

function parseMacroBody(body: string, offset: number, options: { explanation: boolean }): MacroExpand | MacroError {
  const raw = body[0];
  if (raw === undefined) return { offset, message: 'empty macro "%{}"' };
  const letter = raw.toLowerCase();
  if (!LETTERS.has(letter)) return { offset, message: `unknown macro letter ${JSON.stringify(raw)}` };
  if (EXP_ONLY.has(letter) && !options.explanation) {
    return { offset, message: `macro letter "${raw}" is allowed only in exp= explanations (RFC 7208 §7.2)` };
  }
  let j = 1;
  let digits = '';
  while (j < body.length && body.charCodeAt(j) >= 0x30 && body.charCodeAt(j) <= 0x39) digits += body[j++];
  let reverse = false;
  if (body[j] === 'r' || body[j] === 'R') {
    reverse = true;
    j += 1;
  }
  let delimiters = '';
  for (; j < body.length; j += 1) {
    const ch = body[j] as string;
    if (!DELIMITERS.has(ch))
      return { offset: offset + 2 + j, message: `${JSON.stringify(ch)} is not a macro delimiter` };
    delimiters += ch;
  }
  let keep: number | undefined;
  if (digits) {
    keep = Number(digits);
    // §7.3: "If a DIGIT is specified, the value MUST be at least one"; a huge value keeps everything.
    if (keep === 0) return { offset, message: 'macro transformer must keep at least one part' };
    if (!Number.isSafeInteger(keep)) keep = Number.MAX_SAFE_INTEGER;
  }
  return {
    kind: 'macro',
    letter: letter as MacroLetter,
    escape: raw !== letter,
    ...(keep === undefined ? {} : { keep }),
    reverse,
    delimiters: delimiters || '.',
  };
}

function describeChar(code: number): string {
  if (code >= 0x21 && code <= 0x7e) return JSON.stringify(String.fromCharCode(code));
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Values the macros expand to; `p` is resolved lazily because it needs DNS. */
export interface MacroContext {
  readonly sender: string;
  readonly localPart: string;
  readonly senderDomain: string;
  readonly domain: string;
  /** `%{i}`: dotted IPv4, or IPv6 as dot-separated nibbles (§7.3). */
  readonly ipForMacro: string;
  /** `%{c}`: the client IP in its usual text form. */
  readonly ipText: string;
  readonly ipVersion: 4 | 6;
  readonly helo: string;
  readonly receiver: string;
  readonly timestamp: number;
  validatedName(): Promise<string>;
}

export async function expandMacroString(macro: MacroString, context: MacroContext): Promise<string> {
  if (!macro.hasMacros) return macro.parts.map((part) => (part.kind === 'literal' ? part.text : '')).join('');
  let out = '';
  for (const part of macro.parts) {
    if (part.kind === 'literal') out += part.text;
    else out += await expandOne(part, context);
  }
  return out;
}

async function expandOne(macro: MacroExpand, context: MacroContext): Promise<string> {
  let value: string;
  switch (macro.letter) {
    case 's':
      value = context.sender;
      break;
    case 'l':
      value = context.localPart;
      break;
    case 'o':
      value = context.senderDomain;
      break;
    case 'd':
      value = context.domain;
      break;
    case 'i':
      value = context.ipForMacro;
      break;
    case 'p':
      value = await context.validatedName();
      break;
    case 'v':
      value = context.ipVersion === 4 ? 'in-addr' : 'ip6';
      break;
    case 'h':
      value = context.helo;
      break;
    case 'c':
      value = context.ipText;
      break;
    case 'r':
      value = context.receiver;
      break;
    case 't':
      value = String(Math.floor(context.timestamp / 1000));
      break;
  }
  if (macro.keep !== undefined || macro.reverse || macro.delimiters !== '.') value = transform(value, macro);
  return macro.escape ? urlEscape(value) : value;
}

/** §7.3: split on the delimiters, optionally reverse, keep the right-most `keep` parts, join with ".". */
function transform(value: string, macro: MacroExpand): string {
  let parts: string[] = [];
  let current = '';
  for (const ch of value) {
    if (macro.delimiters.includes(ch)) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  if (macro.reverse) parts.reverse();
  if (macro.keep !== undefined && macro.keep < parts.length) parts = parts.slice(parts.length - macro.keep);
  return parts.join('.');
}

/** §7.3: upper-case macros are URL-escaped; unreserved characters (RFC 3986 §2.3) stay as they are. */
function urlEscape(value: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(value)) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(ch)) out += ch;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
