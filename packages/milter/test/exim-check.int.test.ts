/**
 * `mailward exim` behind a real Exim 4.96, with Knot DNS serving the sender domains: the built
 * CLI runs as a child process, Exim runs one SMTP session per test (`exim -C CONFIG -bs` with the
 * client address set by -oMa, as Exim's own test suite does), with the DATA ACL copied verbatim
 * from docs/exim.md. Accepted messages stay on Exim's queue (queue_only), and the test reads
 * their header lines from the spool -H file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseZone, signDkim } from '@mailward/core';
import type { KnotServer } from '@mailward/testkit';
import { freePort, renderZone, startKnot } from '@mailward/testkit';
import type { EximBinary } from './exim-binary.js';
import { eximBinary } from './exim-binary.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(ROOT, 'packages/cli/dist/src/main.js');

const key = generateKeyPairSync('ed25519');
const der = key.publicKey.export({ type: 'spki', format: 'der' });
const ZONE = {
  'example.org': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'ed._domainkey.example.org': [{ TXT: `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}` }],
  '_dmarc.example.org': [{ TXT: 'v=DMARC1; p=reject' }],
  'hold.example': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  '_dmarc.hold.example': [{ TXT: 'v=DMARC1; p=quarantine' }],
};

/** The DATA ACL exactly as docs/exim.md gives it. */
async function documentedAcl(): Promise<string> {
  const doc = await readFile(join(ROOT, 'docs/exim.md'), 'utf8');
  const block = /<!-- exim-data-acl: begin -->\n```\n([\s\S]*?)```\n<!-- exim-data-acl: end -->/.exec(doc);
  assert.ok(block, 'docs/exim.md has the marked DATA ACL block');
  return block[1]!;
}

function eximConfig(dir: string, port: number, dataAcl: string): string {
  return `primary_hostname = mx.test
spool_directory = ${dir}/spool
log_file_path = ${dir}/log/%slog
exim_user = root
exim_group = root
never_users =
keep_environment =
host_lookup =
rfc1413_hosts =
queue_only = true
spamd_address = 127.0.0.1 ${port} variant=rspamd tmo=30s
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_predata = acl_check_predata
acl_smtp_data = acl_check_data

begin acl
acl_check_rcpt:
  accept

# Exim 4.96 removes by name only (docs/exim.md): forged fields must not survive.
acl_check_predata:
  warn    remove_header = Authentication-Results
  accept

${dataAcl}
begin routers
begin transports
`;
}

let exim: EximBinary;
let knot: KnotServer;
let work: string;
let port: number;
let service: ChildProcess | undefined;
let serviceOutput = '';

async function startService(extra: readonly string[] = []): Promise<void> {
  port = await freePort();
  serviceOutput = '';
  const child = spawn(process.execPath, [
    CLI,
    'exim',
    '--listen',
    `inet:127.0.0.1:${port}`,
    '--authserv-id',
    'mx.test',
    '--dns',
    `${knot.host}:${knot.port}`,
    '--enforce',
    ...extra,
  ]);
  service = child;
  child.stdout.on('data', (chunk: Buffer) => (serviceOutput += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (serviceOutput += chunk.toString()));
  const deadline = Date.now() + 10_000;
  while (!serviceOutput.includes('mailward exim listening on')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`mailward exim did not start:\n${serviceOutput}`);
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
  exim = await eximBinary();
  const parsed = parseZone(ZONE);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  knot = await startKnot({
    zones: [
      { origin: '.', text: renderZone(parsed.zone, { origin: '.' }) },
      { origin: 'broken.example', broken: true },
    ],
  });
  work = await mkdtemp(join(tmpdir(), 'mailward-exim-'));
  await startService();
});

after(async () => {
  await stopService();
  await knot?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

let sessions = 0;

/** One SMTP session through `exim -bs` from 192.0.2.10 (or `ip`); returns Exim's replies. */
async function smtp(
  message: string,
  options: { mailFrom: string; ip?: string; deferOk?: boolean; authenticated?: string },
): Promise<{ replies: string; dir: string }> {
  const dir = join(work, `s${++sessions}`);
  await mkdir(join(dir, 'log'), { recursive: true });
  let acl = await documentedAcl();
  if (options.deferOk === false)
    acl = acl.replace('warn    spam       = nobody:true/defer_ok', 'require spam       = nobody:true');
  assert.ok(options.deferOk !== false || acl.includes('require spam'), 'the documented first statement');
  const config = join(dir, 'exim.conf');
  await writeFile(config, eximConfig(dir, port, acl));
  const stuffed = message.replace(/\r\n\./g, '\r\n..');
  const session =
    `EHLO client.example\r\nMAIL FROM:<${options.mailFrom}>\r\nRCPT TO:<bob@mx.test>\r\nDATA\r\n` +
    `${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\nQUIT\r\n`;
  const replies = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      exim.path,
      [
        '-C',
        config,
        '-bs',
        '-oMa',
        options.ip ?? '192.0.2.10',
        ...(options.authenticated === undefined ? [] : ['-oMai', options.authenticated]),
      ],
      { env: exim.env, timeout: 60_000 },
      (error, stdout, stderr) =>
        error && !stdout ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin?.end(session);
  });
  return { replies, dir };
}

/** The header lines of a queued message, from Exim's spool -H file, without removed ones ('*'). */
async function queuedHeaders(dir: string, replies: string): Promise<{ headers: string[]; frozen: boolean }> {
  const id = /^250 OK id=(\S+)/m.exec(replies)?.[1];
  assert.ok(id, `message accepted:\n${replies}`);
  const file = await readFile(join(dir, 'spool/input', `${id}-H`), 'latin1');
  // The header lines follow the recipients list and its blank line.
  const spool = file.slice(file.indexOf('\n\n') + 2);
  const headers: string[] = [];
  const entry = /^(\d{3,})(.) /gm;
  const starts = [...spool.matchAll(entry)];
  for (const [i, match] of starts.entries()) {
    const end = starts[i + 1]?.index ?? spool.length;
    if (match[2] !== '*') headers.push(spool.slice(match.index! + match[0].length, end).replace(/\n$/, ''));
  }
  return { headers, frozen: /^-frozen /m.test(file) };
}

/**
 * Exim's reply with this code, its lines joined: Exim wraps a long ACL message over several
 * lines ("550-5.7.1 ... (no" / "550 5.7.1 aligned ..."), each repeating the codes.
 */
function reply(replies: string, code: string): string | undefined {
  const lines = replies.split(/\r?\n/).filter((line) => line.startsWith(`${code}-`) || line.startsWith(`${code} `));
  if (lines.length === 0) return undefined;
  const status = /^\d{3}[- ](\d\.\d{1,3}\.\d{1,3} )?/;
  const prefix = status.exec(lines[0]!)![0].slice(4);
  return `${code} ${prefix}${lines.map((line) => line.replace(status, '')).join(' ')}`;
}

function message(from: string, extra = ''): string {
  return `${extra}From: <${from}>\r\nTo: <bob@mx.test>\r\nSubject: exim check\r\nDate: Fri, 04 Dec 2026 03:00:00 +0000\r\nMessage-ID: <${++sessions}.x@${from.split('@')[1]}>\r\n\r\nHello.\r\n.leading dot\r\n`;
}

test('signed mail with SPF pass: accepted, with dkim=pass spf=pass dmarc=pass at the top, the forged A-R gone', async () => {
  const signed = Buffer.from(
    signDkim(
      Buffer.from(message('alice@example.org')),
      [{ domain: 'example.org', selector: 'ed', privateKey: key.privateKey }],
      {
        clock: Date,
      },
    ).message,
  ).toString('latin1');
  const forged = 'Authentication-Results: mx.test; dmarc=pass header.from=example.org\r\n';
  const { replies, dir } = await smtp(forged + signed, { mailFrom: 'alice@example.org' });
  assert.match(replies, /^250 OK id=/m);
  const { headers, frozen } = await queuedHeaders(dir, replies);
  assert.equal(frozen, false);
  const results = headers.filter((h) => /^Authentication-Results:/i.test(h));
  assert.equal(results.length, 1, headers.join('\n'));
  assert.equal(headers[0], results[0], 'A-R is the first header line');
  assert.match(results[0]!, /^Authentication-Results: mx\.test;\n \tdkim=pass /);
  assert.match(results[0]!, /\tspf=pass smtp\.mailfrom=alice@example\.org/);
  assert.match(results[0]!, /\tdmarc=pass \(p=reject dis=none\) header\.from=example\.org/);
  assert.match(headers[1] ?? '', /^Received-SPF: pass\b/);
  assert.match(
    serviceOutput,
    /exim queue-id=\S+ ip=192\.0\.2\.10 from=<alice@example\.org> action="no action" spf=pass dkim=pass\(example\.org\) dmarc=pass/,
  );
});

test('a spoof of p=reject from an unauthorized client is refused at DATA with 550 5.7.1', async () => {
  const { replies } = await smtp(message('ceo@example.org'), { mailFrom: 'ceo@example.org', ip: '203.0.113.9' });
  assert.equal(
    reply(replies, '550'),
    '550 5.7.1 Message rejected: it fails the DMARC policy of example.org (no aligned SPF or DKIM pass)',
  );
  assert.doesNotMatch(replies, /^250 OK id=/m);
});

test('a DNS failure (SERVFAIL for the sender domain) defers with 451 4.7.5', async () => {
  const { replies } = await smtp(message('a@broken.example'), { mailFrom: 'a@broken.example', ip: '203.0.113.9' });
  assert.equal(
    reply(replies, '451'),
    '451 4.7.5 DMARC policy of broken.example could not be checked (DNS failure); try again later',
  );
});

test('a p=quarantine failure with --quarantine hold (the default) is accepted and frozen, with dmarc=fail', async () => {
  const { replies, dir } = await smtp(message('a@hold.example'), { mailFrom: 'a@hold.example', ip: '203.0.113.9' });
  const { headers, frozen } = await queuedHeaders(dir, replies);
  assert.equal(frozen, true, `${replies}\n${await readFile(join(dir, 'log/mainlog'), 'utf8')}`);
  assert.match(headers[0] ?? '', /dmarc=fail [^\n]*header\.from=hold\.example/);
});

test('an authenticated client (submission) is not checked: no action, A-R "none" saying why', async () => {
  const { replies, dir } = await smtp(message('ceo@example.org'), {
    mailFrom: 'ceo@example.org',
    ip: '203.0.113.9',
    authenticated: 'ceo',
  });
  const { headers } = await queuedHeaders(dir, replies);
  assert.equal(headers[0], 'Authentication-Results: mx.test; none (authenticated client, outgoing mail)');
});

test('--quarantine header: a p=quarantine failure is accepted, not frozen, and marked X-Mailward-Quarantine', async () => {
  await stopService();
  await startService(['--quarantine', 'header']);
  const { replies, dir } = await smtp(message('a@hold.example'), { mailFrom: 'a@hold.example', ip: '203.0.113.9' });
  const { headers, frozen } = await queuedHeaders(dir, replies);
  assert.equal(frozen, false);
  assert.match(headers[0] ?? '', /^Authentication-Results: mx\.test;[^]*dmarc=fail/);
  assert.match(headers[1] ?? '', /^Received-SPF: fail\b/);
  assert.equal(headers[2], 'X-Mailward-Quarantine: fails the DMARC policy of hold.example (p=quarantine)');
});

test('service down: with /defer_ok Exim accepts unchecked (no A-R); with `require spam` instead, 451 temporary failure', async () => {
  assert.equal(await stopService(), 0, serviceOutput);
  assert.match(serviceOutput, /mailward exim stopped/);
  const open = await smtp(message('alice@example.org'), { mailFrom: 'alice@example.org' });
  const { headers } = await queuedHeaders(open.dir, open.replies);
  assert.equal(headers.filter((h) => /^Authentication-Results:/i.test(h)).length, 0);
  const mainlog = await readFile(join(open.dir, 'log/mainlog'), 'utf8');
  assert.match(mainlog, /spam acl condition: all spamd servers failed/);
  const closed = await smtp(message('alice@example.org'), { mailFrom: 'alice@example.org', deferOk: false });
  assert.equal(reply(closed.replies, '451'), '451 Temporary local problem - please try later', closed.replies);
  assert.doesNotMatch(closed.replies, /^250 OK id=/m);
});
