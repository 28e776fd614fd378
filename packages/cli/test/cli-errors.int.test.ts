/**
 * The built `mailward` command facing a hostile environment: a closed output pipe, outputs it may
 * not write, a store owned by another user, a missing store, an unknown store scheme. Each must end
 * with one line naming the problem and its fix and the documented exit code, never a stack trace.
 * The other user is `nobody` (via setpriv) when the tests run as root, as CI does; otherwise the
 * files are made read-only for the current user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mailward-cli-errors-'));
chmodSync(dir, 0o755); // the other user must reach the files

const isRoot = process.getuid?.() === 0;

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function mailward(args: readonly string[], options: { asOtherUser?: boolean; cwd?: string } = {}): Outcome {
  const [command, argv] =
    options.asOtherUser === true && isRoot
      ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN, ...args]]
      : [process.execPath, [MAIN, ...args]];
  const result = spawnSync(command, argv, { cwd: options.cwd ?? dir, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertOneLine(outcome: Outcome, code: number, pattern: RegExp): void {
  assert.equal(outcome.code, code, `exit code; stderr: ${outcome.stderr}`);
  assert.doesNotMatch(outcome.stderr, /\n\s+at |Error:|node:internal/, 'no stack trace');
  assert.equal(outcome.stderr.trimEnd().split('\n').length, 1, `one line: ${outcome.stderr}`);
  assert.match(outcome.stderr, pattern);
}

/** A store with enough records that an export is far larger than a pipe's buffer. */
function bigStore(): string {
  const store = join(dir, 'big.db');
  if (existsSync(store)) return store;
  const input = join(dir, 'big');
  mkdirSync(input);
  const records = Array.from(
    { length: 5000 },
    (_, i) =>
      `<record><row><source_ip>10.0.${i >> 8}.${i & 255}</source_ip><count>1</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><result>pass</result></dkim></auth_results></record>`,
  ).join('');
  writeFileSync(
    join(input, 'big.xml'),
    `<feedback><report_metadata><org_name>big.example</org_name><email>r@big.example</email><report_id>big-1</report_id><date_range><begin>1796256000</begin><end>1796342399</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>${records}</feedback>`,
  );
  const ingested = mailward(['reports', 'ingest', input, '--store', `sqlite:${store}`]);
  assert.equal(ingested.code, 0, ingested.stderr);
  chmodSync(store, 0o644);
  return store;
}

test('a closed output pipe (mailward ... | head) ends quietly with exit code 0', async () => {
  const store = bigStore();
  const child = spawn(process.execPath, [MAIN, 'reports', 'export', '--store', `sqlite:${store}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Read the first chunk, then close our end as head does.
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

test('an output file that cannot be written: one line naming the path and the fix, exit code 1', () => {
  const list = join(dir, 'one-domain.txt');
  writeFileSync(list, 'example.com\n');
  const out = mailward([
    'scan',
    list,
    '--db',
    join(dir, 'scan.db'),
    '--out',
    join(dir, 'no-such-dir', 'results.ndjson'),
    '--dns',
    '127.0.0.1:9',
  ]);
  assertOneLine(
    out,
    1,
    /cannot open .*no-such-dir\/results\.ndjson: no such file or directory \(ENOENT\); check the path/,
  );
  // A results file to report on: the one domain could not be checked (nothing answers on port 9),
  // so the run exits 3 (could not check).
  assert.equal(
    mailward(['scan', list, '--db', join(dir, 'one.db'), '--dns', '127.0.0.1:9', '--dns-timeout', '200']).code,
    3,
  );
  const html = mailward(['scan', 'report', join(dir, 'one.db'), '--html', dir]);
  assertOneLine(html, 1, /cannot open .*: it is a directory \(EISDIR\); give a file name, not a directory/);
});

test('a store owned by another user: reading commands read it, writing commands say it is read-only', () => {
  const store = bigStore();
  const reader = join(dir, 'owned');
  mkdirSync(reader, { recursive: true });
  if (!isRoot) {
    chmodSync(store, 0o444);
    chmodSync(dir, 0o555);
  }
  try {
    // Read with the writer's -shm file present (the receiver is running), and without it (all
    // closed: the reader may not create one in the owner's directory).
    for (const shm of [true, false]) {
      if (!shm) for (const suffix of ['-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
      const summary = mailward(['reports', 'summary', '--store', `sqlite:${store}`], { asOtherUser: true, cwd: '/' });
      assert.equal(summary.code, 0, summary.stderr);
      assert.match(summary.stdout, /Reports: 1 from 1 reporter; messages: 5,000/);
    }
    const ingest = mailward(['reports', 'ingest', reader, '--store', `sqlite:${store}`], {
      asOtherUser: true,
      cwd: '/',
    });
    assertOneLine(
      ingest,
      1,
      /the store .*big\.db is read-only for this user, and this command writes: run it as the store's owner/,
    );
  } finally {
    if (!isRoot) {
      chmodSync(dir, 0o755);
      chmodSync(store, 0o644);
    }
  }
});

test('a missing store for a reading command, and an unknown store scheme', () => {
  const missing = mailward(['reports', 'summary', '--store', 'sqlite:typo.db']);
  assertOneLine(missing, 1, /the store typo\.db does not exist \(give --store the path of an existing store/);
  assert.equal(existsSync(join(dir, 'typo.db')), false);
  const mysql = mailward(['reports', 'export', '--store', 'mysql://root@localhost/dmarc']);
  assertOneLine(mysql, 2, /mysql is not a supported store \(supported: sqlite:PATH/);
});
