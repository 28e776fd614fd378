/** `mailward reports receive` as a process: listens, stores what arrives, stops on SIGTERM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Buffer } from 'node:buffer';
import { freePort, testdataPath } from '@mailward/testkit';
import { runProgram } from '../src/program.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

test('reports receive: argument errors', async () => {
  const cases: [string[], RegExp][] = [
    [[], /give --smtp and\/or --https/],
    [['--smtp', '2525'], /--smtp needs at least one --address/],
    [['--https', '8443'], /--https needs --tls-cert and --tls-key/],
    [['--smtp', 'nope', '--address', 'a@b'], /--smtp nope: expected PORT or HOST:PORT/],
    [['--https', '8443', '--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
  ];
  for (const [args, reason] of cases) {
    const out = await runProgram(
      ['reports', 'receive', '--store', `sqlite:${join(tmpdir(), 'never.db')}`, ...args],
      env,
    );
    assert.equal(out.exitCode, 2, args.join(' '));
    assert.match(out.stderr, reason);
  }
});

test('reports receive: SMTP and plain-HTTP TLS-RPT in one process; reports stored; SIGTERM ends it with 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-receive-'));
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'reports',
      'receive',
      '--smtp',
      `127.0.0.1:${smtpPort}`,
      '--https',
      `127.0.0.1:${httpPort}`,
      '--plain-http',
      '--address',
      'dmarc@example.com',
      '--store',
      `sqlite:${join(dir, 'r.db')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const started = Date.now();
  while (!output.includes('TLS-RPT endpoint listening')) {
    assert.ok(Date.now() - started < 15_000, output);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const run = promisify(execFile);
  const mail = testdataPath('parsedmarc', 'samples', 'aggregate', 'twilight.eml');
  await run('/usr/bin/python3', [
    '-c',
    'import smtplib,sys\nwith smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s: s.sendmail("r@x.example", ["dmarc@example.com"], open(sys.argv[2], "rb").read())',
    String(smtpPort),
    mail,
  ]);
  const json = readFileSync(testdataPath('parsedmarc', 'samples', 'smtp_tls', 'rfc8460.json'));
  const { stdout } = await run('curl', [
    '-sS',
    '-w',
    '%{http_code}',
    '-H',
    'Content-Type: application/tlsrpt+json',
    '--data-binary',
    json.toString(),
    `http://127.0.0.1:${httpPort}/`,
  ]);
  assert.match(stdout, /tls report stored\n201$/);
  child.kill('SIGTERM');
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output);
  assert.match(output, /smtp:127\.0\.0\.1:.*: aggregate report stored/);
  const summary = await runProgram(['reports', 'summary', '--store', `sqlite:${join(dir, 'r.db')}`, '--json'], env);
  const totals = (JSON.parse(summary.stdout) as { totals: { reports: number; tlsReports: number } }).totals;
  assert.deepEqual([totals.reports, totals.tlsReports], [1, 1]);
});
