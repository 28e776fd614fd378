/**
 * Checks a domain name against the DNS limits of RFC 1035 §2.3.4 (labels of 1..63 octets,
 * 253 characters for the whole name in text form without the final dot).
 * Returns a reason when the name is unusable, undefined when it is fine.
 */
export function domainNameProblem(name: string): string | undefined {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0) return 'empty domain name';
  if (bare.length > 253) return `domain name is ${bare.length} characters long (at most 253)`;
  const labels = bare.split('.');
  for (const [index, label] of labels.entries()) {
    if (label.length === 0) return `empty label at position ${index + 1}`;
    if (label.length > 63) return `label ${index + 1} is ${label.length} characters long (at most 63)`;
  }
  return undefined;
}
