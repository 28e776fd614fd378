/** Wires `mailward keygen` and `mailward dkim sign|verify|key-check` into commander. */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { readPrivateKeyFile, writePrivateKeyFile } from '@mailward/adapters';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { dkimKeyCheckCommand } from './commands/dkim-key-check.js';
import type { DkimSignTarget } from './commands/dkim-sign.js';
import { dkimSignCommand } from './commands/dkim-sign.js';
import { dkimVerifyCommand } from './commands/dkim-verify.js';
import { keygenCommand } from './commands/keygen.js';
import { readMessage } from './message-input.js';
import { setupResolver } from './resolver-setup.js';

export interface DkimProgramEnvironment {
  /** Reads stdin whole; undefined when it is longer than maxBytes. */
  readonly readStdin: (maxBytes: number) => Promise<Uint8Array | undefined>;
}

type Done = (result: CommandResult) => void;

export interface DnsCliOptions {
  dns: string[];
  dnsFixture?: string;
  dnsTimeout?: number;
}

export function registerDkimCommands(program: Command, env: DkimProgramEnvironment, done: Done): void {
  program
    .command('keygen')
    .description('Generate a DKIM key pair: write the private key (mode 0600) and print the DNS record to publish')
    .requiredOption('--domain <domain>', 'the signing domain (d=)')
    .option('--selector <name>', 'selector (default: type and date, e.g. rsa-20261128)')
    .addOption(new Option('--type <type>', 'key type').choices(['rsa', 'ed25519']).default('rsa'))
    .addOption(new Option('--bits <n>', 'RSA key size (1024-4096)').argParser(positiveInt).default(2048))
    .option('--out <file>', 'private key file (default: <selector>.<domain>.pem; never overwritten)')
    .option('--testing', 'publish with t=y (testing mode)', false)
    .option('--json', 'print a JSON object instead of text', false)
    .action(
      async (options: {
        domain: string;
        selector?: string;
        type: string;
        bits: number;
        out?: string;
        testing: boolean;
        json: boolean;
      }) => {
        done(
          await keygenCommand(
            {
              domain: options.domain,
              type: options.type,
              bits: options.bits,
              testing: options.testing,
              json: options.json,
              ...(options.selector === undefined ? {} : { selector: options.selector }),
              ...(options.out === undefined ? {} : { out: options.out }),
            },
            { clock: Date, writeKeyFile: writePrivateKeyFile },
          ),
        );
      },
    );

  const dkim = program.command('dkim').description('DKIM signing, verification and key checks (RFC 6376, 8301, 8463)');

  withDns(
    dkim
      .command('verify')
      .description('Verify every DKIM-Signature of a message (file or stdin); exit 0 when the check ran')
      .argument('[message]', 'message file (default: stdin)')
      .option('--json', 'print a JSON object instead of text', false)
      .addOption(new Option('--min-rsa-bits <n>', 'smallest RSA key accepted (at least 1024)').argParser(positiveInt))
      .addOption(
        new Option('--unsigned-body <mode>', 'content after l=: flag it, or give policy')
          .choices(['flag', 'policy'])
          .default('flag'),
      ),
  ).action(
    async (
      file: string | undefined,
      options: DnsCliOptions & { json: boolean; minRsaBits?: number; unsignedBody: 'flag' | 'policy' },
    ) => {
      if (options.minRsaBits !== undefined && options.minRsaBits < 1024) {
        return done(usageError('dkim verify', '--min-rsa-bits cannot be under 1024 (RFC 8301 §3.2)'));
      }
      const setup = await setupResolver(dnsOptions(options));
      if (!setup.ok)
        return done(setup.usage ? usageError('dkim verify', setup.reason) : runError('dkim verify', setup.reason));
      const message = await readMessage(file, env.readStdin);
      if (!message.ok) return done(runError('dkim verify', message.reason));
      done(
        await dkimVerifyCommand(
          {
            message: message.bytes,
            json: options.json,
            unsignedBody: options.unsignedBody,
            ...(options.minRsaBits === undefined ? {} : { minRsaBits: options.minRsaBits }),
          },
          { resolver: setup.resolver, clock: Date },
        ),
      );
    },
  );

  dkim
    .command('sign')
    .description('Sign a message (file or stdin) and write it with its DKIM-Signature(s) to stdout')
    .argument('[message]', 'message file (default: stdin)')
    .option('--key <file>', 'private key file (PEM)')
    .option('--domain <domain>', 'signing domain (d=)')
    .option('--selector <name>', 'selector (s=)')
    .option(
      '--sign <domain:selector:keyfile>',
      'one more signature (repeatable), e.g. example.com:ed-20261128:ed.pem',
      collect,
      [],
    )
    .option('--canonicalization <c>', 'header/body canonicalization', 'relaxed/relaxed')
    .option('--algorithm <a>', 'rsa-sha256 or ed25519-sha256 (default: from the key type)')
    .option('--headers <list>', 'comma-separated header fields to sign (default: the usual list)')
    .option('--no-oversign', 'do not list From, To, Subject, ... one extra time in h=')
    .option('--identity <i>', 'the i= tag (an address or @domain at or below d=)')
    .option('--timestamp', 'add t= (signing time)', false)
    .addOption(new Option('--expire <seconds>', 'add t= and x= this many seconds later').argParser(positiveInt))
    .option('--body-length', 'add l= (lets others append content: avoid unless needed)', false)
    .action(
      async (
        file: string | undefined,
        options: {
          key?: string;
          domain?: string;
          selector?: string;
          sign: string[];
          canonicalization: string;
          algorithm?: string;
          headers?: string;
          oversign: boolean;
          identity?: string;
          timestamp: boolean;
          expire?: number;
          bodyLength: boolean;
        },
      ) => {
        const wanted: { domain: string; selector: string; keyFile: string }[] = [];
        const simple = [options.key, options.domain, options.selector];
        if (simple.some((v) => v !== undefined)) {
          if (simple.some((v) => v === undefined)) {
            return done(usageError('dkim sign', '--key, --domain and --selector go together'));
          }
          wanted.push({ domain: options.domain!, selector: options.selector!, keyFile: options.key! });
        }
        for (const spec of options.sign) {
          const [domain, selector, ...rest] = spec.split(':');
          const keyFile = rest.join(':');
          if (!domain || !selector || !keyFile)
            return done(usageError('dkim sign', `--sign ${JSON.stringify(spec)}: use DOMAIN:SELECTOR:KEYFILE`));
          wanted.push({ domain, selector, keyFile });
        }
        if (wanted.length === 0)
          return done(
            usageError('dkim sign', 'give --key, --domain and --selector (or --sign DOMAIN:SELECTOR:KEYFILE)'),
          );
        const targets: DkimSignTarget[] = [];
        for (const target of wanted) {
          const key = await readPrivateKeyFile(target.keyFile);
          if (!key.ok) return done(runError('dkim sign', key.reason));
          targets.push({ domain: target.domain, selector: target.selector, privateKey: key.key });
        }
        const message = await readMessage(file, env.readStdin);
        if (!message.ok) return done(runError('dkim sign', message.reason));
        done(
          dkimSignCommand(
            {
              message: message.bytes,
              targets,
              canonicalization: options.canonicalization,
              oversign: options.oversign,
              timestamp: options.timestamp,
              bodyLength: options.bodyLength,
              ...(options.algorithm === undefined ? {} : { algorithm: options.algorithm }),
              ...(options.headers === undefined ? {} : { headers: headerList(options.headers) }),
              ...(options.identity === undefined ? {} : { identity: options.identity }),
              ...(options.expire === undefined ? {} : { expireSeconds: options.expire }),
            },
            { clock: Date },
          ),
        );
      },
    );

  withDns(
    dkim
      .command('key-check')
      .description('Check that the key published in DNS matches a private key; exit 0 when it does')
      .requiredOption('--domain <domain>', 'signing domain (d=)')
      .requiredOption('--selector <name>', 'selector (s=)')
      .requiredOption('--key <file>', 'private key file (PEM)')
      .option('--json', 'print a JSON object instead of text', false)
      .addHelpText(
        'after',
        `
Exit codes:
  0  the published key matches the private key
  1  it does not, or no usable key is published there
  3  the DNS lookup failed (the server and the failure are named): the key could not be checked`,
      ),
  ).action(async (options: DnsCliOptions & { domain: string; selector: string; key: string; json: boolean }) => {
    const setup = await setupResolver(dnsOptions(options));
    if (!setup.ok)
      return done(setup.usage ? usageError('dkim key-check', setup.reason) : runError('dkim key-check', setup.reason));
    const key = await readPrivateKeyFile(options.key);
    if (!key.ok) return done(runError('dkim key-check', key.reason));
    done(
      await dkimKeyCheckCommand(
        {
          domain: options.domain,
          selector: options.selector,
          privateKey: key.key,
          keyFile: options.key,
          json: options.json,
        },
        { resolver: setup.resolver },
      ),
    );
  });
}

/** A comma-separated --headers value as a list of names. */
export function headerList(text: string): string[] {
  return text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * `--dns`, repeatable. The default is described, not shown: commander would print the empty list
 * as `(default: [])` after a text that already names the real default.
 */
export function dnsServerOption(): Option {
  return new Option('--dns <host[:port]>', 'DNS server to ask (repeatable)')
    .argParser(collect)
    .default([], 'the system resolv.conf');
}

export function withDns(command: Command): Command {
  return command
    .addOption(dnsServerOption())
    .option('--dns-fixture <file>', 'answer DNS from a zone fixture file (YAML/JSON, see docs/dns-fixture.md)')
    .addOption(new Option('--dns-timeout <ms>', 'timeout of one DNS attempt').argParser(positiveInt));
}

export function dnsOptions(options: DnsCliOptions): { dns: string[]; dnsFixture?: string; dnsTimeoutMs?: number } {
  return {
    dns: options.dns,
    ...(options.dnsFixture === undefined ? {} : { dnsFixture: options.dnsFixture }),
    ...(options.dnsTimeout === undefined ? {} : { dnsTimeoutMs: options.dnsTimeout }),
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}
