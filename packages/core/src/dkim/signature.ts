/**
 * The DKIM-Signature header field, RFC 6376 §3.5, validated as §6.1.1 asks: "meticulously", with
 * any inconsistency making the signature unusable. Parsing returns a typed result, never throws.
 * Algorithms: RFC 6376 (rsa-sha256, rsa-sha1 — parsed here; RFC 8301 §3.1 failure is verify's
 * call) and RFC 8463 (ed25519-sha256).
 */
import type { TagValue } from './tag-list.js';
import {
  decodeBase64String,
  decodeDkimQuotedPrintable,
  parseTagList,
  quoteFragment,
  removeFws,
  splitColonList,
} from './tag-list.js';
import { domainNameProblem } from '../dns/name.js';

export type DkimAlgorithm = 'rsa-sha256' | 'rsa-sha1' | 'ed25519-sha256';
export type DkimCanonicalization = 'simple' | 'relaxed';

export interface DkimSignature {
  readonly version: 1;
  readonly algorithm: DkimAlgorithm;
  /** b=, decoded. */
  readonly signature: Uint8Array;
  /** bh=, decoded. */
  readonly bodyHash: Uint8Array;
  readonly headerCanon: DkimCanonicalization;
  readonly bodyCanon: DkimCanonicalization;
  /** d= as written (the SDID). */
  readonly domain: string;
  /** d= lowercased: the form to compare (DNS names are case-insensitive). */
  readonly normalizedDomain: string;
  readonly selector: string;
  /** h= names as listed, original case, FWS around the colons removed. */
  readonly headers: readonly string[];
  /** i= decoded from dkim-quoted-printable (§2.11), FWS removed; "@" + d= when absent (§6.1.1). */
  readonly identity: string;
  /** Domain part of the identity, lowercased; equal to or below normalizedDomain. */
  readonly identityDomain: string;
  readonly bodyLength?: number;
  readonly queryMethods: readonly string[];
  readonly timestamp?: number;
  readonly expiration?: number;
  /** z=, decoded: one "Name:value" string per copied field. */
  readonly copiedHeaders?: readonly string[];
  /** The field value as given. */
  readonly raw: string;
  /** Every tag with its offsets in `raw`, unknown tags included (they are signed, §3.5). */
  readonly tags: ReadonlyMap<string, TagValue>;
}

/**
 * Why a signature is unusable, after the PERMFAIL categories of §6.1.1. `unsupported` is for
 * well-formed values this implementation does not know (a=, c=, q=, an l= too large to count):
 * verifiers may want to report an unknown a= differently from a broken field.
 */
export type SignatureErrorCode =
  'syntax' | 'missing-tag' | 'incompatible-version' | 'domain-mismatch' | 'from-not-signed' | 'unsupported';

export interface SignatureParseFailure {
  readonly ok: false;
  readonly code: SignatureErrorCode;
  readonly reason: string;
  /** The tag at fault, when there is one. */
  readonly tag?: string;
  /** Offset in the field value, when known. */
  readonly position?: number;
  /** a=, d= and s= as written when present, for reporting (e.g. Authentication-Results). */
  readonly algorithm?: string;
  readonly domain?: string;
  readonly selector?: string;
}

export type SignatureParseResult = { readonly ok: true; readonly signature: DkimSignature } | SignatureParseFailure;

const ALGORITHMS: ReadonlySet<string> = new Set<DkimAlgorithm>(['rsa-sha256', 'rsa-sha1', 'ed25519-sha256']);
const REQUIRED = ['a', 'b', 'bh', 'd', 'h', 's'] as const;
// §3.5 sig-a-tag-alg: sig-a-tag-k "-" sig-a-tag-h, each ALPHA *(ALPHA / DIGIT).
const ALGORITHM_SYNTAX = /^[A-Za-z][A-Za-z0-9]*-[A-Za-z][A-Za-z0-9]*$/;
// RFC 6376 §2.10 hyphenated-word.
const HYPHENATED_WORD = /^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
// RFC 5321 sub-domain: Let-dig [Ldh-str].
const SUB_DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
// Selector labels also allow "_": it only builds a DNS name, where "_" is legal and used in practice.
const SELECTOR_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
// RFC 5322 field-name = 1*ftext (printable ASCII except ":").
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** The DNS name holding the key of a signature (§3.6.2.1): `${selector}._domainkey.${domain}`. */
export function keyLookupName(signature: { readonly selector: string; readonly domain: string }): string {
  return `${signature.selector}._domainkey.${signature.domain}`;
}

/** Parses and validates a DKIM-Signature field value (the text after the colon, folding included). */
export function parseSignature(headerValue: string): SignatureParseResult {
  // The line break that ends a field is not FWS; accept a value passed with it.
  let text = headerValue;
  if (text.endsWith('\n')) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);
  const parsed = parseTagList(text);
  if (!parsed.ok) {
    const { position, message } = parsed.error;
    return { ok: false, code: 'syntax', reason: `tag-list syntax error at offset ${position}: ${message}`, position };
  }
  return validate(headerValue, parsed.tags);
}

type Context = Pick<SignatureParseFailure, 'algorithm' | 'domain' | 'selector'>;

class Invalid {
  constructor(
    readonly code: SignatureErrorCode,
    readonly reason: string,
    readonly tag?: string,
  ) {}
}

function validate(raw: string, tags: Map<string, TagValue>): SignatureParseResult {
  const result = build(raw, tags);
  if (!(result instanceof Invalid)) return { ok: true, signature: result };
  const context: Context = {
    ...(tags.has('a') && { algorithm: tags.get('a')?.value }),
    ...(tags.has('d') && { domain: tags.get('d')?.value }),
    ...(tags.has('s') && { selector: tags.get('s')?.value }),
  };
  const position = result.tag === undefined ? undefined : tags.get(result.tag)?.position;
  return {
    ok: false,
    code: result.code,
    reason: result.reason,
    ...(result.tag !== undefined && { tag: result.tag }),
    ...(position !== undefined && { position }),
    ...context,
  };
}

function build(raw: string, tags: Map<string, TagValue>): DkimSignature | Invalid {
  const get = (name: string): string | undefined => tags.get(name)?.value;

  const version = get('v');
  if (version === undefined) return new Invalid('missing-tag', 'missing required tag v=', 'v');
  // §6.1.1: a v= other than "1" is PERMFAIL (incompatible version).
  if (version !== '1') return new Invalid('incompatible-version', `v=${quoteFragment(version)} is not 1`, 'v');
  for (const name of REQUIRED) {
    if (!tags.has(name)) return new Invalid('missing-tag', `missing required tag ${name}=`, name);
  }
  const algorithmText = get('a') ?? '';
  const domain = get('d') ?? '';
  const selector = get('s') ?? '';

  const domainIssue = domainProblem(domain);
  if (domainIssue) return new Invalid('syntax', `d=${quoteFragment(domain)} is not a domain name: ${domainIssue}`, 'd');
  const selectorIssue = selectorProblem(selector, domain);
  if (selectorIssue)
    return new Invalid('syntax', `s=${quoteFragment(selector)} is not a selector: ${selectorIssue}`, 's');
  if (!ALGORITHM_SYNTAX.test(algorithmText)) {
    return new Invalid('syntax', `a=${quoteFragment(algorithmText)} is not of the form key-hash`, 'a');
  }

  const signature = base64Tag(get('b') ?? '', 'b');
  if (signature instanceof Invalid) return signature;
  const bodyHash = base64Tag(get('bh') ?? '', 'bh');
  if (bodyHash instanceof Invalid) return bodyHash;

  const canon = canonicalization(get('c'));
  if (canon instanceof Invalid) return canon;
  const headers = signedHeaders(get('h') ?? '');
  if (headers instanceof Invalid) return headers;
  const identity = identityOf(get('i'), domain);
  if (identity instanceof Invalid) return identity;
  const bodyLength = bodyLengthOf(get('l'));
  if (bodyLength instanceof Invalid) return bodyLength;
  const queryMethods = queryMethodsOf(get('q'));
  if (queryMethods instanceof Invalid) return queryMethods;
  const timestamp = timeTag(get('t'), 't');
  if (timestamp instanceof Invalid) return timestamp;
  const expiration = timeTag(get('x'), 'x');
  if (expiration instanceof Invalid) return expiration;
  // §3.5 says x= "MUST be greater than" t=; equal values are let through (as dkimpy does): such
  // a signature is expired on arrival, which the expiry check reports more usefully.
  if (timestamp !== undefined && expiration !== undefined && expiration < timestamp) {
    return new Invalid('syntax', `x=${expiration} is before t=${timestamp} (§3.5)`, 'x');
  }
  const copiedHeaders = copiedHeadersOf(get('z'));
  if (copiedHeaders instanceof Invalid) return copiedHeaders;

  // Checked last: a well-formed field with an unknown algorithm is a different outcome from a
  // broken one, so every other problem is reported first.
  const algorithm = algorithmText.toLowerCase();
  if (!isAlgorithm(algorithm)) {
    return new Invalid('unsupported', `unsupported signature algorithm a=${quoteFragment(algorithmText)}`, 'a');
  }

  return {
    version: 1,
    algorithm,
    signature,
    bodyHash,
    headerCanon: canon.header,
    bodyCanon: canon.body,
    domain,
    normalizedDomain: domain.toLowerCase(),
    selector,
    headers,
    identity: identity.identity,
    identityDomain: identity.domain,
    ...(bodyLength !== undefined && { bodyLength }),
    queryMethods,
    ...(timestamp !== undefined && { timestamp }),
    ...(expiration !== undefined && { expiration }),
    ...(copiedHeaders !== undefined && { copiedHeaders }),
    raw,
    tags,
  };
}

function isAlgorithm(value: string): value is DkimAlgorithm {
  return ALGORITHMS.has(value);
}

/** §3.5 d=: domain-name = sub-domain 1*("." sub-domain), so at least two labels, no final dot. */
function domainProblem(name: string): string | undefined {
  if (name === '') return 'empty';
  const lengthIssue = domainNameProblem(name); // first, so a huge value is rejected before splitting
  if (lengthIssue) return lengthIssue;
  if (name.endsWith('.')) return 'ends with "."';
  const labels = name.split('.');
  if (labels.length < 2) return 'needs at least two labels';
  const bad = labels.find((label) => !SUB_DOMAIN.test(label));
  return bad === undefined ? undefined : `label ${quoteFragment(bad)} is not letters, digits and inner hyphens`;
}

function selectorProblem(selector: string, domain: string): string | undefined {
  if (selector === '') return 'empty';
  const lengthIssue = domainNameProblem(keyLookupName({ selector, domain }));
  if (lengthIssue) return `key name too long: ${lengthIssue}`;
  const bad = selector.split('.').find((label) => !SELECTOR_LABEL.test(label));
  return bad === undefined ? undefined : `label ${quoteFragment(bad)} is not letters, digits, "_" and inner hyphens`;
}

function base64Tag(value: string, tag: 'b' | 'bh'): Uint8Array | Invalid {
  const decoded = decodeBase64String(value);
  if (!decoded.ok) return new Invalid('syntax', `malformed base64 in ${tag}=: ${decoded.reason}`, tag);
  if (decoded.bytes.length === 0) return new Invalid('syntax', `empty ${tag}=`, tag);
  return decoded.bytes;
}

/** §3.5 c=: "header/body"; one name means that header algorithm and simple body. */
function canonicalization(
  value: string | undefined,
): { header: DkimCanonicalization; body: DkimCanonicalization } | Invalid {
  if (value === undefined) return { header: 'simple', body: 'simple' };
  const parts = value.split('/');
  if (parts.length > 2 || parts.some((part) => !HYPHENATED_WORD.test(part))) {
    return new Invalid('syntax', `c=${quoteFragment(value)} is not header[/body]`, 'c');
  }
  const [header = '', body = 'simple'] = parts.map((part) => part.toLowerCase());
  if (!isCanon(header) || !isCanon(body)) {
    return new Invalid('unsupported', `unsupported canonicalization c=${quoteFragment(value)}`, 'c');
  }
  return { header, body };
}

function isCanon(value: string): value is DkimCanonicalization {
  return value === 'simple' || value === 'relaxed';
}

function signedHeaders(value: string): string[] | Invalid {
  const names = splitColonList(value);
  const bad = names.find((name) => !FIELD_NAME.test(name));
  if (bad !== undefined) {
    const what = bad === '' ? 'an empty header name' : `invalid header name ${quoteFragment(bad)}`;
    return new Invalid('syntax', `h= has ${what}`, 'h');
  }
  // §6.1.1 (and §5.4): a signature that does not cover From is ignored.
  if (!names.some((name) => name.toLowerCase() === 'from')) {
    return new Invalid('from-not-signed', 'h= does not include the From header field', 'h');
  }
  return names;
}

/**
 * §3.5 i= = [ Local-part ] "@" domain-name, written in dkim-quoted-printable (§2.11), so it is
 * decoded before anything is checked: "jlong=40example.com" is jlong@example.com. Default
 * "@" + d= (§6.1.1). The identity returned is the decoded one.
 */
function identityOf(value: string | undefined, domain: string): { identity: string; domain: string } | Invalid {
  const normalizedDomain = domain.toLowerCase();
  if (value === undefined) return { identity: `@${domain}`, domain: normalizedDomain };
  const identity = decodeDkimQuotedPrintable(value);
  if (identity === undefined) {
    return new Invalid('syntax', `i=${quoteFragment(removeFws(value))} has a malformed quoted-printable escape`, 'i');
  }
  const at = identity.lastIndexOf('@');
  if (at < 0) return new Invalid('syntax', `i=${quoteFragment(identity)} has no "@"`, 'i');
  const identityDomain = identity.slice(at + 1);
  const issue = domainProblem(identityDomain);
  if (issue)
    return new Invalid('syntax', `i= domain ${quoteFragment(identityDomain)} is not a domain name: ${issue}`, 'i');
  const lower = identityDomain.toLowerCase();
  // §6.1.1: d= must be the same as or a parent of the i= domain.
  if (lower !== normalizedDomain && !lower.endsWith(`.${normalizedDomain}`)) {
    return new Invalid('domain-mismatch', `i= domain ${quoteFragment(identityDomain)} is not d= or below it`, 'i');
  }
  return { identity, domain: lower };
}

/** §3.5 l= = 1*76DIGIT. Counted in a number, so values past 2^53-1 are refused, not rounded. */
function bodyLengthOf(value: string | undefined): number | undefined | Invalid {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 76 || !/^[0-9]+$/.test(value)) {
    return new Invalid('syntax', `l=${quoteFragment(value)} is not 1 to 76 decimal digits`, 'l');
  }
  const digits = value.replace(/^0+(?=.)/, '');
  const length = digits.length > 16 ? Infinity : Number(digits);
  if (length > Number.MAX_SAFE_INTEGER) {
    return new Invalid('unsupported', `l=${quoteFragment(value)} is larger than ${Number.MAX_SAFE_INTEGER}`, 'l');
  }
  return length;
}

/** §3.5 q=: colon list of type[/options]; "dns/txt" must be present. */
function queryMethodsOf(value: string | undefined): string[] | Invalid {
  if (value === undefined) return ['dns/txt'];
  const methods = splitColonList(value);
  const bad = methods.find((method) => !HYPHENATED_WORD.test(method.split('/', 1)[0] ?? ''));
  if (bad !== undefined) return new Invalid('syntax', `q= has an invalid query method ${quoteFragment(bad)}`, 'q');
  if (!methods.some((method) => method.toLowerCase() === 'dns/txt')) {
    return new Invalid('unsupported', `q=${quoteFragment(value)} does not include dns/txt`, 'q');
  }
  return methods;
}

/** §3.5 t= and x= = 1*12DIGIT (longer values are refused rather than read as "infinite"). */
function timeTag(value: string | undefined, tag: 't' | 'x'): number | undefined | Invalid {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 12 || !/^[0-9]+$/.test(value)) {
    return new Invalid('syntax', `${tag}=${quoteFragment(value)} is not 1 to 12 decimal digits`, tag);
  }
  return Number(value);
}

/** §3.5 z=: "|"-separated copies of "name:value", each dkim-quoted-printable (§2.11; a "|" in a value is =7C). */
function copiedHeadersOf(value: string | undefined): string[] | undefined | Invalid {
  if (value === undefined) return undefined;
  const copies = removeFws(value).split('|');
  const decoded: string[] = [];
  for (const copy of copies) {
    const colon = copy.indexOf(':');
    const text = decodeDkimQuotedPrintable(copy);
    if (colon <= 0 || !FIELD_NAME.test(copy.slice(0, colon)) || text === undefined) {
      return new Invalid('syntax', `z= has a malformed copied field ${quoteFragment(copy)}`, 'z');
    }
    decoded.push(text);
  }
  return decoded;
}
