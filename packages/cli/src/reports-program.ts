/** Wires `mailward reports ...` into commander; each action opens the store, runs, closes it. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ReportStore } from '@mailward/reports';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { demoCommand, exportCommand, ingestCommand, parseSince, summaryCommand } from './commands/reports.js';
import { DEFAULT_STORE, openStore } from './store-setup.js';
import { receiveCommand } from './commands/reports-receive.js';
import { OfflineIpDatabase, readFileLimited } from '@mailward/adapters';
import { enrichCommand } from './commands/reports-enrich.js';
import type { DnsCliOptions } from './dkim-program.js';
import { dnsOptions, withDns } from './dkim-program.js';
import { setupResolver } from './resolver-setup.js';

async function withStore(
  command: string,
  spec: string,
  run: (store: ReportStore, description: string) => Promise<CommandResult>,
): Promise<CommandResult> {
  const setup = await openStore(spec);
  if (!setup.ok) return setup.usage ? usageError(command, setup.reason) : runError(command, setup.reason);
  try {
    return await run(setup.store, setup.description);
  } finally {
    await setup.store.close();
  }
}

function filterOf(command: string, options: { domain?: string; since?: string }) {
  const since = options.since === undefined ? undefined : parseSince(options.since);
  if (options.since !== undefined && since === undefined) {
    return { error: usageError(command, `--since ${JSON.stringify(options.since)}: expected YYYY-MM-DD`) };
  }
  return {
    filter: {
      ...(options.domain === undefined ? {} : { domain: options.domain.toLowerCase() }),
      ...(since === undefined ? {} : { since }),
    },
  };
}

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
  const storeOption = () =>
    new Option('--store <spec>', 'report store: sqlite:PATH or postgres://...[?schema=NAME]').default(DEFAULT_STORE);

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
    .option('--keep-failure-bodies', 'keep the body of messages in failure reports (default: headers only)', false)
    .option('--json', 'print the counts as JSON', false)
    .option('--watch', 'IMAP: keep running, waiting for new reports (IDLE), until interrupted', false)
    .action(
      async (
        inputs: string[],
        options: { store: string; keepFailureBodies: boolean; json: boolean; watch: boolean },
      ) => {
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
      await withStore('reports enrich', options.store, (store) =>
        enrichCommand(
          { concurrency: options.concurrency, json: options.json },
          { store, resolver: setup.resolver, ipDatabase: new OfflineIpDatabase(), now: Date.now },
        ),
      ),
    );
  });

  reports
    .command('summary')
    .description('Summarise stored aggregate reports: volume, pass rates, top sources, readiness for p=reject')
    .addOption(storeOption())
    .option('--domain <domain>', 'only reports for this policy domain')
    .option('--since <date>', 'only reports ending on or after this date (YYYY-MM-DD)')
    .option('--json', 'print JSON', false)
    .action(async (options: { store: string; domain?: string; since?: string; json: boolean }) => {
      const filter = filterOf('reports summary', options);
      if ('error' in filter) return done(filter.error as CommandResult);
      done(
        await withStore('reports summary', options.store, (store) =>
          summaryCommand({ filter: filter.filter, json: options.json }, store),
        ),
      );
    });

  reports
    .command('export')
    .description('Print every stored aggregate record with its report, as CSV or JSON lines')
    .addOption(storeOption())
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .option('--domain <domain>', 'only reports for this policy domain')
    .option('--since <date>', 'only reports ending on or after this date (YYYY-MM-DD)')
    .action(async (options: { store: string; format: 'csv' | 'json'; domain?: string; since?: string }) => {
      const filter = filterOf('reports export', options);
      if ('error' in filter) return done(filter.error as CommandResult);
      done(
        await withStore('reports export', options.store, (store) =>
          exportCommand({ filter: filter.filter, format: options.format }, store),
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
      const directory = options.dir ?? (await mkdtemp(join(tmpdir(), 'mailward-demo-')));
      done(
        await withStore('reports demo', options.store, (store, description) =>
          demoCommand(
            { directory, now: Math.floor(Date.now() / 1000), json: options.json },
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
    });
}
