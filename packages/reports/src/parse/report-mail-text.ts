/**
 * Text helpers shared by the failure-report parsers: RFC 5965 §3.1 field blocks, addresses,
 * MIME parts decoded to text, and values clipped for warnings.
 */
import { addressParser } from 'postal-mime';
import type { Attachment } from 'postal-mime';
import type { ParseWarning } from '../model.js';

/**
 * RFC 5965 §3.1 field block: "Name: value" lines, continuation lines start with white space (RFC
 * 5322 §2.2.3 unfolding keeps that white space). Names are lower-cased; repeats are kept in order.
 */
export function parseFieldBlock(text: string, warnings: ParseWarning[]): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let current: { name: string; value: string } | undefined;
  const flush = (): void => {
    if (!current) return;
    const list = fields.get(current.name) ?? [];
    list.push(current.value.trim());
    fields.set(current.name, list);
    current = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (current) current.value += line;
      else warnings.push(`feedback-report: continuation line without a field: "${clip(line)}"`);
      continue;
    }
    flush();
    const match = /^([!-9;-~]+)[ \t]*:(.*)$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) {
      warnings.push(`feedback-report: not a field: "${clip(line)}"`);
      continue;
    }
    current = { name: match[1].toLowerCase(), value: match[2] };
  }
  flush();
  return fields;
}

export function isFieldStart(line: string): boolean {
  return /^[!-9;-~]+[ \t]*:/.test(line);
}

export function clip(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}

export function stripAngles(value: string): string {
  const trimmed = value.trim();
  const match = /^<(.*)>$/.exec(trimmed);
  return (match?.[1] ?? trimmed).trim();
}

export function firstAddress(value: string): string | undefined {
  const parsed = addressParser(value, { flatten: true });
  for (const mailbox of parsed) {
    if (mailbox.address) return mailbox.address;
  }
  return undefined;
}

/** Decode a part as UTF-8; fall back to Latin-1 so 8-bit headers survive byte for byte. */
export function attachmentText(part: Attachment): string {
  const content = part.content;
  if (typeof content === 'string') return content;
  const bytes = content instanceof Uint8Array ? content : new Uint8Array(content);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}
