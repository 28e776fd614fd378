// Help texts as a user reads them: every command, found by walking the "Commands:" lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ProgramEnvironment } from '../src/program.js';
import { runProgram } from '../src/program.js';

const env: ProgramEnvironment = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

async function help(path: readonly string[]): Promise<string> {
  const result = await runProgram([...path, '--help'], env);
  assert.equal(result.exitCode, 0, `${path.join(' ')} --help: ${result.stderr}`);
  return result.stdout;
}

/** The entries of a help section ("Options:", "Commands:"): a line at two spaces, with its continuation lines. */
function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`${title}:`);
  if (start < 0) return [];
  const entries: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    if (line.startsWith('   ') && entries.length > 0) entries[entries.length - 1] += ` ${line.trim()}`;
    else entries.push(line.trim());
  }
  return entries;
}

async function allHelpTexts(): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  const walk = async (path: string[]): Promise<void> => {
    const text = await help(path);
    texts.set(path.join(' '), text);
    for (const entry of section(text, 'Commands')) {
      const name = entry.split(' ')[0];
      if (name === undefined || name === 'help') continue;
      await walk([...path, name]);
    }
  };
  await walk([]);
  return texts;
}

test('no option help says its default twice (once in the text, once from commander)', async () => {
  const texts = await allHelpTexts();
  assert.ok(texts.has('dkim verify') && texts.has('reports enrich'), [...texts.keys()].join(', '));
  const repeated: string[] = [];
  for (const [command, text] of texts) {
    for (const entry of section(text, 'Options')) {
      const option = `${command} ${entry.split(/[ ,]/)[0]}`;
      if ((entry.match(/default/gi) ?? []).length > 1) {
        repeated.push(`${option}: ${entry}`);
      }
    }
  }
  assert.deepEqual(repeated, []);
});

test('--dns and --authserv-id describe their defaults instead of printing [] or the host name', async () => {
  const verify = section(await help(['verify']), 'Options').join('\n');
  assert.match(verify, /--dns <host\[:port\]> +DNS server to ask \(repeatable\) \(default: the system resolv\.conf\)/);
  assert.match(verify, /--authserv-id <id> +authserv-id for Authentication-Results \(default: this host name\)/);
});

test('the help texts and package descriptions promise nothing "to come"', async () => {
  for (const [command, text] of await allHelpTexts()) {
    assert.doesNotMatch(text, /to come/i, `mailward ${command} --help`);
  }
  for (const name of ['core', 'reports', 'adapters', 'cli', 'testkit']) {
    const manifest = JSON.parse(readFileSync(new URL(`../../../${name}/package.json`, import.meta.url), 'utf8')) as {
      description: string;
    };
    assert.doesNotMatch(manifest.description, /to come/i, `packages/${name}/package.json`);
  }
});

test('--version prints the version of the package.json npm installed', async () => {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const result = await runProgram(['--version'], env);
  assert.equal(result.stdout.trim(), manifest.version);
});

test('an argument error is one line naming the problem, with the usage one --help away', async () => {
  for (const argv of [
    ['bogus'],
    ['keygen'],
    ['reports', 'summary', '--bogus'],
    ['reports', 'failures', 'list', '--limit', '-1'],
    ['reports', 'export', '--format', 'xml'],
    ['spf', '--ip', '192.0.2.1', '--mail-from', 'a@b.example', '--dns-timeout', 'abc'],
  ]) {
    const result = await runProgram(argv, env);
    assert.equal(result.exitCode, 2, argv.join(' '));
    assert.match(result.stderr, /^mailward: [^\n]+ \(see --help\)\n$/, `${argv.join(' ')}: ${result.stderr}`);
  }
});
