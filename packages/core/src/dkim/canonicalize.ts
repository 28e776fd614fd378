/**
 * DKIM header canonicalization (RFC 6376 §3.4.1, §3.4.2) and the form of the DKIM-Signature
 * field that goes into its own header hash (§3.7, step 2). Fields are Latin-1 strings (see
 * message/header.ts), so the output maps 1:1 back to octets.
 */
import type { HeaderField } from '../message/header.js';
import { asciiLower } from '../message/header.js';
import type { DkimCanonicalization } from './signature.js';

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const EQUALS = 0x3d;
const B = 0x62;

function rawOf(field: HeaderField | string): string {
  return typeof field === 'string' ? field : field.raw;
}

function isWsp(c: number): boolean {
  return c === SP || c === HTAB;
}

/** SP, HTAB, CR, LF: the characters FWS is made of. */
function isFwsChar(c: number): boolean {
  return c === SP || c === HTAB || c === CR || c === LF;
}

/** CRLF at `i`: a fold inside a field (unfolding removes the CRLF, §3.4.2 second step). */
function isCrlfAt(text: string, i: number): boolean {
  return text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF;
}

/**
 * §3.4.2 on one field: lower-case name, unfold, every WSP run (including the WSP on both sides of
 * a fold) to one SP, no WSP at the end of the value or around the colon. One pass; the input is
 * copied in slices that only break where the output differs (a run that is not a single SP, a
 * fold, the ends), so a plain field costs one slice and a 1 MB field one pass.
 */
function relaxed(raw: string): string {
  const colon = raw.indexOf(':');
  // A colon-less string (never produced by splitMessage) is treated as a value without a name.
  let out = '';
  if (colon >= 0) {
    let nameEnd = colon;
    while (nameEnd > 0 && isWsp(raw.charCodeAt(nameEnd - 1))) nameEnd--;
    out = `${asciiLower(raw.slice(0, nameEnd))}:`;
  }
  const n = raw.length;
  // WSP and folds before the first value character (after the colon) are dropped, not reduced.
  let i = colon + 1;
  for (;;) {
    if (i < n && isWsp(raw.charCodeAt(i))) i++;
    else if (isCrlfAt(raw, i)) i += 2;
    else break;
  }
  // Most fields need nothing more: no fold, no HTAB, no WSP run, no WSP at the end. Native
  // searches say so faster than a character loop.
  if (
    raw.indexOf('\r', i) < 0 &&
    raw.indexOf('\t', i) < 0 &&
    raw.indexOf('  ', i) < 0 &&
    (i >= n || !isFwsChar(raw.charCodeAt(n - 1)))
  ) {
    return i === 0 ? raw : out + raw.slice(i);
  }
  let copied = i;
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (!isWsp(c) && !(c === CR && raw.charCodeAt(i + 1) === LF)) {
      i++;
      continue;
    }
    if (c === SP && i + 1 < n && !isFwsChar(raw.charCodeAt(i + 1))) {
      i++; // a single SP between value characters stays as it is
      continue;
    }
    // A run of WSP and folds: one SP if it has WSP, nothing if it is only folds (unfolding just
    // removes the CRLF), nothing at all at the end of the value.
    let j = i;
    let wsp = false;
    for (;;) {
      if (j < n && isWsp(raw.charCodeAt(j))) {
        wsp = true;
        j++;
      } else if (isCrlfAt(raw, j)) j += 2;
      else break;
    }
    if (j >= n) {
      out += raw.slice(copied, i);
      return out;
    }
    out += wsp ? `${raw.slice(copied, i)} ` : raw.slice(copied, i);
    copied = j;
    i = j;
  }
  return out + raw.slice(copied, n);
}

/**
 * One header field in canonical form, terminated by CRLF (§3.7: "Each header field MUST be
 * terminated with a single CRLF"). `simple` returns the field exactly as it is (§3.4.1).
 */
export function canonicalizeHeader(field: HeaderField | string, mode: DkimCanonicalization): string {
  const raw = rawOf(field);
  return (mode === 'simple' ? raw : relaxed(raw)) + '\r\n';
}

/**
 * The DKIM-Signature (or ARC) field with the value of its b= tag deleted, every other byte as
 * written. What is deleted is everything between the "=" of the b tag and the ";" ending it (or the
 * end of the field): the signature value "including all surrounding whitespace" (§3.7 step 2) and
 * the FWS the signer may put anywhere inside it (§3.5 b=). The tag name, FWS before it and before
 * its "=" stay. Tag names are case-sensitive (§3.2), so only "b" matches: not "bh", not "B".
 * Values cannot contain ";" (VALCHAR, §3.2), so splitting the tag-list at ";" is exact. A
 * duplicated b= (a §3.2 syntax error that voids the signature anyway) is emptied everywhere.
 */
export function removeSignatureValue(field: HeaderField | string): string {
  const raw = rawOf(field);
  const n = raw.length;
  const parts: string[] = [];
  let copied = 0;
  // The tag-list starts after the first colon: a field name cannot contain one.
  for (let tagStart = raw.indexOf(':') + 1; tagStart > 0 && tagStart <= n;) {
    let semicolon = raw.indexOf(';', tagStart);
    if (semicolon < 0) semicolon = n;
    let i = tagStart;
    while (i < semicolon && isFwsChar(raw.charCodeAt(i))) i++;
    if (raw.charCodeAt(i) === B) {
      let j = i + 1;
      while (j < semicolon && isFwsChar(raw.charCodeAt(j))) j++;
      if (j < semicolon && raw.charCodeAt(j) === EQUALS) {
        parts.push(raw.slice(copied, j + 1));
        copied = semicolon;
      }
    }
    tagStart = semicolon + 1;
  }
  if (copied === 0) return raw;
  parts.push(raw.slice(copied));
  return parts.join('');
}

/**
 * The DKIM-Signature field as its own header hash takes it (§3.7 step 2): b= value deleted,
 * canonicalized with the c= header algorithm, and without a trailing CRLF.
 */
export function canonicalizeSignatureHeader(field: HeaderField | string, mode: DkimCanonicalization): string {
  const emptied = removeSignatureValue(field);
  return mode === 'simple' ? emptied : relaxed(emptied);
}
