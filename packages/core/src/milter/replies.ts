// Replies a milter sends (mfdef.h SMFIR_*): encoding with the validation libmilter applies
// (smfi.c smfi_setreply/smfi_setmlreply, smfi_addheader, smfi_quarantine) and decoding, for the
// MTA-side client, with the checks Postfix applies when it reads them (milter8.c milter8_event).
import { Action, MacroStage, type MacroStageName, Reply } from './constants.js';
import { concatBytes, cString, decodeUtf8, encodeUtf8, readUint32, splitNulStrings, uint32 } from './bytes.js';
import { encodeFrame, type Frame } from './frame.js';

export interface SymbolList {
  stage: MacroStageName;
  /** Macro names as the MTA knows them: "i", "{auth_authen}", "{daemon_name}". */
  macros: string[];
}

export type MilterReply =
  | { type: 'optneg'; version: number; actions: number; protocol: number; symbolLists?: SymbolList[] }
  | { type: 'accept' }
  | { type: 'continue' }
  | { type: 'reject' }
  | { type: 'tempfail' }
  | { type: 'discard' }
  | { type: 'skip' }
  | { type: 'progress' }
  /** A complete SMTP reply: "550 5.7.1 text" or a multi-line one, as validated by smtpReply(). */
  | { type: 'replyCode'; reply: string }
  | { type: 'addHeader'; name: string; value: string }
  /** index 0 puts the header first (Postfix: before its own Received:, cleanup_milter.c). */
  | { type: 'insertHeader'; index: number; name: string; value: string }
  /** index is 1-based among headers of that name; an empty value deletes the header. */
  | { type: 'changeHeader'; index: number; name: string; value: string }
  | { type: 'quarantine'; reason: string };

/** MAXREPLYLEN and MAXREPLIES in libmilter's smfi.c. */
export const MAX_REPLY_LINE = 980;
export const MAX_REPLY_LINES = 32;

export type SmtpReplyResult =
  { ok: true; reply: Extract<MilterReply, { type: 'replyCode' }> } | { ok: false; error: string };

/**
 * Builds a REPLYCODE reply the way smfi_setreply/smfi_setmlreply do: a 4xx or 5xx code, an
 * optional enhanced status code (RFC 3463 class.subject.detail, class equal to the code's first
 * digit: Postfix rejects a mismatch as "malformed reply"), text without CR or LF, at most 980
 * bytes per line and 32 lines. '%' is doubled: Sendmail uses the reply as a format string and
 * Postfix turns '%%' back into '%' (milter8.c, SMFIR_REPLYCODE).
 */
export function smtpReply(
  code: string,
  enhanced: string | undefined,
  text: string | readonly string[],
): SmtpReplyResult {
  if (!/^[45][0-9][0-9]$/.test(code)) return { ok: false, error: `SMTP reply code "${code}" is not 4xx or 5xx` };
  if (enhanced !== undefined) {
    const match = /^([245])\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(enhanced);
    if (!match)
      return { ok: false, error: `enhanced status code "${enhanced}" is not class.subject.detail (RFC 3463)` };
    if (match[1] !== code[0])
      return { ok: false, error: `enhanced status code ${enhanced} does not match reply code ${code}` };
  }
  const lines = typeof text === 'string' ? [text] : [...text];
  if (lines.length === 0) return { ok: false, error: 'SMTP reply text has no line' };
  if (lines.length > MAX_REPLY_LINES)
    return { ok: false, error: `SMTP reply has ${lines.length} lines, over ${MAX_REPLY_LINES}` };
  for (const [i, line] of lines.entries()) {
    if (/[\r\n\0]/.test(line)) return { ok: false, error: `SMTP reply line ${i + 1} contains CR, LF or NUL` };
    const length = encodeUtf8(line).length;
    if (length > MAX_REPLY_LINE)
      return { ok: false, error: `SMTP reply line ${i + 1} is ${length} bytes, over ${MAX_REPLY_LINE}` };
  }
  // smfi_setmlreply fills in 4.0.0 / 5.0.0 when a multi-line reply has no enhanced code.
  const status = enhanced ?? (lines.length > 1 ? `${code[0]}.0.0` : undefined);
  const reply = lines
    .map((line, i) => {
      const separator = i === lines.length - 1 ? ' ' : '-';
      const escaped = line.replace(/%/g, '%%');
      return status ? `${code}${separator}${status} ${escaped}` : `${code}${separator}${escaped}`;
    })
    .join('\r\n');
  return { ok: true, reply: { type: 'replyCode', reply } };
}

/** Which SMFIF_ action a reply needs to have been negotiated, if any. */
export function actionNeeded(reply: MilterReply): number | undefined {
  switch (reply.type) {
    case 'addHeader':
    case 'insertHeader':
      return Action.ADDHDRS;
    case 'changeHeader':
      return Action.CHGHDRS;
    case 'quarantine':
      return Action.QUARANTINE;
    default:
      return undefined;
  }
}

/** Why a reply cannot be sent as it is, or undefined when it can. */
export function replyProblem(reply: MilterReply): string | undefined {
  switch (reply.type) {
    case 'addHeader':
    case 'insertHeader':
    case 'changeHeader': {
      // RFC 5322 section 3.6.8: a field name is printable US-ASCII except the colon.
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(reply.name))
        return `header name "${reply.name}" is not printable ASCII without a colon`;
      if (/[\0\r]/.test(reply.value))
        return `header ${reply.name}: the value contains NUL or CR (fold with LF, the milter convention)`;
      if (/\n(?![ \t])/.test(reply.value))
        return `header ${reply.name}: a line break is not followed by a space or tab (not folding)`;
      if (
        reply.type !== 'addHeader' &&
        (!Number.isInteger(reply.index) || reply.index < 0 || reply.index > 0xffffffff)
      ) {
        return `header ${reply.name}: index ${reply.index} is not a 32-bit unsigned integer`;
      }
      return undefined;
    }
    case 'quarantine':
      // smfi_quarantine refuses an empty reason; Postfix keeps the first 100 bytes.
      if (reply.reason === '' || /[\0\r\n]/.test(reply.reason))
        return 'quarantine reason is empty or contains NUL, CR or LF';
      return undefined;
    case 'replyCode':
      return /^[45][0-9]{2}[ -]/.test(reply.reply) && !reply.reply.includes('\0')
        ? undefined
        : `reply "${reply.reply}" is not built by smtpReply()`;
    case 'optneg':
      for (const list of reply.symbolLists ?? []) {
        if (!(list.stage in MacroStage)) return `symbol list for unknown stage ${list.stage}`;
        if (list.macros.some((m) => m === '' || /[\s\0]/.test(m)))
          return `symbol list for ${list.stage} has an empty or spaced macro name`;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Encodes a reply packet. Throws a RangeError on a reply replyProblem() refuses: that is a bug. */
export function encodeReply(reply: MilterReply): Uint8Array {
  const problem = replyProblem(reply);
  if (problem) throw new RangeError(`milter reply ${reply.type}: ${problem}`);
  switch (reply.type) {
    case 'optneg': {
      // milter8.c milter8_connect reads {uint32 stage, "names\0"} pairs after the three masks.
      const lists = (reply.symbolLists ?? []).flatMap((list) => [
        uint32(MacroStage[list.stage]),
        cString(list.macros.join(' ')),
      ]);
      return encodeFrame(
        Reply.optneg,
        concatBytes([uint32(reply.version), uint32(reply.actions), uint32(reply.protocol), ...lists]),
      );
    }
    case 'accept':
      return encodeFrame(Reply.accept);
    case 'continue':
      return encodeFrame(Reply.continue);
    case 'reject':
      return encodeFrame(Reply.reject);
    case 'tempfail':
      return encodeFrame(Reply.tempfail);
    case 'discard':
      return encodeFrame(Reply.discard);
    case 'skip':
      return encodeFrame(Reply.skip);
    case 'progress':
      return encodeFrame(Reply.progress);
    case 'replyCode':
      return encodeFrame(Reply.replyCode, cString(reply.reply));
    case 'addHeader':
      return encodeFrame(Reply.addHeader, concatBytes([cString(reply.name), cString(reply.value)]));
    case 'insertHeader':
      return encodeFrame(
        Reply.insHeader,
        concatBytes([uint32(reply.index), cString(reply.name), cString(reply.value)]),
      );
    case 'changeHeader':
      return encodeFrame(
        Reply.chgHeader,
        concatBytes([uint32(reply.index), cString(reply.name), cString(reply.value)]),
      );
    case 'quarantine':
      return encodeFrame(Reply.quarantine, cString(reply.reason));
  }
}

export type DecodeReplyResult = { ok: true; reply: MilterReply } | { ok: false; error: string };

const simple = new Map<number, MilterReply['type']>([
  [Reply.accept, 'accept'],
  [Reply.continue, 'continue'],
  [Reply.reject, 'reject'],
  [Reply.tempfail, 'tempfail'],
  [Reply.discard, 'discard'],
  [Reply.skip, 'skip'],
  [Reply.progress, 'progress'],
]);
const stageByNumber = new Map<number, MacroStageName>(
  Object.entries(MacroStage).map(([k, v]) => [v, k as MacroStageName]),
);

/** Decodes a reply packet (the MTA side), with Postfix's checks. */
export function decodeReply(frame: Frame): DecodeReplyResult {
  const { code, data } = frame;
  const label = code >= 0x21 && code <= 0x7e ? `'${String.fromCharCode(code)}'` : `0x${code.toString(16)}`;
  const fail = (what: string): DecodeReplyResult => ({
    ok: false,
    error: `reply ${label} with ${data.length} data bytes: ${what}`,
  });
  const simpleType = simple.get(code);
  if (simpleType)
    return data.length === 0 ? { ok: true, reply: { type: simpleType } as MilterReply } : fail('expected no data');
  const strings = () => splitNulStrings(data);
  switch (code) {
    case Reply.optneg: {
      if (data.length < 12) return fail('expected version, actions and protocol');
      const symbolLists: SymbolList[] = [];
      let at = 12;
      while (at < data.length) {
        if (data.length - at < 5) return fail('truncated symbol list');
        const stage = stageByNumber.get(readUint32(data, at));
        const end = data.indexOf(0, at + 4);
        if (end < 0) return fail('symbol list not NUL-terminated');
        if (!stage) return fail(`symbol list for unknown stage ${readUint32(data, at)}`);
        const names = decodeUtf8(data.subarray(at + 4, end))
          .split(/\s+/)
          .filter(Boolean);
        symbolLists.push({ stage, macros: names });
        at = end + 1;
      }
      return {
        ok: true,
        reply: {
          type: 'optneg',
          version: readUint32(data, 0),
          actions: readUint32(data, 4),
          protocol: readUint32(data, 8),
          symbolLists,
        },
      };
    }
    case Reply.replyCode: {
      const parts = strings();
      if (!parts || parts.length !== 1) return fail('expected one NUL-terminated reply');
      const reply = decodeUtf8(parts[0] as Uint8Array);
      // milter8.c: 4 or 5, two digits, space or dash, and a matching enhanced class if any.
      if (!/^[45][0-9]{2}[ -]/.test(reply) || (/^[0-9]$/.test(reply[4] ?? '') && reply[4] !== reply[0]))
        return fail(`malformed reply "${reply}"`);
      return { ok: true, reply: { type: 'replyCode', reply } };
    }
    case Reply.addHeader: {
      const parts = strings();
      if (!parts || parts.length !== 2) return fail('expected a NUL-terminated name and value');
      return {
        ok: true,
        reply: {
          type: 'addHeader',
          name: decodeUtf8(parts[0] as Uint8Array),
          value: decodeUtf8(parts[1] as Uint8Array),
        },
      };
    }
    case Reply.insHeader:
    case Reply.chgHeader: {
      if (data.length < 4) return fail('expected an index');
      const parts = splitNulStrings(data.subarray(4));
      if (!parts || parts.length !== 2) return fail('expected a NUL-terminated name and value after the index');
      const index = readUint32(data, 0);
      const name = decodeUtf8(parts[0] as Uint8Array);
      const value = decodeUtf8(parts[1] as Uint8Array);
      return {
        ok: true,
        reply:
          code === Reply.insHeader
            ? { type: 'insertHeader', index, name, value }
            : { type: 'changeHeader', index, name, value },
      };
    }
    case Reply.quarantine: {
      const parts = strings();
      if (!parts || parts.length !== 1) return fail('expected a NUL-terminated reason');
      return { ok: true, reply: { type: 'quarantine', reason: decodeUtf8(parts[0] as Uint8Array) } };
    }
    default:
      return fail('not a reply mailward sends or understands');
  }
}
