/**
 * Checks a domain name against the DNS limits of RFC 1035 §2.3.4 (labels of 1..63 octets,
 * 253 characters for the whole name in text form without the final dot).
 * Returns a reason when the name is unusable, undefined when it is fine. Runs on every lookup,
 * so it scans once instead of splitting.
 */
export function domainNameProblem(text: string): string | undefined {
  // Limits are in octets: a non-ASCII name is measured in its UTF-8 form, as it goes on the wire.
  // eslint-disable-next-line no-control-regex
  const name = /[^\x00-\x7f]/.test(text) ? utf8AsLatin1(text) : text;
  const end = name.endsWith('.') ? name.length - 1 : name.length;
  if (end === 0) return 'empty domain name';
  if (end > 253) return `domain name is ${end} octets long (at most 253)`;
  let labelStart = 0;
  let label = 1;
  for (let i = 0; i <= end; i += 1) {
    if (i === end || name.charCodeAt(i) === 0x2e /* . */) {
      const length = i - labelStart;
      if (length === 0) return `empty label at position ${label}`;
      if (length > 63) return `label ${label} is ${length} octets long (at most 63)`;
      labelStart = i + 1;
      label += 1;
    }
  }
  return undefined;
}

/** One character per UTF-8 octet, so lengths count octets. */
function utf8AsLatin1(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) out += String.fromCharCode(byte);
  return out;
}

/** Length of a name in octets as sent on the wire (UTF-8). */
export function octetLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(text) ? new TextEncoder().encode(text).length : text.length;
}
