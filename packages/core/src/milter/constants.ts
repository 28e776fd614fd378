// Milter protocol constants, protocol version 6 (Sendmail 8.14+, Postfix >= 2.6).
// Values from Sendmail's include/libmilter/mfdef.h (SMFIC_*, SMFIR_*, SMFIP_*) and mfapi.h
// (SMFIF_*, SMFIM_*), cross-checked with Postfix's own copy in src/milter/milter8.c, which
// redefines them so Postfix builds without libmilter.

/** The protocol version mailward speaks: SMFI_PROT_VERSION in mfdef.h. */
export const MILTER_PROTOCOL_VERSION = 6;
/** MILTER_CHUNK_SIZE in mfdef.h: the largest BODY chunk Postfix and Sendmail send. */
export const MILTER_CHUNK_SIZE = 65535;

/** Commands, MTA to milter (SMFIC_* in mfdef.h). */
export const Command = {
  abort: 0x41, // 'A'
  body: 0x42, // 'B'
  connect: 0x43, // 'C'
  macro: 0x44, // 'D'
  bodyEob: 0x45, // 'E'
  helo: 0x48, // 'H'
  quitNewConnection: 0x4b, // 'K' (Sendmail 8.14)
  header: 0x4c, // 'L'
  mail: 0x4d, // 'M'
  eoh: 0x4e, // 'N'
  optneg: 0x4f, // 'O'
  quit: 0x51, // 'Q'
  rcpt: 0x52, // 'R'
  data: 0x54, // 'T'
  unknown: 0x55, // 'U'
} as const;

/** Replies, milter to MTA (SMFIR_* in mfdef.h). */
export const Reply = {
  addRcpt: 0x2b, // '+'
  delRcpt: 0x2d, // '-'
  addRcptPar: 0x32, // '2'
  shutdown: 0x34, // '4'
  accept: 0x61, // 'a'
  replBody: 0x62, // 'b'
  continue: 0x63, // 'c'
  discard: 0x64, // 'd'
  chgFrom: 0x65, // 'e'
  connFail: 0x66, // 'f'
  addHeader: 0x68, // 'h'
  insHeader: 0x69, // 'i'
  setSymList: 0x6c, // 'l' (only inside the OPTNEG reply's data, never a packet of its own)
  chgHeader: 0x6d, // 'm'
  optneg: 0x4f, // 'O': the negotiation reply reuses the command code
  progress: 0x70, // 'p'
  quarantine: 0x71, // 'q'
  reject: 0x72, // 'r'
  skip: 0x73, // 's'
  tempfail: 0x74, // 't'
  replyCode: 0x79, // 'y'
} as const;

/** Actions the milter may request (SMFIF_* in mfapi.h). */
export const Action = {
  ADDHDRS: 0x01,
  CHGBODY: 0x02,
  ADDRCPT: 0x04,
  DELRCPT: 0x08,
  CHGHDRS: 0x10,
  QUARANTINE: 0x20,
  CHGFROM: 0x40,
  ADDRCPT_PAR: 0x80,
  SETSYMLIST: 0x100,
} as const;
export type ActionName = keyof typeof Action;

/** Protocol flags (SMFIP_* in mfdef.h): steps to skip, replies to omit, and extensions. */
export const Protocol = {
  NOCONNECT: 0x01,
  NOHELO: 0x02,
  NOMAIL: 0x04,
  NORCPT: 0x08,
  NOBODY: 0x10,
  NOHDRS: 0x20,
  NOEOH: 0x40,
  NR_HDR: 0x80,
  NOUNKNOWN: 0x100,
  NODATA: 0x200,
  SKIP: 0x400,
  RCPT_REJ: 0x800,
  NR_CONN: 0x1000,
  NR_HELO: 0x2000,
  NR_MAIL: 0x4000,
  NR_RCPT: 0x8000,
  NR_DATA: 0x10000,
  NR_UNKN: 0x20000,
  NR_EOH: 0x40000,
  NR_BODY: 0x80000,
  HDR_LEADSPC: 0x100000,
} as const;
export type ProtocolName = keyof typeof Protocol;

/** SMFI_CURR_PROT in mfdef.h: every protocol bit defined at version 6. */
export const ALL_PROTOCOL_FLAGS = 0x1fffff;
/** SMFI_CURR_ACTS in mfdef.h: every action defined at version 6. */
export const ALL_ACTIONS = 0x1ff;
/**
 * SMFIP_MDS_256K / SMFIP_MDS_1M: libmilter-internal bits for larger packets. They are not part of
 * the wire protocol Postfix speaks; mailward never requests them and masks them out of offers.
 */
export const MDS_FLAGS = 0x10000000 | 0x20000000;

/** Macro stages for SETSYMLIST (SMFIM_* in mfapi.h, smfim_table in Postfix's milter8.c). */
export const MacroStage = {
  connect: 0,
  helo: 1,
  envfrom: 2,
  envrcpt: 3,
  data: 4,
  eom: 5, // note: EOM (5) < EOH (6) in numbering, though EOH happens first
  eoh: 6,
} as const;
export type MacroStageName = keyof typeof MacroStage;

/** Address families in the CONNECT packet (SMFIA_* in mfdef.h). */
export const Family = {
  unknown: 0x55, // 'U'
  unix: 0x4c, // 'L'
  inet4: 0x34, // '4'
  inet6: 0x36, // '6'
} as const;
export type FamilyName = keyof typeof Family;

/** Names of set bits, for error messages ("MTA does not offer SMFIF_ADDHDRS"). */
export function flagNames(mask: number, table: Record<string, number>, prefix: string): string[] {
  return Object.entries(table)
    .filter(([, bit]) => (mask & bit) !== 0)
    .map(([name]) => `${prefix}${name}`);
}
