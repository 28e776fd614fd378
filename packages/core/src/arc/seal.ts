/**
 * ARC sealing, RFC 8617 §5.1: add one ARC set (AAR, AMS, AS) for this hop. The caller validates
 * the incoming chain first (verifyArc) and passes the result as `chainValidation`, together with the
 * Authentication-Results payload of its own checks.
 *
 * Format: tags in alphabetical order, one space after each ";", folded only between tags and never
 * inside a value. The AS signs the other fields in relaxed form, where folding between tags
 * disappears but folding inside a value would not; this is also the format the ARC test suite
 * standardizes on, so its expected signatures can be reproduced.
 */
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import { domainNameProblem } from '../dns/name.js';
import type { HeaderField } from '../message/header.js';
import { headerValue } from '../message/header.js';
import type { SplitMessage } from '../message/split.js';
import { splitMessage } from '../message/split.js';
import { BodyHasher } from '../dkim/body-hash.js';
import { canonicalizeHeader, canonicalizeSignatureHeader } from '../dkim/canonicalize.js';
import { dkimKeyTypeOfKeyObject, hashOf, keyTypeOf, signHeaderData } from '../dkim/crypto.js';
import { canonicalSignedHeaders, HeaderIndex } from '../dkim/header-hash.js';
import type { DkimAlgorithm, DkimCanonicalization } from '../dkim/signature.js';
import { arcKindOf, indexArcFields } from './chain.js';
import type { ChainValidation } from './headers.js';
import { MAX_ARC_INSTANCE } from './headers.js';

/** Signed by the AMS when present: the DKIM list minus what §4.1.2 excludes (ARC and A-R fields). */
export const DEFAULT_ARC_SIGNED_HEADERS: readonly string[] = [
  'from',
  'sender',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'to',
  'cc',
  'in-reply-to',
  'references',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'dkim-signature',
  'list-id',
  'list-unsubscribe',
  'list-unsubscribe-post',
];

export interface ArcSealOptions {
  readonly domain: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
  /** Default from the key: rsa-sha256 or ed25519-sha256. */
  readonly algorithm?: DkimAlgorithm;
  /** The AAR payload: "authserv-id; method=result ...; ..." (the Authentication-Results value of this hop). */
  readonly authenticationResults: string;
  /** The incoming chain's validation status (verifyArc's result). */
  readonly chainValidation: ChainValidation;
  /** AMS h=: names signed when present. Default DEFAULT_ARC_SIGNED_HEADERS. */
  readonly headers?: readonly string[];
  /** AMS c=. Default relaxed/relaxed. */
  readonly canonicalization?: { readonly header: DkimCanonicalization; readonly body: DkimCanonicalization };
  readonly clock: Clock;
}

export type ArcSealResult =
  | {
      readonly sealed: true;
      readonly instance: number;
      /** The three fields, each "Name: value\r\n", in the order to prepend: AS, AMS, AAR. */
      readonly fields: {
        readonly seal: string;
        readonly messageSignature: string;
        readonly authenticationResults: string;
      };
      /** The message with the set prepended. */
      readonly message: Uint8Array;
    }
  | { readonly sealed: false; readonly reason: string };

/** Seals a message. Settings errors (bad key, bad domain) throw RangeError; chain states are results. */
export function sealArc(message: Uint8Array | SplitMessage, options: ArcSealOptions): ArcSealResult {
  const split = message instanceof Uint8Array ? splitMessage(message) : message;
  if (!split.ok) return { sealed: false, reason: `message cannot be sealed: ${split.message}` };
  const sealer = new ArcSealer(split.headers, options);
  sealer.push(split.body);
  const result = sealer.finish(options.authenticationResults, options.chainValidation);
  if (!result.sealed) return result;
  const prefix = Buffer.from(
    result.fields.seal + result.fields.messageSignature + result.fields.authenticationResults,
    'latin1',
  );
  return { ...result, message: Buffer.concat([prefix, split.bytes]) };
}

/** An ARC set without the sealed message: what a milter inserts as header fields. */
export type ArcSealFields =
  Omit<Extract<ArcSealResult, { sealed: true }>, 'message'> | Extract<ArcSealResult, { sealed: false }>;

/**
 * Sealing a message that arrives in pieces (a milter's): the header fields first, then the body in
 * chunks, hashed as they come (the AMS body hash); finish() adds the AAR payload and the chain
 * status, known only once the message is verified. sealArc is this with the whole message.
 */
export class ArcSealer {
  private readonly algorithm: DkimAlgorithm;
  private readonly canonicalization: { readonly header: DkimCanonicalization; readonly body: DkimCanonicalization };
  private readonly hasher: BodyHasher;

  constructor(
    private readonly headers: readonly HeaderField[],
    private readonly options: Omit<ArcSealOptions, 'authenticationResults' | 'chainValidation'>,
  ) {
    this.algorithm = checkOptions({ ...options, authenticationResults: '', chainValidation: 'none' });
    this.canonicalization = options.canonicalization ?? { header: 'relaxed', body: 'relaxed' };
    this.hasher = new BodyHasher({ canonicalization: this.canonicalization.body, algorithm: hashOf(this.algorithm) });
  }

  push(chunk: Uint8Array): void {
    this.hasher.push(chunk);
  }

  finish(authenticationResults: string, chainValidation: ChainValidation): ArcSealFields {
    checkOptions({ ...this.options, authenticationResults, chainValidation });
    const { algorithm, canonicalization, hasher } = this;
    const options = { ...this.options, authenticationResults, chainValidation };
    const headers = this.headers;
    const chain = indexArcFields(headers);
    const highest = chain.highest;
    // §5.1 step 2: a chain whose newest seal says cv=fail is not sealed again.
    const newestSeals = chain.byInstance.get(highest)?.seal ?? [];
    if (newestSeals.some((field) => /(^|;)[ \t\r\n]*cv[ \t\r\n]*=[ \t\r\n]*fail\b/i.test(headerValue(field)))) {
      return {
        sealed: false,
        reason: `the chain already failed (ARC-Seal ${highest} says cv=fail); it is not sealed again`,
      };
    }
    // §5.1 step 3: one more than the highest instance found.
    const instance = highest + 1;
    if (instance > MAX_ARC_INSTANCE) return { sealed: false, reason: `the chain already has ${MAX_ARC_INSTANCE} sets` };
    const cv = options.chainValidation;
    // §4.4: none means "no chain arrived", so it is the only status without ARC fields and
    // impossible with them; sealing otherwise would write a chain that §5.2 step 3C rejects.
    if (chain.fields.length === 0 && cv !== 'none') {
      return { sealed: false, reason: `cv=${cv} given, but the message has no ARC chain (cv must be none)` };
    }
    if (chain.fields.length > 0 && cv === 'none') {
      return { sealed: false, reason: 'cv=none given, but the message has ARC fields (cv must be pass or fail)' };
    }
    if (cv === 'pass' && chain.unreadable > 0) {
      return { sealed: false, reason: `cv=pass given, but an ARC field is unreadable: ${chain.firstProblem ?? ''}` };
    }
    // §5.1.1: the seal covers sets 1..N in order, AAR, AMS, AS; §5.1.2: a failed chain is sealed
    // as if our set were the only one.
    const prior: HeaderField[] = [];
    for (let i = 1; cv !== 'fail' && i < instance; i++) {
      const slot = chain.byInstance.get(i);
      for (const kind of ['aar', 'ams', 'seal'] as const) {
        const fields = slot?.[kind] ?? [];
        if (fields.length !== 1) {
          return { sealed: false, reason: `ARC set ${i} is not intact; validate the chain (cv=fail) before sealing` };
        }
        prior.push(fields[0]!);
      }
    }
    const now = Math.floor(options.clock.now() / 1000);

    const aar = `ARC-Authentication-Results: i=${instance}; ${options.authenticationResults.trim()}`;
    const aarField = asField(aar);
    const index = new HeaderIndex([aarField, ...headers]);

    // AMS (§4.1.2): like a DKIM-Signature over this message, AAR included in the header set.
    const signedNames = (options.headers ?? DEFAULT_ARC_SIGNED_HEADERS)
      .map((name) => name.toLowerCase())
      .filter((name) => !isArcName(name) && name !== 'authentication-results')
      .flatMap((name) => Array<string>(index.count(name)).fill(name));
    // An AMS with an empty h= signs no header field (RFC 8617 §4.1.2 takes h= from RFC 6376 §3.5):
    // it would vouch for nothing a later hop can compare, so such a message is not sealed.
    if (signedNames.length === 0) {
      return {
        sealed: false,
        reason:
          headers.length === 0
            ? 'the message has no header fields (it starts with an empty line): there is nothing for the ARC-Message-Signature to sign'
            : `none of the header fields to sign (${(options.headers ?? DEFAULT_ARC_SIGNED_HEADERS).join(', ')}) is in the message: the ARC-Message-Signature would sign no header field (h= empty)`,
      };
    }
    const amsTags: [string, string][] = [
      ['a', algorithm],
      ['b', ''],
      ['bh', hasher.finish().base64],
      ['c', `${canonicalization.header}/${canonicalization.body}`],
      ['d', options.domain],
      ['h', signedNames.join(':')],
      ['i', String(instance)],
      ['s', options.selector],
      ['t', String(now)],
    ];
    const amsUnsigned = formatFields('ARC-Message-Signature', amsTags);
    const amsData =
      canonicalSignedHeaders(index, signedNames, canonicalization.header) +
      canonicalizeSignatureHeader(amsUnsigned, canonicalization.header);
    const ams = withSignature(amsTags, 'ARC-Message-Signature', signHeaderData(algorithm, options.privateKey, amsData));

    // AS (§5.1.1): every set in instance order, this one last with b= empty; only our own set when cv=fail (§5.1.2).
    const sealTags: [string, string][] = [
      ['a', algorithm],
      ['b', ''],
      ['cv', cv],
      ['d', options.domain],
      ['i', String(instance)],
      ['s', options.selector],
      ['t', String(now)],
    ];
    const sealUnsigned = formatFields('ARC-Seal', sealTags);
    const parts: string[] = [];
    for (const field of prior) parts.push(canonicalizeHeader(field, 'relaxed'));
    parts.push(canonicalizeHeader(aarField, 'relaxed'), canonicalizeHeader(asField(ams), 'relaxed'));
    parts.push(canonicalizeSignatureHeader(sealUnsigned, 'relaxed'));
    const seal = withSignature(sealTags, 'ARC-Seal', signHeaderData(algorithm, options.privateKey, parts.join('')));
    const fields = { seal: `${seal}\r\n`, messageSignature: `${ams}\r\n`, authenticationResults: `${aar}\r\n` };
    return { sealed: true, instance, fields };
  }
}

/**
 * The Authentication-Results of one ADMD, consolidated into an AAR payload: every result of every
 * Authentication-Results field with this authserv-id, in message order (the convention of the ARC
 * test suite, README "AR Consolidation"). Undefined when there is none.
 */
export function consolidateAuthenticationResults(
  headers: readonly HeaderField[],
  authservId: string,
): string | undefined {
  const results: string[] = [];
  const wanted = authservId.toLowerCase();
  for (const field of headers) {
    if (field.lowerName !== 'authentication-results') continue;
    const pieces = splitTopLevel(headerValue(field));
    const id = pieces[0]
      ?.trim()
      .split(/[ \t\r\n(]/)[0]
      ?.toLowerCase();
    if (id !== wanted) continue;
    for (const piece of pieces.slice(1)) {
      const text = piece.trim().replace(/\r?\n[ \t]+/g, ' ');
      if (text !== '' && text.toLowerCase() !== 'none') results.push(text);
    }
  }
  if (results.length === 0) return undefined;
  return `${authservId}; ${results.join(';\r\n\t')}`;
}

/** Splits at ";" outside comments and quoted strings. */
function splitTopLevel(value: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\') i++;
    else if (quoted) quoted = c !== '"';
    else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ';' && depth === 0) {
      pieces.push(value.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(value.slice(start));
  return pieces;
}

function checkOptions(options: ArcSealOptions): DkimAlgorithm {
  const problem = domainNameProblem(options.domain);
  if (problem !== undefined) throw new RangeError(`domain ${JSON.stringify(options.domain)}: ${problem}`);
  if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/.test(options.selector)) {
    throw new RangeError(`selector ${JSON.stringify(options.selector)} is not valid`);
  }
  const keyType = dkimKeyTypeOfKeyObject(options.privateKey);
  if (options.privateKey.type !== 'private' || keyType === undefined)
    throw new RangeError('the sealing key must be an RSA or Ed25519 private key');
  const algorithm = options.algorithm ?? (keyType === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256');
  if (algorithm === 'rsa-sha1') throw new RangeError('rsa-sha1 must not be used (RFC 8301 §3.1)');
  if (keyTypeOf(algorithm) !== keyType)
    throw new RangeError(`a=${algorithm} needs a ${keyTypeOf(algorithm)} key, not ${keyType}`);
  if (/[\r\n]/.test(options.authenticationResults.replace(/\r\n[ \t]/g, ''))) {
    throw new RangeError('the Authentication-Results payload has a line break that is not folding');
  }
  return algorithm;
}

function isArcName(lowerName: string): boolean {
  return arcKindOf(lowerName) !== undefined;
}

/**
 * "Name: t=v; t=v; ..." folded between tags, with b= alone on its line: the fold points then do
 * not depend on the signature's length, so the field hashed with b= empty and the field written
 * with b= filled in match byte for byte even under simple canonicalization.
 */
function formatFields(name: string, tags: readonly (readonly [string, string])[]): string {
  const texts = tags.map(([tag, value], i) => `${tag}=${value}${i < tags.length - 1 ? ';' : ''}`);
  const lines: string[] = [];
  let line = `${name}:`;
  for (const [i, [tag]] of tags.entries()) {
    const text = texts[i] ?? '';
    if (tag === 'b') {
      lines.push(line);
      lines.push(`\t${text}`);
      line = '';
    } else if (line === '') line = `\t${text}`;
    else if (line.length + 1 + text.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = `\t${text}`;
    } else line += ` ${text}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\r\n');
}

function withSignature(tags: readonly (readonly [string, string])[], name: string, signature: Uint8Array): string {
  const b = Buffer.from(signature).toString('base64');
  return formatFields(
    name,
    tags.map(([tag, value]) => [tag, tag === 'b' ? b : value] as const),
  );
}

/** A header field value as HeaderField, for the index and canonicalization. */
function asField(raw: string): HeaderField {
  const name = raw.slice(0, raw.indexOf(':'));
  return { name, lowerName: name.toLowerCase(), raw, offset: -1 };
}
