/**
 * A mail domain given on the command line (--domain, a DMARC domain, a scan list line): host-name
 * labels (letters, digits, hyphen; underscore for service names such as _dmarc), at least two of
 * them, in A-label form (an international name is converted with IDNA, as the DNS needs it).
 */
import { domainToASCII } from 'node:url';

export function mailDomainOf(input: string): { readonly domain: string } | { readonly reason: string } {
  const text = input.trim().replace(/\.$/, '');
  if (text === '') return { reason: 'empty' };
  if (text.length > 253) return { reason: `${text.length} characters (a name has at most 253)` };
  const ascii = domainToASCII(text.toLowerCase());
  if (ascii === '' || !/^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})+$/.test(ascii) || ascii.length > 253) {
    return { reason: 'not a domain name' };
  }
  return { domain: ascii };
}
