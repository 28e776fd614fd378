import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { CommandResult } from './commands/result.js';
import { spfCommand } from './commands/spf.js';
import { setupResolver } from './resolver-setup.js';
import type { DkimProgramEnvironment } from './dkim-program.js';
import { registerDkimCommands } from './dkim-program.js';
import { registerArcCommands } from './arc-program.js';
import { registerDmarcCommands } from './dmarc-program.js';
import { registerReportsCommands } from './reports-program.js';
import { registerMilterCommand, type MilterProgramEnvironment } from './milter-program.js';
import { registerPolicyCommand } from './policy-program.js';
import { registerConfigCommands } from './config-program.js';
import { registerEximCommand } from './exim-program.js';
import { checkCommand } from './commands/check.js';
import { DEFAULT_TABLE_ROWS, scanCommand, scanReportCommand } from './commands/scan.js';
import { checkDomainList } from './commands/scan-input.js';
import { SCRIPT_FILE, STYLE_FILE } from './render/scan-report-assets.js';
import { writeFileSync } from 'node:fs';
import { HttpsMtaStsFetcher, StartTlsProbe } from '@mailward/adapters';
import { runError, usageError } from './commands/result.js';
import type { DnsCliOptions } from './dkim-program.js';
import { dnsOptions, dnsServerOption, withDns } from './dkim-program.js';
import { mailwardVersion } from './version.js';

export interface ProgramEnvironment extends DkimProgramEnvironment, MilterProgramEnvironment {
  /** Host name of this machine, used as the receiver in Received-SPF. */
  readonly hostname: string;
  /** MAILWARD_IMAP_PASSWORD, for imap:// sources without a password in the URL. */
  readonly imapPassword?: string | undefined;
  /** Prints a line at once (long-running commands: watch mode); without it, lines are dropped. */
  readonly progress?: (line: string) => void;
  /** Ends long-running commands (watch mode) when aborted. */
  readonly stopSignal?: AbortSignal;
  /** Standard output is a terminal: colour is welcome. */
  readonly colour?: boolean;
  /** Rewrites one status line on a terminal (progress); absent otherwise. */
  readonly status?: (text: string) => void;
}

/**
 * Parses argv and runs the command. Returns what to print and the exit code; never prints or
 * exits itself, so tests can call it directly.
 */
export async function runProgram(argv: readonly string[], env: ProgramEnvironment): Promise<CommandResult> {
  let result: CommandResult | undefined;
  let stdout = '';
  let stderr = '';
  const program = new Command()
    .name('mailward')
    .description(
      'Mail domain authentication toolkit: SPF (RFC 7208), DKIM (RFC 6376, 8301, 8463), ARC (RFC 8617), DMARC (RFC 9989, 7489), domain audits and surveys, DMARC and SMTP TLS reports.',
    )
    .version(mailwardVersion)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => (stdout += text),
      writeErr: (text) => (stderr += text),
      // An argument error is one line, like every other error; the usage is one --help away.
      outputError: (text, write) => write(`${text.trimEnd().replace(/^error: /, 'mailward: ')} (see --help)\n`),
    });

  program
    .command('spf')
    .description('Check a client IP against the SPF policy of the MAIL FROM domain (and the HELO name)')
    .requiredOption('--ip <address>', 'SMTP client IP address (IPv4 or IPv6)')
    .requiredOption(
      '--mail-from <address>',
      "MAIL FROM address; '' is the null reverse-path (checked as postmaster@HELO)",
    )
    .option('--helo <name>', 'HELO/EHLO name; also checked as its own identity')
    .option('--json', 'print a JSON object instead of text', false)
    .addOption(dnsServerOption())
    .option('--dns-fixture <file>', 'answer DNS from a zone fixture file (YAML/JSON, see docs/dns-fixture.md)')
    .addOption(new Option('--dns-timeout <ms>', 'timeout of one DNS attempt').argParser(positiveInt))
    .addOption(
      new Option('--time-budget <ms>', 'overall time for one SPF check (default 20000)').argParser(positiveInt),
    )
    .option('--receiver <name>', 'receiving host name for Received-SPF and %{r}', env.hostname)
    .action(async (options: SpfCliOptions) => {
      const setup = await setupResolver({
        dns: options.dns,
        ...(options.dnsFixture === undefined ? {} : { dnsFixture: options.dnsFixture }),
        ...(options.dnsTimeout === undefined ? {} : { dnsTimeoutMs: options.dnsTimeout }),
      });
      if (!setup.ok) {
        result = { exitCode: setup.usage ? 2 : 1, stdout: '', stderr: `mailward spf: ${setup.reason}\n` };
        return;
      }
      result = await spfCommand(
        {
          ip: options.ip,
          mailFrom: options.mailFrom,
          ...(options.helo === undefined ? {} : { helo: options.helo }),
          json: options.json,
          receiver: options.receiver,
          ...(options.timeBudget === undefined ? {} : { timeBudgetMs: options.timeBudget }),
        },
        { resolver: setup.resolver, clock: Date },
      );
    });

  registerDkimCommands(program, env, (done) => {
    result = done;
  });
  registerArcCommands(program, env, (done) => {
    result = done;
  });
  registerDmarcCommands(program, env, (done) => {
    result = done;
  });
  withDns(
    program
      .command('check')
      .description(
        'Audit a domain: SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT, BIMI and DNSSEC findings with fixes and grades',
      )
      .argument('<domain>', 'the domain to audit')
      .option('--selectors <list>', 'DKIM selectors to probe besides the common ones (comma-separated)')
      .option('--smtp', 'also probe each MX host: STARTTLS, TLS version, certificate (connects to port 25)', false)
      .addOption(
        new Option('--smtp-port <port>', 'port to probe instead of 25 (a test server, a relay)').argParser(
          positiveCount,
        ),
      )
      .option('--json', 'print JSON (schema in docs/audit.md)', false)
      .addHelpText(
        'after',
        `
Exit codes:
  0  no warning and no error
  1  warnings
  2  errors, or the domain does not exist (NXDOMAIN)
  3  could not check: DNS lookups failed (the server and the failure are named), so some areas
     have no grade and the overall grade is none (JSON "grade": null); the domain may be fine`,
      ),
  ).action(
    async (
      domain: string,
      options: DnsCliOptions & { json: boolean; selectors?: string; smtp: boolean; smtpPort?: number },
    ) => {
      const setup = await setupResolver(dnsOptions(options));
      if (!setup.ok) {
        result = setup.usage ? usageError('check', setup.reason) : runError('check', setup.reason);
        return;
      }
      result = await checkCommand(
        {
          domain,
          json: options.json,
          colour: env.colour === true,
          selectors: (options.selectors ?? '').split(',').filter((s) => s.trim() !== ''),
        },
        {
          resolver: setup.resolver,
          mtaStsFetcher: new HttpsMtaStsFetcher({ resolver: setup.resolver }),
          ...(options.smtp && {
            smtpProbe: new StartTlsProbe({
              resolver: setup.resolver,
              heloName: env.hostname,
              ...(options.smtpPort !== undefined && { port: options.smtpPort }),
            }),
          }),
        },
      );
    },
  );

  const scan = withDns(
    program
      .command('scan')
      .description('Audit a list of domains for a survey (resumable); `scan report DB` prints the statistics')
      .argument('[list]', 'file with one domain per line')
      .option('--db <file>', 'SQLite results file (resume from it)', 'scan-results.db')
      .option('--out <file>', 'also write results as NDJSON (or CSV when the name ends in .csv)')
      .option(
        '--no-retry-failed',
        'on resume, keep the domains an earlier run could not check (dns-failed) as they are',
      )
      .addOption(new Option('--concurrency <n>', 'domains audited at once').default(32).argParser(positiveCount))
      .addOption(new Option('--time-budget <ms>', 'time allowed per domain').default(15_000).argParser(positiveInt))
      .addOption(
        new Option('--dns-transport <transport>', 'tcp: pipelined connections; udp: one datagram per query')
          .choices(['tcp', 'udp'])
          .default('tcp'),
      )
      .addHelpText(
        'after',
        `
Each result has a status: ok, nxdomain (the domain does not exist) or dns-failed (a lookup failed,
so some area could not be checked); the last two have no grade and are left out of the statistics.
Run again with the same --db, a scan resumes: domains already there are skipped, except those an
earlier run could not check (dns-failed), which are audited again (not with --no-retry-failed).
A retried domain keeps its place; --out then gets rewritten: one line per domain, in scan order.
Exit codes: 0 the scan ran (whatever it found, even with some domains dns-failed), 1 the results
file cannot be opened or --out cannot be rewritten, 2 bad arguments or a list that cannot be read
(checked before any DNS query), 3 no domain this run audited could be checked (every one
dns-failed: DNS does not work from here, or only domains that still fail were retried).`,
      ),
  ).action(
    async (
      list: string | undefined,
      options: DnsCliOptions & {
        db: string;
        out?: string;
        retryFailed: boolean;
        concurrency: number;
        timeBudget: number;
        dnsTransport: 'tcp' | 'udp';
      },
    ) => {
      if (list === undefined) {
        result = usageError('scan', 'give a file with one domain per line');
        return;
      }
      // Before the resolver is set up: that already sends a query (the TCP check).
      const listProblem = await checkDomainList(list);
      if (listProblem !== undefined) {
        result = usageError('scan', listProblem);
        return;
      }
      // Many domains at once: room for their queries in flight, one retry, no cache that would
      // grow with the list (each domain's names are its own), and UDP sockets that carry 64
      // queries each instead of one (socket set-up dominated the CPU; see transport-udp.ts).
      const setup = await setupResolver({
        ...dnsOptions(options),
        maxInFlight: Math.min(256, options.concurrency * 2),
        retries: 1,
        cache: false,
        queriesPerSocket: 64,
        transport: options.dnsTransport,
      });
      if (!setup.ok) {
        result = setup.usage ? usageError('scan', setup.reason) : runError('scan', setup.reason);
        return;
      }
      result = await scanCommand(
        {
          list,
          db: options.db,
          ...(options.out === undefined ? {} : { out: options.out }),
          concurrency: options.concurrency,
          timeBudgetMs: options.timeBudget,
          retryFailed: options.retryFailed,
          settings: { dns: setup.describe, transport: options.dnsTransport },
        },
        {
          resolver: setup.resolver,
          fetcher: (timeoutMs) => new HttpsMtaStsFetcher({ resolver: setup.resolver, timeoutMs }),
          ...(env.status === undefined ? {} : { status: env.status }),
          ...(setup.queriesSent === undefined ? {} : { queriesSent: setup.queriesSent }),
          now: Date.now,
        },
      );
      if (setup.note !== undefined) result = { ...result, stderr: `mailward scan: ${setup.note}\n${result.stderr}` };
    },
  );
  scan
    .command('report')
    .description('Print the survey statistics of a results file and write an HTML page with charts')
    .argument('<db>', 'results file of mailward scan')
    .option(
      '--html <file>',
      `where to write the HTML page (default: DB with .html); ${SCRIPT_FILE} and ${STYLE_FILE} are written beside it`,
    )
    .addOption(
      new Option('--table-rows <n>', 'domains listed in the page table')
        .default(DEFAULT_TABLE_ROWS)
        .argParser(positiveCount),
    )
    .action((db: string, options: { html?: string; tableRows: number }) => {
      result = scanReportCommand(
        { db, html: options.html ?? db.replace(/\.db$/, '') + '.html', tableRows: options.tableRows },
        { writeFile: (path, text) => writeFileSync(path, text), now: Date.now },
      );
    });

  registerConfigCommands(program, env, (done) => (result = done));
  registerReportsCommands(program, env, (done) => {
    result = done;
  });
  registerMilterCommand(program, env, (done) => (result = done));
  registerEximCommand(program, env, (done) => (result = done));
  registerPolicyCommand(program, env, (done) => (result = done));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version requests end here too, with exit code 0.
      return { exitCode: error.exitCode === 0 ? 0 : 2, stdout, stderr };
    }
    throw error;
  }
  if (!result) {
    program.outputHelp({ error: true });
    return { exitCode: 2, stdout, stderr };
  }
  return { ...result, stdout: stdout + result.stdout, stderr: stderr + result.stderr };
}

interface SpfCliOptions {
  ip: string;
  mailFrom: string;
  helo?: string;
  json: boolean;
  dns: string[];
  dnsFixture?: string;
  dnsTimeout?: number;
  timeBudget?: number;
  receiver: string;
}

/** A count (domains, rows): a positive integer, said without a unit. */
function positiveCount(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError('must be a positive integer (milliseconds)');
  return parsed;
}
