/**
 * The domain an unparsable item seems to report on, so a quarantined item still shows under its
 * domain (`--domain` filters, the dashboard's ingest health). Best effort, from the first bytes and
 * the item's name, in order of trust: the aggregate report's policy_published domain, the TLS
 * report's policy-domain, ARF's Reported-Domain, the report mail's Subject ("Report Domain: X"),
 * then a report file name (receiver!policy-domain!begin!end..., RFC 7489 §7.2.1.1).
 */

/** Only this much of an item is searched: the fields sit near its start. */
const SCAN_BYTES = 256 * 1024;

const PATTERNS: readonly RegExp[] = [
  /<policy_published>[\s\S]{0,2000}?<domain>\s*([^<\s]{1,253})\s*<\/domain>/i,
  /"policy-domain"\s*:\s*"([^"\s]{1,253})"/i,
  /^Reported-Domain:[ \t]*([^\s;]{1,253})/im,
  /^Subject:[^\r\n]*?Report[ -]?Domain:[ \t]*([A-Za-z0-9._-]{1,253})/im,
  /^Subject:[^\r\n]*?\bfor domain[ \t]+([A-Za-z0-9._-]{1,253})/im,
  /name="?[^"!\s/]{1,253}!([A-Za-z0-9._-]{1,253})!\d{6,}!\d{6,}/i,
];

const DOMAIN = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

function domainOrUndefined(text: string | undefined): string | undefined {
  const domain = text?.toLowerCase().replace(/\.$/, '');
  return domain !== undefined && DOMAIN.test(domain) ? domain : undefined;
}

export function reportedDomainOf(bytes: Uint8Array, name = ''): string | undefined {
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, SCAN_BYTES));
  for (const pattern of PATTERNS) {
    const found = domainOrUndefined(pattern.exec(text)?.[1]);
    if (found !== undefined) return found;
  }
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  return domainOrUndefined(/^[^!]{1,253}!([^!]{1,253})!\d{6,}!\d{6,}/.exec(base)?.[1]);
}
