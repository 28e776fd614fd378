/**
 * Collecting the ARC sets of a message and checking the chain's structure, RFC 8617 §5.2 steps 1
 * and 3A/3B. Shared by the validator and the sealer, so both see the same sets.
 */
import type { HeaderField } from '../message/header.js';
import type { ArcAuthenticationResults, ArcMessageSignature, ArcSeal } from './headers.js';
import {
  ARC_AUTHENTICATION_RESULTS,
  ARC_MESSAGE_SIGNATURE,
  ARC_SEAL,
  instanceOf,
  parseAar,
  parseAms,
  parseSeal,
} from './headers.js';

export type ArcFieldKind = 'aar' | 'ams' | 'seal';

/** One complete, parsed ARC set. */
export interface ArcSet {
  readonly aar: ArcAuthenticationResults;
  readonly ams: ArcMessageSignature;
  readonly seal: ArcSeal;
}

export type ArcChainStructure =
  | { readonly ok: true; readonly sets: readonly ArcSet[] }
  | {
      readonly ok: false;
      readonly reason: string;
      /** The highest instance seen before the problem was found (0 when none could be read). */
      readonly instances: number;
    };

/** The ARC fields of a message grouped by instance, without parsing more than i=. */
export interface ArcFieldIndex {
  /** Every ARC field, in header order. */
  readonly fields: readonly HeaderField[];
  /** Fields whose i= is unreadable or outside 1..50, with the reason of the first one. */
  readonly unreadable: number;
  readonly firstProblem?: string;
  /** The highest readable instance; 0 without one. */
  readonly highest: number;
  readonly byInstance: ReadonlyMap<number, Readonly<Record<ArcFieldKind, readonly HeaderField[]>>>;
}

export function arcKindOf(lowerName: string): ArcFieldKind | undefined {
  if (lowerName === ARC_SEAL) return 'seal';
  if (lowerName === ARC_MESSAGE_SIGNATURE) return 'ams';
  if (lowerName === ARC_AUTHENTICATION_RESULTS) return 'aar';
  return undefined;
}

/**
 * Groups ARC fields by instance. Linear in the number of fields: each field's i= is read once, so
 * thousands of hostile fields cost no more than reading them.
 */
export function indexArcFields(headers: readonly HeaderField[]): ArcFieldIndex {
  const fields: HeaderField[] = [];
  const byInstance = new Map<number, Record<ArcFieldKind, HeaderField[]>>();
  let highest = 0;
  let unreadable = 0;
  let firstProblem: string | undefined;
  for (const field of headers) {
    const kind = arcKindOf(field.lowerName);
    if (kind === undefined) continue;
    fields.push(field);
    const instance = instanceOf(field);
    if (!instance.ok) {
      unreadable++;
      firstProblem ??= instance.reason;
      continue;
    }
    highest = Math.max(highest, instance.value);
    let slot = byInstance.get(instance.value);
    if (slot === undefined) {
      slot = { aar: [], ams: [], seal: [] };
      byInstance.set(instance.value, slot);
    }
    slot[kind].push(field);
  }
  return { fields, unreadable, highest, byInstance, ...(firstProblem !== undefined && { firstProblem }) };
}

const FIELD_NAMES: Readonly<Record<ArcFieldKind, string>> = {
  aar: 'ARC-Authentication-Results',
  ams: 'ARC-Message-Signature',
  seal: 'ARC-Seal',
};

/**
 * §5.2 step 3A/3B: exactly one AAR, AMS and AS per instance, instances 1..N without gaps; each
 * field must also parse. The caller handles "no ARC fields" (cv=none) before this.
 */
export function collectArcSets(index: ArcFieldIndex): ArcChainStructure {
  // An unreadable i= (or one outside 1..50, §4.2.1 and §5.2 step 1) cannot be placed in any set.
  if (index.firstProblem !== undefined) return { ok: false, reason: index.firstProblem, instances: index.highest };
  const n = index.highest;
  const sets: ArcSet[] = [];
  for (let i = 1; i <= n; i++) {
    const slot = index.byInstance.get(i);
    if (slot === undefined) {
      return { ok: false, reason: `ARC set ${i} is missing (instances must run 1..${n})`, instances: n };
    }
    for (const kind of ['aar', 'ams', 'seal'] as const) {
      const count = slot[kind].length;
      if (count !== 1) {
        const what = count === 0 ? `no ${FIELD_NAMES[kind]} field` : `${count} ${FIELD_NAMES[kind]} fields`;
        return { ok: false, reason: `ARC set ${i} has ${what}`, instances: n };
      }
    }
    const aar = parseAar(slot.aar[0]!);
    if (!aar.ok) return { ok: false, reason: aar.reason, instances: n };
    const ams = parseAms(slot.ams[0]!);
    if (!ams.ok) return { ok: false, reason: ams.reason, instances: n };
    const seal = parseSeal(slot.seal[0]!);
    if (!seal.ok) return { ok: false, reason: seal.reason, instances: n };
    sets.push({ aar: aar.value, ams: ams.value, seal: seal.value });
  }
  return { ok: true, sets };
}

/**
 * §5.2 step 3C: no seal says cv=fail; instance 1 says none and every later one pass. Returns the
 * reason of the first violation, or undefined.
 */
export function chainValidationProblem(sets: readonly ArcSet[]): string | undefined {
  for (const { seal } of sets) {
    const expected = seal.instance === 1 ? 'none' : 'pass';
    if (seal.chainValidation !== expected) {
      return `the ARC-Seal of instance ${seal.instance} has cv=${seal.chainValidation}, not ${expected}`;
    }
  }
  return undefined;
}
