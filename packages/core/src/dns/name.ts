/**
 * Checks a domain name against the DNS limits of RFC 1035 §2.3.4 (labels of 1..63 octets,
 * 253 characters for the whole name in text form without the final dot).
 * Returns a reason when the name is unusable, undefined when it is fine. Runs on every lookup,
 * so it scans once instead of splitting.
 */
export function domainNameProblem(name: string): string | undefined {
  const end = name.endsWith('.') ? name.length - 1 : name.length;
  if (end === 0) return 'empty domain name';
  if (end > 253) return `domain name is ${end} characters long (at most 253)`;
  let labelStart = 0;
  let label = 1;
  for (let i = 0; i <= end; i += 1) {
    if (i === end || name.charCodeAt(i) === 0x2e /* . */) {
      const length = i - labelStart;
      if (length === 0) return `empty label at position ${label}`;
      if (length > 63) return `label ${label} is ${length} characters long (at most 63)`;
      labelStart = i + 1;
      label += 1;
    }
  }
  return undefined;
}
