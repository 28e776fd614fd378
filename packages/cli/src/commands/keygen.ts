import type { Clock, DkimKeyType } from '@mailward/core';
import { datedSelector, dkimKeyRecord, generateDkimKey, splitTxtValue, zoneFileRecord } from '@mailward/core';
import type { KeyFileWrite } from '@mailward/adapters';
import { mailDomainOf } from './mail-domain.js';
import type { CommandResult } from './result.js';
import { runError, usageError } from './result.js';

export interface KeygenArgs {
  readonly domain: string;
  readonly selector?: string;
  readonly type: string;
  readonly bits: number;
  /** Where to write the private key; default `<selector>.<domain>.pem` in the current directory. */
  readonly out?: string;
  readonly testing: boolean;
  readonly json: boolean;
}

export interface KeygenDeps {
  readonly clock: Clock;
  readonly writeKeyFile: (path: string, pem: string) => Promise<KeyFileWrite>;
}

const SELECTOR = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;

/**
 * A selector name for a new key when `taken` is in use: the dated one (ed-20261201), or with a
 * letter after it when that is the one taken (ed-20261201b, then c...).
 */
export function newSelectorName(taken: string, dated: string): string {
  if (taken !== dated && !taken.startsWith(`${dated}`)) return dated;
  const letter = /^(.*\d)([a-y])$/.exec(taken);
  if (letter !== null) return `${letter[1]}${String.fromCharCode((letter[2] as string).charCodeAt(0) + 1)}`;
  return `${taken}b`;
}

/** `mailward keygen`: writes a new private key (0600, never over a file) and prints the record to publish. */
export async function keygenCommand(args: KeygenArgs, deps: KeygenDeps): Promise<CommandResult> {
  if (args.type !== 'rsa' && args.type !== 'ed25519')
    return usageError('keygen', `--type ${args.type}: use rsa or ed25519`);
  const type: DkimKeyType = args.type;
  const checked = mailDomainOf(args.domain);
  if ('reason' in checked) return usageError('keygen', `--domain ${JSON.stringify(args.domain)}: ${checked.reason}`);
  const domain = checked.domain;
  const selector = args.selector ?? datedSelector(type, deps.clock);
  if (!SELECTOR.test(selector))
    return usageError('keygen', `--selector ${JSON.stringify(selector)} is not a valid selector`);
  let key;
  try {
    key = generateDkimKey(type, type === 'rsa' ? args.bits : 256);
  } catch (error) {
    if (error instanceof RangeError) return usageError('keygen', error.message);
    throw error;
  }
  const path = args.out ?? `${selector}.${domain}.pem`;
  const written = await deps.writeKeyFile(path, key.privateKeyPem);
  if (!written.ok && written.exists === true && args.out === undefined) {
    // The default file is named after the selector: a key for this selector was made before.
    // A new key needs a new selector (the old one stays published until signing has switched).
    const suggestion = newSelectorName(selector, datedSelector(type, deps.clock));
    return runError(
      'keygen',
      `${path} already exists (a key for selector ${selector} was made before); it was left unchanged. For a new key, choose a new selector: --selector ${suggestion}`,
    );
  }
  if (!written.ok) return runError('keygen', written.reason);

  const name = `${selector}._domainkey.${domain}`;
  const value = dkimKeyRecord(key.publicKey, { testing: args.testing });
  const strings = splitTxtValue(value);
  if (args.json) {
    const body = {
      domain,
      selector,
      type,
      bits: key.bits,
      keyFile: path,
      record: { name, type: 'TXT', value, strings },
    };
    return { exitCode: 0, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: '' };
  }
  const text = [
    `Private key (${type === 'rsa' ? `RSA ${key.bits} bits` : 'Ed25519'}) written to ${path} (mode 0600). Keep it secret.`,
    '',
    `Publish this TXT record (${strings.length} string${strings.length === 1 ? '' : 's'} of at most 255 octets):`,
    '',
    zoneFileRecord(name, value),
    '',
    'Next steps:',
    `  1. Publish the record, then check it:  mailward dkim key-check --domain ${domain} --selector ${selector} --key ${path}`,
    `  2. Sign with it:  mailward dkim sign --key ${path} --domain ${domain} --selector ${selector} < message.eml`,
    '  3. Keep the previous selector published for 7 days after switching, then revoke it (publish "v=DKIM1; p=").',
  ];
  return { exitCode: 0, stdout: `${text.join('\n')}\n`, stderr: '' };
}
