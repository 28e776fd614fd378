/**
 * `mailward config check`: reads mailward.yaml as the services will (the same loader), reports
 * every problem on its own line with file:line:column, or OK with a short resolved summary.
 */
import type { Command } from 'commander';
import { findConfigFile, formatConfigError, loadConfigFile, configSections, summarizeConfig } from '@mailward/milter';
import type { CommandResult } from './commands/result.js';
import { runError, usageError } from './commands/result.js';
import { terminalSafe } from './render/terminal-safe.js';

interface ConfigCheckOptions {
  readonly config?: string;
  readonly json: boolean;
  readonly keys: boolean;
}

export function registerConfigCommands(
  program: Command,
  env: { readonly hostname: string },
  done: (result: CommandResult) => void,
): void {
  const config = program
    .command('config')
    .description('The configuration file of the milter, policy and exim services');
  config
    .command('check')
    .description(
      'Check mailward.yaml (default ./mailward.yaml, then /etc/mailward/mailward.yaml): exit 0 when it is valid, 1 when not',
    )
    .option('--config <file>', 'the file to check')
    .option('--json', 'print the resolved settings as JSON', false)
    .option('--no-keys', 'do not read the key files it names (checked by default)')
    .action(async (options: ConfigCheckOptions) => done(await configCheck(options, env.hostname)));
}

async function configCheck(options: ConfigCheckOptions, hostname: string): Promise<CommandResult> {
  if (options.config === '') return usageError('config check', '--config: empty file name');
  let path = options.config;
  if (path === undefined) {
    const found = await findConfigFile();
    if (!found.ok) return runError('config check', found.reason);
    path = found.path;
  }
  const loaded = await loadConfigFile(path, { hostname, checkKeys: options.keys });
  if (!loaded.ok) {
    const lines = loaded.errors.map((error) => `${terminalSafe(formatConfigError(error))}\n`).join('');
    const stdout = options.json
      ? `${JSON.stringify({ ok: false, file: loaded.file, errors: loaded.errors }, null, 2)}\n`
      : '';
    return { exitCode: 1, stdout, stderr: lines };
  }
  if (options.json) {
    return {
      exitCode: 0,
      stdout: `${JSON.stringify({ ok: true, file: loaded.file, ...loaded.config }, null, 2)}\n`,
      stderr: '',
    };
  }
  const lines = [
    `${path}: OK (${configSections(loaded.config).join(', ')})`,
    `read ${loaded.file}${options.keys ? `; ${loaded.keyFiles.length} key file${loaded.keyFiles.length === 1 ? '' : 's'} checked` : '; key files not checked'}`,
    ...summarizeConfig(loaded.config),
  ];
  return { exitCode: 0, stdout: lines.map((line) => `${terminalSafe(line)}\n`).join(''), stderr: '' };
}
