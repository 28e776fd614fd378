/**
 * Some report generators end a MIME part's header block with a line holding only spaces or tabs
 * instead of an empty line. RFC 2046 §5.1.1 wants an empty line there, and a strict parser (as
 * postal-mime is) reads the whitespace line as folding, so the part's body runs into its header
 * and the report is lost. Such a line, right after a part's header block, is made empty before
 * parsing: nothing else in the message changes.
 */

/** Header blocks this deep into a message are not looked at (bounded work on hostile input). */
const MAX_SCAN_BYTES = 8 * 1024 * 1024;

export interface BlankLineRepair {
  readonly bytes: Uint8Array;
  /** How many whitespace-only lines were read as the end of a header block. */
  readonly repaired: number;
}

export function repairWhitespaceSeparators(message: Uint8Array): BlankLineRepair {
  // latin1 maps each byte to one character and back, so the bytes survive exactly.
  const text = Buffer.from(message.subarray(0, MAX_SCAN_BYTES)).toString('latin1');
  const boundaries = new Set<string>();
  for (const match of text.matchAll(/boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))/gi)) {
    boundaries.add(`--${match[1] ?? match[2] ?? ''}`);
  }
  if (boundaries.size === 0) return { bytes: message, repaired: 0 };
  const lines = text.split(/(?<=\n)/);
  let inHeader = true; // the message's own header block comes first
  let repaired = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const content = line.replace(/\r?\n$/, '');
    if (inHeader) {
      if (content === '') inHeader = false;
      else if (/^[ \t]+$/.test(content)) {
        lines[i] = line.slice(content.length);
        repaired++;
        inHeader = false;
      }
    } else if (boundaries.has(content.trimEnd())) {
      inHeader = true;
    }
  }
  if (repaired === 0) return { bytes: message, repaired: 0 };
  const head = Buffer.from(lines.join(''), 'latin1');
  const bytes = new Uint8Array(head.length + Math.max(0, message.length - MAX_SCAN_BYTES));
  bytes.set(head, 0);
  if (message.length > MAX_SCAN_BYTES) bytes.set(message.subarray(MAX_SCAN_BYTES), head.length);
  return { bytes, repaired };
}
