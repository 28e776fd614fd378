/**
 * `mailward exim --store` (packages/cli: the CLI is what is tested): behind a real Exim 4.96 with Knot serving the sender domains, the
 * built CLI (a child process) appends one verdict per checked message to the store before Exim
 * gets the answer, keyed by Exim's queue id. SQLite here; PostgreSQL below when it is reachable
 * at MAILWARD_TEST_POSTGRES (default the machine's postgres://postgres@127.0.0.1:5432/test).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseZone, signDkim } from '@mailward/core';
import { PostgresReportStore, SqliteReportStore } from '@mailward/adapters';
import type { StoredVerdict } from '@mailward/reports';
import type { EximHarness, KnotServer } from '@mailward/testkit';
import { createEximHarness, freePort, renderZone, startKnot } from '@mailward/testkit';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(ROOT, 'packages/cli/dist/src/main.js');
const POSTGRES = process.env['MAILWARD_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/test';

const key = generateKeyPairSync('ed25519');
const der = key.publicKey.export({ type: 'spki', format: 'der' });
const ZONE = {
  'example.org': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'ed._domainkey.example.org': [{ TXT: `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}` }],
  '_dmarc.example.org': [{ TXT: 'v=DMARC1; p=reject; adkim=s' }],
};

let knot: KnotServer;
let exim: EximHarness;
let port: number;
let dir: string;
let service: ChildProcess | undefined;
let output = '';

async function startService(store: string, extra: readonly string[] = []): Promise<void> {
  output = '';
  const child = spawn(process.execPath, [
    CLI,
    'exim',
    '--listen',
    `inet:127.0.0.1:${port}`,
    '--authserv-id',
    'mx.test',
    '--dns',
    `${knot.host}:${knot.port}`,
    '--store',
    store,
    ...extra,
  ]);
  service = child;
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 10_000;
  while (!output.includes('mailward exim listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mailward exim did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopService(): Promise<number | null> {
  const child = service;
  service = undefined;
  if (child === undefined || child.exitCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

before(async () => {
  const parsed = parseZone(ZONE);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  knot = await startKnot({ zones: [{ origin: '.', text: renderZone(parsed.zone, { origin: '.' }) }] });
  port = await freePort();
  dir = await mkdtemp(join(tmpdir(), 'mailward-exim-verdicts-'));
  exim = await createEximHarness({
    hostname: 'mx.test',
    mainConfig: [`spamd_address = 127.0.0.1 ${port} variant=rspamd tmo=30s`],
    acls: {
      data: 'warn    spam       = nobody:true/defer_ok\ndeny    condition  = ${if eq{$spam_action}{reject}}\n        message    = $spam_report\naccept',
    },
  });
});

after(async () => {
  await stopService();
  await knot?.stop();
  await exim?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI to completion. */
function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

let sessions = 0;
function message(from: string): string {
  return `From: <${from}>\r\nTo: <bob@mx.test>\r\nSubject: verdicts\r\nDate: Fri, 04 Dec 2026 03:00:00 +0000\r\nMessage-ID: <${++sessions}.v@example.org>\r\n\r\nHello.\r\n`;
}

/** Sends a signed pass from 192.0.2.10 and an unsigned spoof from 203.0.113.9; returns Exim's queue id of the first. */
async function sendTwo(): Promise<string> {
  const signed = Buffer.from(
    signDkim(
      Buffer.from(message('alice@example.org')),
      [{ domain: 'example.org', selector: 'ed', privateKey: key.privateKey }],
      { clock: Date },
    ).message,
  ).toString('latin1');
  const pass = await exim.session({
    mode: 'bs',
    clientAddress: '192.0.2.10',
    ehlo: 'client.example',
    from: 'alice@example.org',
    to: ['bob@mx.test', 'carol@other.test'],
    data: signed,
  });
  assert.equal(pass.eod?.code, 250, `${JSON.stringify(pass.steps)}\n${exim.log()}\n${output}`);
  const queueId = /id=(\S+)/.exec(pass.eod.text)?.[1];
  assert.ok(queueId, pass.eod.text);
  const spoof = await exim.session({
    mode: 'bs',
    clientAddress: '203.0.113.9',
    ehlo: 'spoofer.example',
    from: 'ceo@example.org',
    to: ['bob@mx.test'],
    data: message('ceo@example.org'),
  });
  // A dry run (no --enforce): the spoof is accepted, and its verdict says what enforcement would have done.
  assert.equal(spoof.eod?.code, 250, `${JSON.stringify(spoof.steps)}\n${exim.log()}\n${output}`);
  return queueId;
}

function checkRows(rows: readonly StoredVerdict[], queueId: string, since: number): void {
  assert.equal(rows.length, 2, JSON.stringify(rows));
  const [pass, spoof] = rows as [StoredVerdict, StoredVerdict];
  assert.ok(pass.time >= since && pass.time <= Date.now());
  assert.deepEqual(
    { ...pass, id: 0, time: 0 },
    {
      id: 0,
      time: 0,
      receiver: 'exim',
      queueId,
      sourceIp: '192.0.2.10',
      helo: 'client.example',
      envelopeFrom: 'example.org',
      headerFrom: 'example.org',
      envelopeTo: ['mx.test', 'other.test'],
      policyPublished: {
        domain: 'example.org',
        adkim: 's',
        aspf: 'r',
        p: 'reject',
        // The record's fo= in effect, its default (RFC 9989 §4.7) when not given.
        fo: '0',
        testing: 'n',
        discoveryMethod: 'treewalk',
      },
      policyDomain: 'example.org',
      policyEvaluated: { disposition: 'pass', dkim: 'pass', spf: 'pass', reasons: [] },
      authResults: {
        dkim: [{ domain: 'example.org', selector: 'ed', result: 'pass' }],
        spf: [{ domain: 'example.org', scope: 'mfrom', result: 'pass' }],
      },
      dmarc: 'pass',
      action: 'accept',
      testing: false,
    },
  );
  assert.equal(spoof.sourceIp, '203.0.113.9');
  assert.equal(spoof.dmarc, 'fail');
  assert.equal(spoof.action, 'accept');
  assert.equal(spoof.wouldHave, 'reject');
  assert.deepEqual(spoof.policyEvaluated, {
    disposition: 'none',
    dkim: 'fail',
    spf: 'fail',
    reasons: [{ type: 'local_policy', comment: 'not enforced (dry run): would have rejected' }],
  });
  assert.deepEqual(spoof.authResults.spf, [{ domain: 'example.org', scope: 'mfrom', result: 'fail' }]);
  assert.match(spoof.queueId ?? '', /^[\w-]+$/);
}

test('mailward exim --store sqlite:PATH: each checked message leaves one row, committed before Exim is answered', async () => {
  const path = join(dir, 'verdicts.db');
  const since = Date.now();
  await startService(`sqlite:${path}`);
  try {
    assert.match(output, /verdicts to SQLite .*verdicts\.db\)/);
    const queueId = await sendTwo();
    // Read while the service still runs: the rows were committed before the replies.
    const reader = new SqliteReportStore(path, { readonly: true });
    const rows: StoredVerdict[] = [];
    for await (const row of reader.verdicts({ policyDomain: 'example.org', since })) rows.push(row);
    await reader.close();
    checkRows(rows, queueId, since);
    // And as the administrator reads it: `mailward reports verdicts --json`, another CLI process.
    const listed = await cli(['reports', 'verdicts', '--store', `sqlite:${path}`, '--domain', 'example.org', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as StoredVerdict),
      rows,
    );
  } finally {
    assert.equal(await stopService(), 0, output);
  }
  assert.doesNotMatch(output, /verdict not recorded/);
});

test('mailward exim --store postgres://: the same rows in PostgreSQL', async (t) => {
  const probe = new pg.Client({ connectionString: POSTGRES });
  try {
    await probe.connect();
  } catch (error) {
    t.skip(`PostgreSQL not reachable at ${POSTGRES}: ${(error as Error).message}`);
    return;
  }
  const schema = `mw_exim_${process.pid}`;
  try {
    const since = Date.now();
    const url = new URL(POSTGRES);
    url.searchParams.set('schema', schema);
    await startService(url.toString());
    try {
      const queueId = await sendTwo();
      const store = await PostgresReportStore.open(POSTGRES, { schema, readonly: true });
      const rows: StoredVerdict[] = [];
      for await (const row of store.verdicts({ policyDomain: 'example.org' })) rows.push(row);
      await store.close();
      checkRows(rows, queueId, since);
    } finally {
      assert.equal(await stopService(), 0, output);
    }
  } finally {
    await probe.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await probe.end();
  }
});

test('mailward exim --store: a store that cannot be opened is a one-line error before listening', async () => {
  const { code, stderr } = await cli(['exim', '--listen', 'inet:127.0.0.1:0', '--store', join(dir, 'no/such/dir.db')]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^mailward exim: cannot open the SQLite store .*no\/such\/dir\.db: .*\n$/);
});
