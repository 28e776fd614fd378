/** Wires `mailward dmarc DOMAIN` into commander. */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { dmarcCommand } from './commands/dmarc.js';
import type { DnsCliOptions } from './dkim-program.js';
import { dnsOptions, withDns } from './dkim-program.js';
import { setupResolver } from './resolver-setup.js';

export function registerDmarcCommands(program: Command, done: (result: CommandResult) => void): void {
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
