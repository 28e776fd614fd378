/** Wires `mailward arc verify|seal` into commander. ARC is being moved to Historic: keep it removable. */
import type { Command } from 'commander';
import { readPrivateKeyFile } from '@mailward/adapters';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { arcSealCommand } from './commands/arc-seal.js';
import { arcVerifyCommand } from './commands/arc-verify.js';
import type { DkimProgramEnvironment } from './dkim-program.js';
import { dnsOptions, headerList, withDns } from './dkim-program.js';
import type { DnsCliOptions } from './dkim-program.js';
import { readMessage } from './message-input.js';
import { setupResolver } from './resolver-setup.js';

export function registerArcCommands(
  program: Command,
  env: DkimProgramEnvironment,
  done: (result: CommandResult) => void,
): void {
  const arc = program.command('arc').description('ARC (RFC 8617): validate and seal Authenticated Received Chains');

  withDns(
    arc
      .command('verify')
      .description('Validate the ARC chain of a message (file or stdin); exit 0 when the check ran')
      .argument('[message]', 'message file (default: stdin)')
      .option('--json', 'print a JSON object instead of text', false),
  ).action(async (file: string | undefined, options: DnsCliOptions & { json: boolean }) => {
    const setup = await setupResolver(dnsOptions(options));
    if (!setup.ok)
      return done(setup.usage ? usageError('arc verify', setup.reason) : runError('arc verify', setup.reason));
    const message = await readMessage(file, env.readStdin);
    if (!message.ok) return done(runError('arc verify', message.reason));
    done(
      await arcVerifyCommand({ message: message.bytes, json: options.json }, { resolver: setup.resolver, clock: Date }),
    );
  });

  withDns(
    arc
      .command('seal')
      .description("Validate the incoming chain and add this hop's ARC set; writes the message to stdout")
      .argument('[message]', 'message file (default: stdin)')
      .requiredOption('--key <file>', 'private key file (PEM)')
      .requiredOption('--domain <domain>', 'sealing domain (d=)')
      .requiredOption('--selector <name>', 'selector (s=)')
      .requiredOption('--authserv-id <id>', "this hop's authserv-id; its Authentication-Results fields become the AAR")
      .option('--auth-results <text>', 'the AAR payload instead ("authserv-id; method=result ...")')
      .option('--headers <list>', 'comma-separated header fields for the ARC-Message-Signature'),
  ).action(
    async (
      file: string | undefined,
      options: DnsCliOptions & {
        key: string;
        domain: string;
        selector: string;
        authservId: string;
        authResults?: string;
        headers?: string;
      },
    ) => {
      const setup = await setupResolver(dnsOptions(options));
      if (!setup.ok)
        return done(setup.usage ? usageError('arc seal', setup.reason) : runError('arc seal', setup.reason));
      const key = await readPrivateKeyFile(options.key);
      if (!key.ok) return done(runError('arc seal', key.reason));
      const message = await readMessage(file, env.readStdin);
      if (!message.ok) return done(runError('arc seal', message.reason));
      done(
        await arcSealCommand(
          {
            message: message.bytes,
            domain: options.domain,
            selector: options.selector,
            privateKey: key.key,
            authservId: options.authservId,
            ...(options.authResults === undefined ? {} : { authResults: options.authResults }),
            ...(options.headers === undefined ? {} : { headers: headerList(options.headers) }),
          },
          { resolver: setup.resolver, clock: Date },
        ),
      );
    },
  );
}
