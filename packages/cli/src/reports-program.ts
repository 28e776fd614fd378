/** Wires `mailward reports ...` into commander; each action opens the store, runs, closes it. */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { DEFAULT_DATA_MINIMUM } from '@mailward/reports';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { demoCommand, exportCommand, ingestCommand, summaryCommand } from './commands/reports.js';
import { receiveCommand } from './commands/reports-receive.js';
import { OfflineIpDatabase, readFileLimited } from '@mailward/adapters';
import { enrichCommand } from './commands/reports-enrich.js';
import type { DnsCliOptions } from './dkim-program.js';
import { dnsOptions, withDns } from './dkim-program.js';
import { setupResolver } from './resolver-setup.js';
import type { FilterOptions } from './reports-options.js';
import {
  countOf,
  EXISTING,
  filterOf,
  filterOptions,
  localPathOf,
  READING,
  storeOption,
  withStore,
} from './reports-options.js';
import { registerStoredCommands } from './reports-stored-program.js';
import { registerVerdictsCommand } from './commands/reports-verdicts.js';

export function registerReportsCommands(
  program: Command,
  env: {
    readonly imapPassword?: string | undefined;
    readonly progress?: (line: string) => void;
    readonly stopSignal?: AbortSignal;
  },
  done: (result: CommandResult) => void,
): void {
  const reports = program
    .command('reports')
    .description('DMARC aggregate, failure and SMTP TLS reports: ingest, summarise, export');

  reports
    .command('ingest')
    .description(
      'Read reports from files or directories (recursive), mbox:FILE, maildir:DIR or an IMAP folder and store them',
    )
    .argument(
      '<inputs...>',
      'file, directory, mbox:FILE, maildir:DIR or imap[s]://USER@HOST[:PORT]/FOLDER[?archive=A&invalid=I]',
    )
    .addOption(storeOption())
    .option('--keep-failure-bodies', 'keep the body of messages in failure reports, not only their header', false)
    .option('--json', 'print the counts as JSON', false)
    .option('--watch', 'IMAP: keep running, waiting for new reports (IDLE), until interrupted', false)
    .action(
      async (
        inputs: string[],
        options: { store: string; keepFailureBodies: boolean; json: boolean; watch: boolean },
      ) => {
        // A mistyped input is found before the store is opened (and perhaps created empty).
        const missing = inputs.map(localPathOf).find((path) => path !== undefined && !existsSync(path));
        if (missing !== undefined) {
          return done(runError('reports ingest', `${missing}: no such file or directory (check the path)`));
        }
        done(
          await withStore('reports ingest', options.store, (store) =>
            ingestCommand(
              { inputs, keepFailureBodies: options.keepFailureBodies, json: options.json, watch: options.watch },
              store,
              {
                imapPassword: env.imapPassword,
                ...(env.progress === undefined ? {} : { progress: env.progress }),
                ...(env.stopSignal === undefined ? {} : { stop: env.stopSignal }),
              },
            ),
          ),
        );
      },
    );

  reports
    .command('receive')
    .description('Receive reports: an SMTP server for report mail and/or an HTTPS endpoint for TLS reports (RFC 8460)')
    .addOption(storeOption())
    .option('--smtp <[host:]port>', 'listen for SMTP (e.g. 25 or 127.0.0.1:2525)')
    .option('--https <[host:]port>', 'listen for TLS-RPT POSTs')
    .option(
      '--address <address>',
      'report address accepted by the SMTP receiver (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--tls-cert <file>', 'PEM certificate: STARTTLS for SMTP, TLS for HTTPS')
    .option('--tls-key <file>', 'PEM private key of the certificate')
    .option('--plain-http', 'serve TLS-RPT over plain HTTP (only behind a proxy that terminates TLS)', false)
    .action(
      async (options: {
        store: string;
        smtp?: string;
        https?: string;
        address: string[];
        tlsCert?: string;
        tlsKey?: string;
        plainHttp: boolean;
      }) => {
        if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
          return done(usageError('reports receive', '--tls-cert and --tls-key go together'));
        }
        let tls: { cert: Uint8Array; key: Uint8Array } | undefined;
        if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
          const [cert, key] = await Promise.all([
            readFileLimited(options.tlsCert, 1 << 20),
            readFileLimited(options.tlsKey, 1 << 20),
          ]);
          if (!cert.ok) return done(usageError('reports receive', cert.reason));
          if (!key.ok) return done(usageError('reports receive', key.reason));
          tls = { cert: cert.bytes, key: key.bytes };
        }
        done(
          await withStore('reports receive', options.store, (store) =>
            receiveCommand(
              {
                ...(options.smtp === undefined ? {} : { smtp: options.smtp }),
                ...(options.https === undefined ? {} : { https: options.https }),
                addresses: options.address,
                ...(tls === undefined ? {} : { tls }),
                plainHttp: options.plainHttp,
              },
              store,
              {
                ...(env.progress === undefined ? {} : { progress: env.progress }),
                ...(env.stopSignal === undefined ? {} : { stop: env.stopSignal }),
              },
            ),
          ),
        );
      },
    );

  withDns(
    reports
      .command('enrich')
      .description(
        'Look up the source addresses of stored reports: reverse DNS (forward-confirmed), AS and country (offline database)',
      )
      .addOption(storeOption())
      .addOption(
        new Option('--concurrency <n>', 'lookups at once')
          .default(16)
          .argParser((v) => Math.max(1, Math.min(256, Number(v) || 16))),
      )
      .option('--json', 'print the counts as JSON', false),
  ).action(async (options: DnsCliOptions & { store: string; concurrency: number; json: boolean }) => {
    const setup = await setupResolver(dnsOptions(options));
    if (!setup.ok)
      return done(setup.usage ? usageError('reports enrich', setup.reason) : runError('reports enrich', setup.reason));
    done(
      await withStore(
        'reports enrich',
        options.store,
        (store) =>
          enrichCommand(
            { concurrency: options.concurrency, json: options.json },
            { store, resolver: setup.resolver, ipDatabase: new OfflineIpDatabase(), now: Date.now },
          ),
        EXISTING,
      ),
    );
  });

  filterOptions(
    reports
      .command('summary')
      .description('Summarise stored aggregate reports: volume, pass rates, top sources, readiness for p=reject')
      .addOption(storeOption()),
    'reports',
  )
    .addOption(
      new Option('--min-days <n>', 'readiness: UTC days with report data needed before judging')
        .argParser(countOf('--min-days', 3660))
        .default(DEFAULT_DATA_MINIMUM.days),
    )
    .addOption(
      new Option('--min-messages <n>', 'readiness: messages needed before judging')
        .argParser(countOf('--min-messages', Number.MAX_SAFE_INTEGER))
        .default(DEFAULT_DATA_MINIMUM.messages),
    )
    .addOption(
      new Option('--min-reporters <n>', 'readiness: reporting organisations needed before judging')
        .argParser(countOf('--min-reporters', 100_000))
        .default(DEFAULT_DATA_MINIMUM.reporters),
    )
    .option('--json', 'print JSON', false)
    .action(
      async (
        options: FilterOptions & {
          store: string;
          json: boolean;
          minDays: number;
          minMessages: number;
          minReporters: number;
        },
      ) => {
        const filter = filterOf('reports summary', options);
        if ('error' in filter) return done(filter.error);
        const minimum = { days: options.minDays, messages: options.minMessages, reporters: options.minReporters };
        done(
          await withStore(
            'reports summary',
            options.store,
            (store) => summaryCommand({ filter: filter.filter, json: options.json, minimum }, store),
            READING,
          ),
        );
      },
    );

  filterOptions(
    reports
      .command('export')
      .description(
        'Print every stored aggregate record with its report, DKIM and SPF results and enrichment, as CSV or JSON lines',
      )
      .addOption(storeOption())
      .addOption(
        new Option('--format <format>', 'csv, or json (JSON Lines: one object per line)')
          .choices(['csv', 'json'])
          .default('csv'),
      ),
    'reports',
  ).action(async (options: FilterOptions & { store: string; format: 'csv' | 'json' }) => {
    const filter = filterOf('reports export', options);
    if ('error' in filter) return done(filter.error);
    done(
      await withStore(
        'reports export',
        options.store,
        (store) => exportCommand({ filter: filter.filter, format: options.format }, store),
        READING,
      ),
    );
  });

  registerStoredCommands(reports, done);
  registerVerdictsCommand(reports, done);

  reports
    .command('upgrade')
    .description("Upgrade a store's schema to this version of mailward (reading commands open it read-only and do not)")
    .addOption(storeOption())
    .action(async (options: { store: string }) => {
      done(
        await withStore(
          'reports upgrade',
          options.store,
          async (_store, description) => ({
            exitCode: 0,
            stdout: `${description} is at the current schema version\n`,
            stderr: '',
          }),
          EXISTING,
        ),
      );
    });

  reports
    .command('demo')
    .description('Generate a week of realistic demo reports for example.com, ingest them and print the summary')
    .addOption(
      new Option('--store <spec>', 'report store: sqlite:PATH or postgres://...[?schema=NAME]').default(
        'sqlite:mailward-demo.db',
      ),
    )
    .option('--dir <directory>', 'where to write the demo report files (default: a new temporary directory)')
    .option('--json', 'print the summary as JSON', false)
    .action(async (options: { store: string; dir?: string; json: boolean }) => {
      // A directory we made is removed after the ingest (the reports are in the store then); one
      // the user named is theirs to keep.
      const madeDirectory = options.dir === undefined ? await mkdtemp(join(tmpdir(), 'mailward-demo-')) : undefined;
      const directory = options.dir ?? (madeDirectory as string);
      try {
        done(
          await withStore('reports demo', options.store, (store, description) =>
            demoCommand(
              { directory, now: Math.floor(Date.now() / 1000), json: options.json, kept: madeDirectory === undefined },
              {
                store,
                storeDescription: description,
                writeFiles: async (dir, files) => {
                  await mkdir(dir, { recursive: true });
                  for (const file of files) await writeFile(join(dir, file.name), file.bytes);
                },
              },
            ),
          ),
        );
      } finally {
        if (madeDirectory !== undefined) await rm(madeDirectory, { recursive: true, force: true });
      }
    });
}
