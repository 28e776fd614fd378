/**
 * The three ARC header fields (RFC 8617 §4.1), parsed into typed values. The AMS has the syntax of
 * a DKIM-Signature without v=, its i= being the instance (§4.1.2); the AS has no h= or bh= and adds
 * cv= (§4.1.3); the AAR is "i=N;" followed by an Authentication-Results payload (§4.1.1).
 */
import type { HeaderField } from '../message/header.js';
import { headerValue } from '../message/header.js';
import type { DkimAlgorithm, DkimCanonicalization } from '../dkim/signature.js';
import { decodeBase64String, parseTagList, splitColonList } from '../dkim/tag-list.js';
import { domainNameProblem } from '../dns/name.js';

/** §4.2.1: instance values range from 1 to 50. */
export const MAX_ARC_INSTANCE = 50;
export type ChainValidation = 'none' | 'pass' | 'fail';

export const ARC_SEAL = 'arc-seal';
export const ARC_MESSAGE_SIGNATURE = 'arc-message-signature';
export const ARC_AUTHENTICATION_RESULTS = 'arc-authentication-results';

interface SignedCommon {
  readonly instance: number;
  readonly algorithm: DkimAlgorithm;
  readonly signature: Uint8Array;
  readonly domain: string;
  readonly selector: string;
  /** t=, seconds since the epoch, when present. */
  readonly timestamp?: number;
  readonly field: HeaderField;
}

export interface ArcMessageSignature extends SignedCommon {
  readonly kind: 'ams';
  readonly bodyHash: Uint8Array;
  readonly headers: readonly string[];
  readonly headerCanon: DkimCanonicalization;
  readonly bodyCanon: DkimCanonicalization;
  readonly bodyLength?: number;
  /** x=, when present: the AMS has DKIM-Signature semantics (§4.1.2), expiry included. */
  readonly expiration?: number;
}

export interface ArcSeal extends SignedCommon {
  readonly kind: 'seal';
  readonly chainValidation: ChainValidation;
}

export interface ArcAuthenticationResults {
  readonly kind: 'aar';
  readonly instance: number;
  /** The Authentication-Results payload after "i=N;". */
  readonly payload: string;
  readonly field: HeaderField;
}

export type ArcParse<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ALGORITHMS: ReadonlySet<string> = new Set(['rsa-sha256', 'rsa-sha1', 'ed25519-sha256']);
// RFC 6376 §3.5 sig-t-tag / sig-x-tag: 1*12DIGIT.
const TIME = /^[0-9]{1,12}$/;
// d= is a domain name: LDH labels (RFC 6376 §3.5), "_" tolerated as DNS allows it, and non-ASCII
// because §4.1.4 allows U-labels. Lengths are checked by domainNameProblem.
const DOMAIN_CHARS = /^[A-Za-z0-9_.\u0080-\uffff-]+$/;
const SELECTOR = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;

/** The i= of any ARC field, or a reason. Shared by all three kinds, so structure checks can run first. */
export function instanceOf(field: HeaderField): ArcParse<number> {
  const value = headerValue(field);
  if (field.lowerName === ARC_AUTHENTICATION_RESULTS) {
    const match = /^[ \t\r\n]*i[ \t\r\n]*=[ \t\r\n]*([0-9]+)[ \t\r\n]*;/.exec(value);
    if (match === null) return { ok: false, reason: `${field.name} does not start with "i=N;"` };
    return instanceNumber(match[1] ?? '', field.name);
  }
  const parsed = parseTagList(value.replace(/\r?\n$/, ''));
  if (!parsed.ok)
    return { ok: false, reason: `${field.name}: ${parsed.error.message} at offset ${parsed.error.position}` };
  const i = parsed.tags.get('i');
  if (i === undefined) return { ok: false, reason: `${field.name} has no i= tag` };
  return instanceNumber(i.value, field.name);
}

function instanceNumber(text: string, name: string): ArcParse<number> {
  if (!/^[0-9]{1,2}$/.test(text))
    return { ok: false, reason: `${name} has an invalid instance i=${text.slice(0, 20)}` };
  const n = Number(text);
  if (n < 1 || n > MAX_ARC_INSTANCE)
    return { ok: false, reason: `${name} instance i=${n} is outside 1..${MAX_ARC_INSTANCE}` };
  return { ok: true, value: n };
}

export function parseAar(field: HeaderField): ArcParse<ArcAuthenticationResults> {
  const instance = instanceOf(field);
  if (!instance.ok) return instance;
  const value = headerValue(field);
  const payload = value.slice(value.indexOf(';') + 1).trim();
  return { ok: true, value: { kind: 'aar', instance: instance.value, payload, field } };
}

export function parseAms(field: HeaderField): ArcParse<ArcMessageSignature> {
  const common = parseCommon(field, ['a', 'b', 'bh', 'd', 'h', 'i', 's']);
  if (!common.ok) return common;
  const { tags, base } = common.value;
  const bodyHash = decodeBase64String(tags.get('bh') ?? '');
  if (!bodyHash.ok || bodyHash.bytes.length === 0) return { ok: false, reason: `${field.name} has an invalid bh=` };
  const headers = splitColonList(tags.get('h') ?? '').map((name) => name.trim());
  if (headers.length === 0 || headers.some((name) => name === ''))
    return { ok: false, reason: `${field.name} has an invalid h=` };
  // §4.1.2: ARC-Seal fields must not be signed by an AMS.
  if (headers.some((name) => name.toLowerCase() === ARC_SEAL))
    return { ok: false, reason: `${field.name} signs ARC-Seal in h=` };
  const canon = (tags.get('c') ?? 'simple/simple').split('/');
  const headerCanon = canon[0];
  const bodyCanon = canon[1] ?? 'simple';
  if (canon.length > 2 || !isCanon(headerCanon) || !isCanon(bodyCanon)) {
    return { ok: false, reason: `${field.name} has an invalid c=` };
  }
  const l = tags.get('l');
  if (l !== undefined && !/^[0-9]{1,15}$/.test(l)) return { ok: false, reason: `${field.name} has an invalid l=` };
  const x = tags.get('x');
  if (x !== undefined && !TIME.test(x)) return { ok: false, reason: `${field.name} has an invalid x=` };
  // RFC 6376 §3.5: x= MUST be greater than t=; equal is let through as the DKIM parser does.
  if (x !== undefined && base.timestamp !== undefined && Number(x) < base.timestamp) {
    return { ok: false, reason: `${field.name} has x=${x} before t=${base.timestamp}` };
  }
  return {
    ok: true,
    value: {
      kind: 'ams',
      ...base,
      bodyHash: bodyHash.bytes,
      headers,
      headerCanon,
      bodyCanon,
      ...(l !== undefined && { bodyLength: Number(l) }),
      ...(x !== undefined && { expiration: Number(x) }),
    },
  };
}

export function parseSeal(field: HeaderField): ArcParse<ArcSeal> {
  const common = parseCommon(field, ['a', 'b', 'cv', 'd', 'i', 's']);
  if (!common.ok) return common;
  const { tags, base } = common.value;
  // §4.1.3: h= is not allowed in an ARC-Seal.
  if (tags.has('h')) return { ok: false, reason: `${field.name} has an h= tag, which ARC-Seal does not allow` };
  const cv = (tags.get('cv') ?? '').toLowerCase();
  if (cv !== 'none' && cv !== 'pass' && cv !== 'fail') return { ok: false, reason: `${field.name} has an invalid cv=` };
  return { ok: true, value: { kind: 'seal', ...base, chainValidation: cv } };
}

function isCanon(text: string | undefined): text is DkimCanonicalization {
  return text === 'simple' || text === 'relaxed';
}

function parseCommon(
  field: HeaderField,
  required: readonly string[],
): ArcParse<{ tags: Map<string, string>; base: Omit<SignedCommon, never> }> {
  const parsed = parseTagList(headerValue(field).replace(/\r?\n$/, ''));
  if (!parsed.ok)
    return { ok: false, reason: `${field.name}: ${parsed.error.message} at offset ${parsed.error.position}` };
  const tags = new Map([...parsed.tags].map(([name, tag]) => [name, tag.value]));
  for (const name of required) {
    if (!tags.has(name)) return { ok: false, reason: `${field.name} is missing the ${name}= tag` };
  }
  const instance = instanceNumber(tags.get('i') ?? '', field.name);
  if (!instance.ok) return instance;
  const algorithm = (tags.get('a') ?? '').toLowerCase();
  if (!ALGORITHMS.has(algorithm))
    return { ok: false, reason: `${field.name} has an unsupported a=${algorithm.slice(0, 30)}` };
  const signature = decodeBase64String(tags.get('b') ?? '');
  if (!signature.ok || signature.bytes.length === 0) return { ok: false, reason: `${field.name} has an invalid b=` };
  const domain = tags.get('d') ?? '';
  const problem = domainNameProblem(domain) ?? (DOMAIN_CHARS.test(domain) ? undefined : 'not a domain name');
  if (problem !== undefined) return { ok: false, reason: `${field.name} has an invalid d=: ${problem}` };
  const selector = tags.get('s') ?? '';
  if (!SELECTOR.test(selector)) return { ok: false, reason: `${field.name} has an invalid s=` };
  // t= is optional in both fields, but when present it must be a number (RFC 6376 §3.5).
  const t = tags.get('t');
  if (t !== undefined && !TIME.test(t)) return { ok: false, reason: `${field.name} has an invalid t=` };
  return {
    ok: true,
    value: {
      tags,
      base: {
        instance: instance.value,
        algorithm: algorithm as DkimAlgorithm,
        signature: signature.bytes,
        domain,
        selector,
        ...(t !== undefined && { timestamp: Number(t) }),
        field,
      },
    },
  };
}
