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

/**
 * §3.4.2 on one field: lower-case name, unfold, every WSP run (including the WSP on both sides of
 * a fold) to one SP, no WSP at the end of the value or around the colon. Each step is one native
 * replace over the value, and only when a native search finds something for it to do, so a plain
 * field costs three searches and a 1 MB field a few linear passes. Unfolding removes every CRLF
 * pair in one left-to-right pass (a CR and LF that only meet once a pair between them is removed
 * stay content, as octets that were never a line break); then runs of WSP become one SP, after
 * which at most one SP is left at each end of the value.
 */
function relaxed(raw: string): string {
  const colon = raw.indexOf(':');
  // A colon-less string (never produced by splitMessage) is treated as a value without a name.
  let name = '';
  if (colon >= 0) {
    let nameEnd = colon;
    while (nameEnd > 0 && isWsp(raw.charCodeAt(nameEnd - 1))) nameEnd--;
    name = `${asciiLower(raw.slice(0, nameEnd))}:`;
  }
  let value = raw.slice(colon + 1);
  if (value.indexOf('\r\n') >= 0) value = value.replace(CRLF, '');
  if (value.indexOf('\t') >= 0 || value.indexOf('  ') >= 0) value = value.replace(WSP_TO_REDUCE, ' ');
  const n = value.length;
  const from = value.charCodeAt(0) === SP ? 1 : 0;
  const to = n > from && value.charCodeAt(n - 1) === SP ? n - 1 : n;
  return from === 0 && to === n ? name + value : name + value.slice(from, to);
}

const CRLF = /\r\n/g;
/** WSP that is not already a single SP: a run of two or more, or a lone HTAB. */
const WSP_TO_REDUCE = /[ \t]{2,}|\t/g;

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
