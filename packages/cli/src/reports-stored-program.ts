/** `mailward reports aggregate|failures|tls|quarantine list|show`: what the store holds, read-only. */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { CommandResult } from './commands/result.js';
import type { StoredKind } from './commands/reports-lists.js';
import { listCommand, showCommand } from './commands/reports-lists.js';
import type { FilterOptions } from './reports-options.js';
import { countOf, filterOf, filterOptions, READING, storeOption, withStore } from './reports-options.js';

export function registerStoredCommands(reports: Command, done: (result: CommandResult) => void): void {
  const stored: readonly { kind: StoredKind; what: string; description: string }[] = [
    {
      kind: 'aggregate',
      what: 'aggregate reports',
      description: 'Aggregate reports in the store, with what parsing had to repair or overlook',
    },
    { kind: 'failures', what: 'failure reports', description: 'Failure reports (RFC 6591 / RFC 9991) in the store' },
    { kind: 'tls', what: 'SMTP TLS reports', description: 'SMTP TLS reports (RFC 8460) in the store' },
    {
      kind: 'quarantine',
      what: 'quarantined inputs',
      description: 'Inputs that could not be read as reports, kept with the reason',
    },
  ];
  for (const { kind, what, description } of stored) {
    const group = reports.command(kind).description(description);
    const list = filterOptions(
      group.command('list', { isDefault: true }).description(`List ${what}, newest first`).addOption(storeOption()),
      what,
    );
    if (kind === 'aggregate')
      list.option('--with-warnings', 'only reports parsed with a warning (repaired, refused parts)', false);
    list
      .addOption(new Option('--limit <n>', 'at most this many').argParser(countOf('--limit', 100_000)).default(50))
      .addOption(
        new Option('--offset <n>', 'skip this many first')
          .argParser(countOf('--offset', Number.MAX_SAFE_INTEGER))
          .default(0),
      )
      .option('--json', 'print JSON', false)
      .action(
        async (
          options: FilterOptions & {
            store: string;
            limit: number;
            offset: number;
            json: boolean;
            withWarnings?: boolean;
          },
        ) => {
          const filter = filterOf(`reports ${kind} list`, options);
          if ('error' in filter) return done(filter.error);
          done(
            await withStore(
              `reports ${kind} list`,
              options.store,
              (store) =>
                listCommand(
                  {
                    kind,
                    filter: filter.filter,
                    page: { limit: options.limit, offset: options.offset },
                    json: options.json,
                    withWarnings: options.withWarnings === true,
                  },
                  store,
                ),
              READING,
            ),
          );
        },
      );
    const show = group
      .command('show')
      .description(`Show one of the ${what} in full`)
      .argument('<id>', 'its ID, from the list', countOf('<id>', Number.MAX_SAFE_INTEGER))
      .addOption(storeOption())
      .option('--json', 'print JSON', false);
    if (kind === 'quarantine')
      show.option('--raw', 'write the bytes exactly as they arrived (redirect to a file)', false);
    show.action(async (id: number, options: { store: string; json: boolean; raw?: boolean }) => {
      done(
        await withStore(
          `reports ${kind} show`,
          options.store,
          (store) =>
            showCommand({ kind, id, json: options.json, raw: options.raw === true, storeSpec: options.store }, store),
          READING,
        ),
      );
    });
  }
}
