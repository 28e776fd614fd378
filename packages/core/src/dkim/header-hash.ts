/**
 * The header part of the signed data (RFC 6376 §3.7 hash step 2, §5.4.2): the fields named by h=,
 * each name taking the next unused instance from the bottom of the header block, canonicalized;
 * a name with no instance left contributes nothing (§5.4: that is how signers "oversign"); then the
 * signature field itself with b= emptied and no trailing CRLF.
 */
import type { HeaderField } from '../message/header.js';
import { asciiLower } from '../message/header.js';
import { canonicalizeHeader, canonicalizeSignatureHeader } from './canonicalize.js';
import type { DkimCanonicalization } from './signature.js';

/** Fields by lower-case name, last occurrence first; built once per message, shared by signatures. */
export class HeaderIndex {
  private readonly byName = new Map<string, HeaderField[]>();

  constructor(headers: readonly HeaderField[]) {
    for (let i = headers.length - 1; i >= 0; i--) {
      const field = headers[i];
      if (field === undefined) continue;
      let list = this.byName.get(field.lowerName);
      if (list === undefined) {
        list = [];
        this.byName.set(field.lowerName, list);
      }
      list.push(field);
    }
  }

  /** Instances of a name, bottom-up. */
  instances(lowerName: string): readonly HeaderField[] {
    return this.byName.get(lowerName) ?? [];
  }

  count(name: string): number {
    return this.instances(asciiLower(name)).length;
  }
}

/** The signed fields' canonical text, each ending in CRLF, in h= order. */
export function canonicalSignedHeaders(
  index: HeaderIndex,
  names: readonly string[],
  mode: DkimCanonicalization,
): string {
  const used = new Map<string, number>();
  const parts: string[] = [];
  for (const name of names) {
    const lower = asciiLower(name);
    const next = used.get(lower) ?? 0;
    const field = index.instances(lower)[next];
    used.set(lower, next + 1);
    if (field !== undefined) parts.push(canonicalizeHeader(field, mode));
  }
  return parts.join('');
}

/** The complete header data a DKIM-Signature (or ARC-Message-Signature) signs. */
export function buildHeaderData(
  index: HeaderIndex,
  signature: { readonly headers: readonly string[]; readonly headerCanon: DkimCanonicalization },
  signatureField: HeaderField | string,
): string {
  return (
    canonicalSignedHeaders(index, signature.headers, signature.headerCanon) +
    canonicalizeSignatureHeader(signatureField, signature.headerCanon)
  );
}
