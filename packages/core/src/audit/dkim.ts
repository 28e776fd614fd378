/**
 * DKIM audit: DKIM keys cannot be listed, so common selectors (a documented list, below) and the
 * ones the user names are probed, and each key found is checked: type, size (RFC 8301 §3.2: RSA
 * under 1024 bits must not be used; 1024 is weak), t=y (testing), s= (must allow email), revoked
 * (empty p=), syntax.
 */
import type { DnsFailure, Resolver } from '../dns/types.js';
import { isFailure } from '../dns/types.js';
import { parseKeyRecord } from '../dkim/key-record.js';
import type { Finding } from './finding.js';
import { lookupFailed } from './lookup-failure.js';

/**
 * Selectors tried on every domain: Google Workspace (google), Microsoft 365 (selector1,
 * selector2), Mailchimp/Mandrill (k1, k2, k3, mandrill), SendGrid (s1, s2, smtpapi), Amazon SES
 * (amazonses, for the legacy setup; Easy DKIM uses random tokens that cannot be guessed), Zoho
 * (zoho, zmail), Mailgun (mg, mailo, krs), Postmark (pm), and generic names (default, dkim, mail,
 * selector, key1, key2).
 */
export const COMMON_SELECTORS: readonly string[] = [
  'google',
  'selector1',
  'selector2',
  'k1',
  'k2',
  'k3',
  'mandrill',
  's1',
  's2',
  'smtpapi',
  'amazonses',
  'zoho',
  'zmail',
  'mg',
  'mailo',
  'krs',
  'pm',
  'default',
  'dkim',
  'mail',
  'selector',
  'key1',
  'key2',
];

export interface DkimKeyFound {
  readonly selector: string;
  readonly type?: string;
  readonly bits?: number;
  readonly testing?: boolean;
  readonly revoked?: boolean;
  readonly problem?: string;
}

export interface DkimAudit {
  readonly findings: readonly Finding[];
  readonly keys: readonly DkimKeyFound[];
}

const RFC = 'RFC 6376';

export async function auditDkim(
  domain: string,
  options: {
    readonly resolver: Resolver;
    readonly selectors?: readonly string[];
    /**
     * Surveys: ask for `_domainkey.DOMAIN` first and, when it does not exist (NXDOMAIN), skip the
     * common selectors: nothing exists below a name that does not exist (RFC 8020 §2). One query
     * instead of 23 for a domain that publishes no key; a zone that wrongly answers NXDOMAIN for
     * an empty non-terminal would hide its keys, so `mailward check` always probes every selector.
     */
    readonly stopAtNxdomain?: boolean;
    /**
     * Whether the domain is expected to sign (default true). A domain that receives no mail and
     * whose SPF authorizes no sender is not: finding no key there is only worth an info. Its
     * keys are still probed and checked: a forgotten weak key on a parked domain can be abused.
     */
    readonly expectKey?: boolean;
  },
): Promise<DkimAudit> {
  const findings: Finding[] = [];
  const add = (severity: Finding['severity'], code: string, message: string, rfc: string, fix?: string) =>
    findings.push({ code, severity, area: 'dkim', message, rfc, ...(fix !== undefined && { fix }) });
  const name = domain.toLowerCase().replace(/\.$/, '');
  const given = (options.selectors ?? [])
    .map((s) => s.trim().toLowerCase())
    .filter((s) => /^[a-z0-9_.-]{1,63}$/.test(s));
  const noDomainkey =
    options.stopAtNxdomain === true && (await options.resolver.lookup(`_domainkey.${name}`, 'TXT')).kind === 'nxdomain';
  const selectors = [...new Set([...given, ...(noDomainkey ? [] : COMMON_SELECTORS)])];
  const answers = await Promise.all(
    selectors.map(async (selector) => ({
      selector,
      answer: await options.resolver.lookup(`${selector}._domainkey.${name}`, 'TXT'),
    })),
  );
  const keys: DkimKeyFound[] = [];
  const failed: { selector: string; failure: DnsFailure }[] = [];
  for (const { selector, answer } of answers) {
    const at = `${selector}._domainkey.${name}`;
    if (isFailure(answer)) {
      failed.push({ selector, failure: answer });
      continue;
    }
    if (answer.kind !== 'answer') {
      if (given.includes(selector))
        add(
          'error',
          'dkim-selector-missing',
          `${at}: no key published for the selector you named`,
          `${RFC} §3.6.2`,
          `publish the public key at ${at} (mailward keygen prints the record)`,
        );
      continue;
    }
    // A TXT answer that is not a key (e.g. a wildcard TXT) is not counted as a key.
    const texts = answer.records.map((r) => r.text).filter((t) => /(^|;)\s*(v\s*=\s*DKIM1|p\s*=)/i.test(t));
    if (texts.length === 0) continue;
    if (texts.length > 1) {
      add(
        'error',
        'dkim-multiple-records',
        `${at}: ${texts.length} key records; verifiers may pick either`,
        `${RFC} §3.6.2.2`,
        'keep one key record per selector',
      );
    }
    const parsed = parseKeyRecord(texts[0] as string);
    if (!parsed.ok) {
      keys.push({ selector, problem: parsed.reason });
      add(
        'error',
        'dkim-key-syntax',
        `${at}: ${parsed.reason}`,
        `${RFC} §3.6.1`,
        `publish the record again, as mailward keygen prints it`,
      );
      continue;
    }
    const key = parsed.key;
    keys.push({
      selector,
      type: key.keyType,
      ...(key.bits !== undefined && { bits: key.bits }),
      testing: key.testing,
      revoked: key.revoked,
    });
    if (key.revoked) {
      add('info', 'dkim-key-revoked', `${at}: revoked (empty p=)`, `${RFC} §3.6.1`);
      continue;
    }
    if (key.keyType === 'rsa' && key.bits !== undefined && key.bits < 1024) {
      add(
        'error',
        'dkim-key-too-short',
        `${at}: RSA key of ${key.bits} bits; verifiers must reject keys under 1024 bits`,
        'RFC 8301 §3.2',
        `mailward keygen --domain ${name} (RSA 2048), publish, switch signing, then revoke ${selector}`,
      );
    } else if (key.keyType === 'rsa' && key.bits !== undefined && key.bits < 2048) {
      add(
        'warning',
        'dkim-key-weak',
        `${at}: RSA key of ${key.bits} bits; 2048 is the current norm`,
        'RFC 8301 §3.2',
        `mailward keygen --domain ${name} --bits 2048, then rotate`,
      );
    }
    if (key.testing)
      add(
        'warning',
        'dkim-key-testing',
        `${at}: t=y: verifiers may treat failures as passes`,
        `${RFC} §3.6.1`,
        'remove t=y once signing works',
      );
    if (!key.usableForEmail)
      add(
        'error',
        'dkim-key-not-for-email',
        `${at}: s= does not include email`,
        `${RFC} §3.6.1`,
        'remove s= or set s=email',
      );
    if (!findings.some((f) => f.message.startsWith(`${at}:`))) {
      add('ok', 'dkim-key-ok', `${at}: ${key.keyType}${key.bits === undefined ? '' : ` ${key.bits} bits`}`, RFC);
    }
  }
  const first = failed[0];
  if (first !== undefined) {
    const names = failed.map((f) => f.selector);
    findings.push(
      lookupFailed(
        'dkim',
        'dkim-lookup-failed',
        `the DKIM keys of ${name} at ${failed.length} of ${selectors.length} selectors (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`,
        first.failure,
        `${RFC} §3.6.2`,
      ),
    );
  }
  // Whether a key exists cannot be said while lookups failed.
  if (first === undefined && !keys.some((k) => k.revoked === false && k.problem === undefined)) {
    // The names given with --selectors that are not common ones are "yours", not counted as common.
    const yours = given.filter((g) => !COMMON_SELECTORS.includes(g)).length;
    // Under an NXDOMAIN _domainkey the common names were not asked: nothing exists below it.
    const where = noDomainkey
      ? `(_domainkey.${name} does not exist${yours > 0 ? '; your selectors were asked too' : ''})`
      : `on ${selectors.length - yours} common selectors${yours > 0 ? ' and yours' : ''}`;
    const found = `${keys.length === 0 ? 'no DKIM key found' : `no usable DKIM key (${keys.length} found, revoked or broken)`} for ${name} ${where}`;
    if (options.expectKey === false)
      add(
        'info',
        'dkim-no-key-found',
        `${found}; none is needed while ${name} receives no mail and its SPF authorizes no sender`,
        `${RFC} §3.6.2`,
      );
    else
      add(
        'warning',
        'dkim-no-key-found',
        `${found}; mail without a DKIM signature fails DMARC when forwarded`,
        `${RFC} §3.6.2; RFC 9989 §4.4`,
        `sign outgoing mail: mailward keygen --domain ${name}, publish the record, and sign (or enable DKIM at your mail provider); name your selector with --selectors`,
      );
  }
  return { findings, keys };
}
