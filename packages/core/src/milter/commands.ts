// Decoding of the commands an MTA sends (mfdef.h SMFIC_*), with the data layouts Postfix writes
// in src/milter/milter8.c (milter8_conn_event, milter8_mail_event, milter8_header_event...) and
// Sendmail's libmilter reads in engine.c (st_connectinfo, st_sender, st_header...).
import { Command, Family, type FamilyName } from './constants.js';
import { decodeUtf8, readUint16, readUint32, splitNulStrings } from './bytes.js';
import type { Frame } from './frame.js';

/** The command a MACRO packet belongs to: its first data byte, an SMFIC_* code. */
export type MacroCommand =
  'connect' | 'helo' | 'mail' | 'rcpt' | 'data' | 'eoh' | 'eom' | 'header' | 'body' | 'unknown';

export type MilterCommand =
  | { type: 'optneg'; version: number; actions: number; protocol: number }
  | { type: 'macro'; stage: MacroCommand; macros: Array<[name: string, value: string]> }
  | {
      type: 'connect';
      hostname: string;
      family: FamilyName;
      /** TCP port for inet4/inet6; absent for unknown; 0 for unix (Postfix sends htons(0)). */
      port?: number;
      /** IP address (no "IPv6:" prefix) or socket path; absent for the unknown family. */
      address?: string;
    }
  | { type: 'helo'; hostname: string }
  | { type: 'mail'; sender: string; args: string[] }
  | { type: 'rcpt'; recipient: string; args: string[] }
  | { type: 'data' }
  | {
      type: 'header';
      name: string;
      /** The value as text (UTF-8; folded lines are separated by a bare LF, the Sendmail convention). */
      value: string;
      /** The value byte-exact, for DKIM: with SMFIP_HDR_LEADSPC it keeps the space after the colon. */
      valueBytes: Uint8Array;
    }
  | { type: 'eoh' }
  | { type: 'body'; chunk: Uint8Array }
  | { type: 'eom'; chunk: Uint8Array }
  | { type: 'abort' }
  | { type: 'quit' }
  | { type: 'quitNewConnection' }
  | { type: 'unknown'; command: string };

export type DecodeResult = { ok: true; command: MilterCommand } | { ok: false; error: string };

const macroStages = new Map<number, MacroCommand>([
  [Command.connect, 'connect'],
  [Command.helo, 'helo'],
  [Command.mail, 'mail'],
  [Command.rcpt, 'rcpt'],
  [Command.data, 'data'],
  [Command.eoh, 'eoh'],
  [Command.bodyEob, 'eom'],
  [Command.header, 'header'],
  [Command.body, 'body'],
  [Command.unknown, 'unknown'],
]);

const familyCodes = new Map<number, FamilyName>(
  Object.entries(Family).map(([name, code]) => [code, name as FamilyName]),
);

/** The printable name of a command byte, for error messages. */
export function commandLabel(code: number): string {
  const letter =
    code >= 0x21 && code <= 0x7e ? `'${String.fromCharCode(code)}'` : `0x${code.toString(16).padStart(2, '0')}`;
  const name = Object.entries(Command).find(([, value]) => value === code)?.[0];
  return name ? `${name} (${letter})` : `unknown command ${letter}`;
}

function bad(frame: Frame, what: string): DecodeResult {
  return { ok: false, error: `${commandLabel(frame.code)} with ${frame.data.length} data bytes: ${what}` };
}

function empty(frame: Frame, command: MilterCommand): DecodeResult {
  return frame.data.length === 0 ? { ok: true, command } : bad(frame, 'expected no data');
}

export function decodeCommand(frame: Frame): DecodeResult {
  const { code, data } = frame;
  switch (code) {
    case Command.optneg: {
      // libmilter st_optionneg reads three uint32 and ignores anything after them.
      if (data.length < 12) return bad(frame, 'expected version, actions and protocol (12 bytes)');
      return {
        ok: true,
        command: {
          type: 'optneg',
          version: readUint32(data, 0),
          actions: readUint32(data, 4),
          protocol: readUint32(data, 8),
        },
      };
    }
    case Command.macro: {
      if (data.length < 1) return bad(frame, 'expected the command the macros belong to');
      const stage = macroStages.get(data[0] as number);
      if (!stage) return bad(frame, `macros for ${commandLabel(data[0] as number)}, which takes none`);
      const strings = splitNulStrings(data.subarray(1));
      if (!strings) return bad(frame, 'the last macro is not NUL-terminated');
      if (strings.length % 2 !== 0) return bad(frame, `${strings.length} strings, not name/value pairs`);
      const macros: Array<[string, string]> = [];
      for (let i = 0; i < strings.length; i += 2) {
        const name = decodeUtf8(strings[i] as Uint8Array);
        if (name === '') return bad(frame, `macro ${i / 2 + 1} has an empty name`);
        macros.push([name, decodeUtf8(strings[i + 1] as Uint8Array)]);
      }
      return { ok: true, command: { type: 'macro', stage, macros } };
    }
    case Command.connect:
      return decodeConnect(frame);
    case Command.helo: {
      const strings = splitNulStrings(data);
      if (!strings || strings.length !== 1) return bad(frame, 'expected one NUL-terminated host name');
      return { ok: true, command: { type: 'helo', hostname: decodeUtf8(strings[0] as Uint8Array) } };
    }
    case Command.mail:
    case Command.rcpt: {
      // Postfix milter8_mail_event: MILTER8_DATA_ARGV, the address then the ESMTP parameters.
      const strings = splitNulStrings(data);
      if (!strings || strings.length < 1) return bad(frame, 'expected a NUL-terminated address, then ESMTP parameters');
      const [address, ...rest] = strings.map(decodeUtf8);
      const args = rest;
      return code === Command.mail
        ? { ok: true, command: { type: 'mail', sender: address as string, args } }
        : { ok: true, command: { type: 'rcpt', recipient: address as string, args } };
    }
    case Command.header: {
      const strings = splitNulStrings(data);
      if (!strings || strings.length !== 2) return bad(frame, 'expected a NUL-terminated name and value');
      const name = decodeUtf8(strings[0] as Uint8Array);
      if (name === '') return bad(frame, 'empty header name');
      const valueBytes = strings[1] as Uint8Array;
      return { ok: true, command: { type: 'header', name, value: decodeUtf8(valueBytes), valueBytes } };
    }
    case Command.unknown: {
      const strings = splitNulStrings(data);
      if (!strings || strings.length !== 1) return bad(frame, 'expected one NUL-terminated SMTP command');
      return { ok: true, command: { type: 'unknown', command: decodeUtf8(strings[0] as Uint8Array) } };
    }
    case Command.body:
      return { ok: true, command: { type: 'body', chunk: data } };
    case Command.bodyEob:
      // Sendmail may carry a last body chunk in BODYEOB (libmilter st_bodyend calls xxfi_body first).
      return { ok: true, command: { type: 'eom', chunk: data } };
    case Command.data:
      return empty(frame, { type: 'data' });
    case Command.eoh:
      return empty(frame, { type: 'eoh' });
    case Command.abort:
      return empty(frame, { type: 'abort' });
    case Command.quit:
      return empty(frame, { type: 'quit' });
    case Command.quitNewConnection:
      return empty(frame, { type: 'quitNewConnection' });
    default:
      return { ok: false, error: `${commandLabel(code)} is not a milter command` };
  }
}

function decodeConnect(frame: Frame): DecodeResult {
  const { data } = frame;
  const nul = data.indexOf(0);
  if (nul < 0) return bad(frame, 'the host name is not NUL-terminated');
  const hostname = decodeUtf8(data.subarray(0, nul));
  if (nul + 1 >= data.length) return bad(frame, 'no address family after the host name');
  const familyCode = data[nul + 1] as number;
  const family = familyCodes.get(familyCode);
  if (!family)
    return bad(frame, `address family ${commandLabel(familyCode).replace('unknown command ', '')} is not U, L, 4 or 6`);
  const rest = data.subarray(nul + 2);
  // Postfix sends only the family for an unknown one; Sendmail does the same (milter_connect).
  if (family === 'unknown') {
    return rest.length === 0
      ? { ok: true, command: { type: 'connect', hostname, family } }
      : bad(frame, 'data after family U');
  }
  if (rest.length < 3) return bad(frame, 'expected a port and a NUL-terminated address after the family');
  const port = readUint16(rest, 0);
  const strings = splitNulStrings(rest.subarray(2));
  if (!strings || strings.length !== 1) return bad(frame, 'expected one NUL-terminated address after the port');
  return {
    ok: true,
    command: { type: 'connect', hostname, family, port, address: decodeUtf8(strings[0] as Uint8Array) },
  };
}
