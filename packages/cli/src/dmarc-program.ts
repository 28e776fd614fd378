/** Wires `mailward dmarc DOMAIN` into commander. */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { dmarcCommand } from './commands/dmarc.js';
import { verifyCommand } from './commands/verify.js';
import type { DkimProgramEnvironment } from './dkim-program.js';
import { readMessage } from './message-input.js';
import type { DnsCliOptions } from './dkim-program.js';
import { dnsOptions, withDns } from './dkim-program.js';
import { setupResolver } from './resolver-setup.js';
import { readLocalPolicyFile } from '@mailward/adapters';

export function registerDmarcCommands(
  program: Command,
  env: DkimProgramEnvironment & { readonly hostname: string },
  done: (result: CommandResult) => void,
): void {
  withDns(
    program
      .command('verify')
      .description('Authenticate a message as a receiver: SPF, DKIM, ARC and DMARC, with the header fields to add')
      .argument('[message]', 'message file (default: stdin)')
      .requiredOption('--ip <address>', 'SMTP client IP address')
      .requiredOption('--mail-from <address>', "MAIL FROM address; '' is the null reverse-path")
      .option('--helo <name>', 'HELO/EHLO name')
      .addOption(
        new Option('--authserv-id <id>', 'authserv-id for Authentication-Results').default(
          env.hostname,
          'this host name',
        ),
      )
      .option('--json', 'print a JSON object instead of text', false)
      .addOption(new Option('--mode <mode>', 'DMARC rules').choices(['rfc9989', 'rfc7489']).default('rfc9989'))
      .addOption(
        new Option('--multiple-from <how>', 'a From with several domains: exempt (RFC 9989) or strictest')
          .choices(['exempt', 'strictest'])
          .default('exempt'),
      )
      .option(
        '--local-policy <file>',
        'YAML or JSON rules for DMARC failures: trusted forwarders, mailing lists, trusted ARC sealers, actions',
      ),
  ).action(
    async (
      file: string | undefined,
      options: DnsCliOptions & {
        ip: string;
        mailFrom: string;
        helo?: string;
        authservId: string;
        json: boolean;
        mode: 'rfc9989' | 'rfc7489';
        multipleFrom: 'exempt' | 'strictest';
        localPolicy?: string;
      },
    ) => {
      const setup = await setupResolver(dnsOptions(options));
      if (!setup.ok) return done(setup.usage ? usageError('verify', setup.reason) : runError('verify', setup.reason));
      const localPolicy =
        options.localPolicy === undefined ? undefined : await readLocalPolicyFile(options.localPolicy);
      if (localPolicy !== undefined && !localPolicy.ok) return done(usageError('verify', localPolicy.reason));
      const message = await readMessage(file, env.readStdin);
      if (!message.ok) return done(runError('verify', message.reason));
      done(
        await verifyCommand(
          {
            message: message.bytes,
            ip: options.ip,
            mailFrom: options.mailFrom,
            ...(options.helo === undefined ? {} : { helo: options.helo }),
            authservId: options.authservId,
            json: options.json,
            mode: options.mode,
            multipleFromDomains: options.multipleFrom,
            ...(localPolicy === undefined ? {} : { localPolicy: localPolicy.policy }),
          },
          { resolver: setup.resolver, clock: Date },
        ),
      );
    },
  );

  withDns(
    program
      .command('dmarc')
      .description('Discover and explain the DMARC policy that applies to mail from a domain')
      .argument('<domain>', 'the author (From) domain')
      .option('--json', 'print a JSON object instead of text', false)
      .addOption(new Option('--mode <mode>', 'discovery rules').choices(['rfc9989', 'rfc7489']).default('rfc9989')),
  ).action(async (domain: string, options: DnsCliOptions & { json: boolean; mode: 'rfc9989' | 'rfc7489' }) => {
    const setup = await setupResolver(dnsOptions(options));
    if (!setup.ok) return done(setup.usage ? usageError('dmarc', setup.reason) : runError('dmarc', setup.reason));
    done(await dmarcCommand({ domain, json: options.json, mode: options.mode }, { resolver: setup.resolver }));
  });
}
