/**
 * The Authentication-Results header field, RFC 8601 §2.2: a formatter and a parser that
 * round-trip. The parser accepts the full grammar (comments anywhere CFWS is allowed, quoted
 * values, the optional versions) and never throws; errors carry their position. Hand-written
 * because no maintained npm library parses RFC 8601 with comments and positions.
 */

export interface AuthResultProperty {
  /** smtp, header, body, policy (or an extension ptype), lower case. */
  readonly ptype: string;
  /** e.g. mailfrom, helo, from, d, s, b, i. */
  readonly property: string;
  readonly value: string;
}

export interface AuthResultEntry {
  /** dkim, spf, dmarc, arc, auth, iprev, ... (lower case). */
  readonly method: string;
  readonly methodVersion?: number;
  /** pass, fail, none, neutral, policy, temperror, permerror, softfail, ... (lower case). */
  readonly result: string;
  readonly reason?: string;
  readonly properties: readonly AuthResultProperty[];
  /** A comment after the result, e.g. "(good signature)": written by the formatter, kept by the parser. */
  readonly comment?: string;
}

export interface AuthenticationResults {
  readonly authservId: string;
  readonly version?: number;
  /** Empty means "none": no authentication was performed (§2.2 no-result). */
  readonly results: readonly AuthResultEntry[];
}

export type AuthResultsParse =
  | { readonly ok: true; readonly value: AuthenticationResults }
  | { readonly ok: false; readonly reason: string; readonly position: number };

// RFC 2045 §5.1 token: CHAR except SPACE, CTLs and tspecials.
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
// RFC 5321 Keyword = Let-dig [Ldh-str].
const KEYWORD = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
// A pvalue written bare: a domain name or [local-part] "@" domain with dot-atom text.
const BARE_PVALUE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]*@?[A-Za-z0-9._:[\]-]+$/;
const FOLD_WIDTH = 78;

/** The field value (after "Authentication-Results:"), folded: one result per line. */
export function formatAuthenticationResults(results: AuthenticationResults): string {
  const head = ` ${quoteIfNeeded(results.authservId)}${results.version === undefined ? '' : ` ${results.version}`}`;
  if (results.results.length === 0) return `${head}; none`;
  const lines = results.results.map((entry) => formatEntry(entry));
  return `${head};\r\n\t${lines.join(';\r\n\t')}`;
}

/** The complete field, with its name and the final CRLF. */
export function formatAuthenticationResultsField(results: AuthenticationResults): string {
  return `Authentication-Results:${formatAuthenticationResults(results)}\r\n`;
}

function formatEntry(entry: AuthResultEntry): string {
  const words: string[] = [];
  words.push(`${entry.method}${entry.methodVersion === undefined ? '' : `/${entry.methodVersion}`}=${entry.result}`);
  if (entry.comment !== undefined) words.push(`(${escapeComment(entry.comment)})`);
  if (entry.reason !== undefined) words.push(`reason=${quote(entry.reason)}`);
  for (const p of entry.properties) words.push(`${p.ptype}.${p.property}=${formatPvalue(p.value)}`);
  // Fold between words so no line passes FOLD_WIDTH when it can be helped.
  let line = '';
  const out: string[] = [];
  for (const word of words) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length + 1 > FOLD_WIDTH - 8) {
      out.push(line);
      line = `\t${word}`;
    } else line += ` ${word}`;
  }
  out.push(line);
  return out.join('\r\n\t');
}

function formatPvalue(value: string): string {
  return BARE_PVALUE.test(value) ? value : quote(value);
}

function quoteIfNeeded(value: string): string {
  return TOKEN.test(value) ? value : quote(value);
}

/** A quoted-string; controls (CR, LF, ...) become spaces so a value cannot break the field. */
function quote(value: string): string {
  const clean = sanitize(value).replace(/["\\]/g, (c) => `\\${c}`);
  return `"${clean}"`;
}

function escapeComment(text: string): string {
  return sanitize(text).replace(/[()\\]/g, (c) => `\\${c}`);
}

function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ');
}

/** Parses a field value (the text after the colon, folding allowed). */
export function parseAuthenticationResults(text: string): AuthResultsParse {
  const parser = new Parser(text);
  try {
    return { ok: true, value: parser.header() };
  } catch (error) {
    if (error instanceof SyntaxProblem) return { ok: false, reason: error.message, position: error.position };
    throw error;
  }
}

class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

class Parser {
  private i = 0;
  /** The text of the last comment skipped, for the entry comment. */
  private lastComment: string | undefined;

  constructor(private readonly s: string) {}

  header(): AuthenticationResults {
    this.cfws();
    const authservId = this.value('authserv-id');
    this.cfws();
    let version: number | undefined;
    const digits = /^\d+/.exec(this.s.slice(this.i, this.i + 10));
    if (digits !== null && this.isBoundary(this.i + digits[0].length)) {
      version = Number(digits[0]);
      this.i += digits[0].length;
      this.cfws();
    }
    const results: AuthResultEntry[] = [];
    if (this.peek() !== ';') this.fail('expected ";" after the authserv-id');
    while (this.peek() === ';') {
      this.i++;
      this.cfws();
      if (this.i >= this.s.length) break; // a trailing ";" is tolerated
      if (results.length === 0 && /^none\b/i.test(this.s.slice(this.i, this.i + 5))) {
        const save = this.i;
        this.i += 4;
        this.cfws();
        if (this.i >= this.s.length) return { authservId, ...(version !== undefined && { version }), results: [] };
        this.i = save;
      }
      results.push(this.resinfo());
      this.cfws();
    }
    if (this.i < this.s.length) this.fail(`unexpected ${JSON.stringify(this.s[this.i])}`);
    return { authservId, ...(version !== undefined && { version }), results };
  }

  private resinfo(): AuthResultEntry {
    const method = this.keyword('method').toLowerCase();
    this.cfws();
    let methodVersion: number | undefined;
    if (this.peek() === '/') {
      this.i++;
      this.cfws();
      methodVersion = Number(this.digits('method-version'));
      this.cfws();
    }
    this.expect('=');
    this.cfws();
    const result = this.keyword('result').toLowerCase();
    this.lastComment = undefined;
    this.cfws();
    const comment = this.lastComment;
    let reason: string | undefined;
    const properties: AuthResultProperty[] = [];
    while (this.i < this.s.length && this.peek() !== ';') {
      const name = this.keyword('reason or ptype');
      this.cfws();
      if (name.toLowerCase() === 'reason' && this.peek() === '=') {
        this.i++;
        this.cfws();
        reason = this.value('reason');
      } else {
        this.expect('.');
        this.cfws();
        const property = this.keyword('property');
        this.cfws();
        this.expect('=');
        this.cfws();
        properties.push({ ptype: name.toLowerCase(), property: property.toLowerCase(), value: this.pvalue() });
      }
      this.cfws();
    }
    return {
      method,
      ...(methodVersion !== undefined && { methodVersion }),
      result,
      ...(reason !== undefined && { reason }),
      properties,
      ...(comment !== undefined && { comment }),
    };
  }

  private pvalue(): string {
    const start = this.i;
    if (this.peek() === '"') {
      const text = this.quoted();
      if (this.peek() !== '@') return text;
      // A quoted local-part, "john smith"@example.com: an address, kept as written.
    }
    while (this.i < this.s.length && !/[\s;()"]/.test(this.s[this.i] ?? '')) this.i++;
    if (this.i === start) this.fail('expected a property value');
    return this.s.slice(start, this.i);
  }

  private value(what: string): string {
    if (this.peek() === '"') return this.quoted();
    const start = this.i;
    while (this.i < this.s.length && /[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]/.test(this.s[this.i] ?? '')) this.i++;
    if (this.i === start) this.fail(`expected ${what}`);
    return this.s.slice(start, this.i);
  }

  private keyword(what: string): string {
    const start = this.i;
    while (this.i < this.s.length && /[A-Za-z0-9-]/.test(this.s[this.i] ?? '')) this.i++;
    const word = this.s.slice(start, this.i);
    if (!KEYWORD.test(word)) this.fail(`expected ${what}`, start);
    return word;
  }

  private digits(what: string): string {
    const start = this.i;
    while (this.i < this.s.length && /\d/.test(this.s[this.i] ?? '')) this.i++;
    if (this.i === start || this.i - start > 9) this.fail(`expected ${what}`, start);
    return this.s.slice(start, this.i);
  }

  private quoted(): string {
    const start = this.i;
    this.i++; // opening quote
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i] ?? '';
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '\\') {
        out += this.s[this.i + 1] ?? '';
        this.i += 2;
        continue;
      }
      // Folding inside a quoted string is removed (RFC 5322 §3.2.4 unfolding).
      if (c === '\r' || c === '\n') {
        this.i++;
        continue;
      }
      out += c;
      this.i++;
    }
    return this.fail('unterminated quoted string', start);
  }

  /** Skips CFWS: whitespace, line breaks and (nested, escaped) comments. */
  private cfws(): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.i++;
      else if (c === '(') this.comment();
      else return;
    }
  }

  private comment(): void {
    const start = this.i;
    let depth = 0;
    let text = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i] ?? '';
      if (c === '\\') {
        text += this.s[this.i + 1] ?? '';
        this.i += 2;
        continue;
      }
      this.i++;
      if (c === '(') {
        depth++;
        if (depth === 1) continue;
      } else if (c === ')') {
        depth--;
        if (depth === 0) {
          this.lastComment = text;
          return;
        }
      }
      text += c;
    }
    this.fail('unterminated comment', start);
  }

  private isBoundary(index: number): boolean {
    const c = this.s[index];
    return c === undefined || c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '(' || c === ';';
  }

  private peek(): string | undefined {
    return this.s[this.i];
  }

  private expect(c: string): void {
    if (this.s[this.i] !== c) this.fail(`expected "${c}"`);
    this.i++;
  }

  private fail(message: string, position = this.i): never {
    const found =
      position < this.s.length ? ` near ${JSON.stringify(this.s.slice(position, position + 20))}` : ' at the end';
    throw new SyntaxProblem(`${message} at offset ${position}${found}`, position);
  }
}
