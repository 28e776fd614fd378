import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, OptAnswer } from 'dns-packet';
import type { RecordType } from '@mailward/core';
import { domainNameProblem, normalizeName } from '@mailward/core';

/** What a response must echo back to count as the answer to our query (RFC 5452 §9.1). */
export interface Expected {
  readonly id: number;
  /** Normalized (lower-case, no trailing dot). */
  readonly name: string;
  readonly type: RecordType;
}

export interface QueryOptions {
  /** UDP payload size advertised in an EDNS0 OPT record; 0 sends no OPT record. */
  readonly ednsPayload: number;
  readonly recursionDesired: boolean;
  /** Sets CD: the resolver answers without validating (RFC 4035 §3.2.2). */
  readonly checkingDisabled?: boolean;
}

const HEADER_BYTES = 12;
const QR = 0x8000;
const TC = 0x0200;

/**
 * Why `name` cannot be sent, or undefined. Core's check counts octets as they go on the wire
 * (dns-packet writes labels as UTF-8), so a label of 40 non-ASCII letters is caught here instead
 * of dns-packet silently writing a corrupt length byte.
 */
export function queryNameProblem(name: string): string | undefined {
  return domainNameProblem(name);
}

/**
 * Encodes a query. DO stays clear: mailward does not validate DNSSEC itself and needs no RRSIGs.
 * AD is set: RFC 6840 §5.7 lets a stub ask for the AD bit this way, and validating resolvers
 * (Unbound, BIND, the public ones) set AD in a response only when the query had AD or DO. Without
 * it, a signed and validated zone looked unvalidated.
 */
export function buildQuery(expected: Expected, options: QueryOptions): Buffer {
  const opt: OptAnswer = {
    type: 'OPT',
    name: '.',
    udpPayloadSize: options.ednsPayload,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
  return dnsPacket.encode({
    type: 'query',
    id: expected.id,
    flags:
      dnsPacket.AUTHENTIC_DATA |
      (options.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0) |
      (options.checkingDisabled === true ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name: expected.name, type: expected.type, class: 'IN' }],
    additionals: options.ednsPayload > 0 ? [opt] : [],
  });
}

/** Why a decoded packet is not the answer to `expected`, or undefined when it is. */
export function responseProblem(packet: DecodedPacket, expected: Expected): string | undefined {
  if (packet.id !== expected.id) return `ID ${packet.id} does not match query ID ${expected.id}`;
  if (!packet.flag_qr) return 'QR bit clear: a query, not a response';
  const questions = packet.questions ?? [];
  const question = questions[0];
  if (questions.length !== 1 || !question) return `${questions.length} questions instead of 1`;
  if (normalizeName(question.name) !== expected.name) {
    return `question name ${JSON.stringify(question.name)} does not match ${JSON.stringify(expected.name)}`;
  }
  if (question.type !== expected.type) return `question type ${question.type} does not match ${expected.type}`;
  if (question.class !== 'IN') return `question class ${String(question.class)} is not IN`;
  return undefined;
}

export type Classified =
  | { readonly kind: 'answer'; readonly packet: DecodedPacket }
  | { readonly kind: 'truncated' }
  | { readonly kind: 'mismatched'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string };

/** Decodes a received message and sorts it: our answer, truncated, someone else's, or junk. */
export function classifyResponse(message: Buffer, expected: Expected): Classified {
  let packet: DecodedPacket;
  try {
    packet = dnsPacket.decode(message);
  } catch (error) {
    // A server may cut a UDP answer mid-record when it sets TC; the header alone then suffices.
    if (truncatedHeader(message, expected.id)) return { kind: 'truncated' };
    return { kind: 'malformed', reason: error instanceof Error ? error.message : String(error) };
  }
  const problem = responseProblem(packet, expected);
  if (problem) return { kind: 'mismatched', reason: problem };
  return packet.flag_tc ? { kind: 'truncated' } : { kind: 'answer', packet };
}

function truncatedHeader(message: Buffer, id: number): boolean {
  if (message.length < HEADER_BYTES) return false;
  const flags = message.readUInt16BE(2);
  return message.readUInt16BE(0) === id && (flags & QR) !== 0 && (flags & TC) !== 0;
}
