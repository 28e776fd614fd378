/**
 * `mailward exim` behind a real Exim 4.96, with Knot DNS serving the sender domains: the built
 * CLI runs as a child process, Exim runs one SMTP session per test through the testkit harness
 * (`exim -C CONFIG -bs -oMa IP`, binary from scripts/fetch-exim.sh), with the DATA ACL copied
 * verbatim from docs/exim.md. Accepted messages stay on Exim's queue (queue_only), and the test
 * reads their header lines from the spool -H file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseZone, signDkim } from '@mailward/core';
import type { EximHarness, EximSessionResult, KnotServer } from '@mailward/testkit';
import { createEximHarness, freePort, renderZone, startKnot } from '@mailward/testkit';

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
  const [label, ...body] = block[1]!.trimEnd().split('\n');
  assert.equal(label, 'acl_check_data:');
  // The harness names the ACL itself; blank and comment lines are fine inside it.
  return body.join('\n');
}

/** The documented ACL (fails open, /defer_ok), and the fail-closed variant (require spam). */
let open: EximHarness;
let closed: EximHarness;
let knot: KnotServer;
let port: number;
let service: ChildProcess | undefined;
let serviceOutput = '';

/** Starts the CLI on `port`, the one both Exim configurations name. */
async function startService(extra: readonly string[] = []): Promise<void> {
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
  const parsed = parseZone(ZONE);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  knot = await startKnot({
    zones: [
      { origin: '.', text: renderZone(parsed.zone, { origin: '.' }) },
      { origin: 'broken.example', broken: true },
    ],
  });
  port = await freePort();
  const acl = await documentedAcl();
  const failClosed = acl.replace('warn    spam       = nobody:true/defer_ok', 'require spam       = nobody:true');
  assert.notEqual(failClosed, acl, 'the documented first statement');
  const common = {
    hostname: 'mx.test',
    mainConfig: [`spamd_address = 127.0.0.1 ${port} variant=rspamd tmo=30s`],
  };
  // Forged A-R fields go in the RCPT ACL (docs/exim.md; Exim 4.96 removes by name only).
  const rcpt = 'warn remove_header = Authentication-Results\naccept';
  open = await createEximHarness({ ...common, acls: { rcpt, data: acl } });
  closed = await createEximHarness({ ...common, acls: { rcpt, data: failClosed } });
  await startService();
});

after(async () => {
  await stopService();
  await knot?.stop();
  await open?.cleanup();
  await closed?.cleanup();
});

let sessions = 0;

/** One SMTP session (-bs) from 192.0.2.10 (or `ip`), with the fail-open or fail-closed ACL. */
async function smtp(
  data: string,
  options: { mailFrom: string; ip?: string; failClosed?: boolean },
): Promise<{ result: EximSessionResult; exim: EximHarness }> {
  const exim = options.failClosed === true ? closed : open;
  const result = await exim.session({
    mode: 'bs',
    clientAddress: options.ip ?? '192.0.2.10',
    ehlo: 'client.example',
    from: options.mailFrom,
    to: ['bob@mx.test'],
    data,
  });
  return { result, exim };
}

/** The header lines of a queued message, from Exim's spool -H file, without removed ones ('*'). */
async function queued(session: {
  result: EximSessionResult;
  exim: EximHarness;
}): Promise<{ headers: string[]; frozen: boolean }> {
  const { result, exim } = session;
  assert.equal(result.eod?.code, 250, `${JSON.stringify(result.steps)}\n${result.stderr}\n${exim.log()}`);
  const id = /id=(\S+)/.exec(result.eod.text)?.[1];
  assert.ok(id, result.eod.text);
  const file = await readFile(join(exim.dir, 'spool/input', `${id}-H`), 'latin1');
  // The header lines follow the recipients list and its blank line: "NNNF text", F the flag.
  const spool = file.slice(file.indexOf('\n\n') + 2);
  const headers: string[] = [];
  const starts = [...spool.matchAll(/^(\d{3,})(.) /gm)];
  for (const [i, match] of starts.entries()) {
    const end = starts[i + 1]?.index ?? spool.length;
    if (match[2] !== '*') headers.push(spool.slice(match.index! + match[0].length, end).replace(/\n$/, ''));
  }
  return { headers, frozen: /^-frozen /m.test(file) };
}

/**
 * The end-of-data reply as one line: code, then the text. Exim wraps a long text over several
 * reply lines and repeats the enhanced status code on each ("550-5.7.1 ... (no", "550 5.7.1
 * aligned ..."); the repeats are dropped here.
 */
function eod(result: EximSessionResult): string {
  assert.ok(result.eod, JSON.stringify(result.steps));
  const [first = '', ...rest] = result.eod.lines;
  const status = /^\d\.\d{1,3}\.\d{1,3} /.exec(first)?.[0];
  const more = rest.map((line) => (status !== undefined && line.startsWith(status) ? line.slice(status.length) : line));
  return [`${result.eod.code} ${first}`, ...more].join(' ');
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
  const { headers, frozen } = await queued(await smtp(forged + signed, { mailFrom: 'alice@example.org' }));
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
  const { result } = await smtp(message('ceo@example.org'), { mailFrom: 'ceo@example.org', ip: '203.0.113.9' });
  assert.equal(
    eod(result),
    '550 5.7.1 Message rejected: it fails the DMARC policy of example.org (no aligned SPF or DKIM pass)',
  );
});

test('a DNS failure (SERVFAIL for the sender domain) defers with 451 4.7.5', async () => {
  const { result } = await smtp(message('a@broken.example'), { mailFrom: 'a@broken.example', ip: '203.0.113.9' });
  assert.equal(
    eod(result),
    '451 4.7.5 DMARC policy of broken.example could not be checked (DNS failure); try again later',
  );
});

test('a p=quarantine failure with --quarantine hold (the default) is accepted and frozen, with dmarc=fail', async () => {
  const session = await smtp(message('a@hold.example'), { mailFrom: 'a@hold.example', ip: '203.0.113.9' });
  const { headers, frozen } = await queued(session);
  assert.equal(frozen, true, session.exim.log());
  assert.match(session.exim.log(), /frozen by ACL/);
  assert.match(headers[0] ?? '', /dmarc=fail [^\n]*header\.from=hold\.example/);
});

test('--quarantine header: a p=quarantine failure is accepted, not frozen, and marked X-Mailward-Quarantine', async () => {
  await stopService();
  await startService(['--quarantine', 'header']);
  const { headers, frozen } = await queued(
    await smtp(message('a@hold.example'), { mailFrom: 'a@hold.example', ip: '203.0.113.9' }),
  );
  assert.equal(frozen, false);
  assert.match(headers[0] ?? '', /^Authentication-Results: mx\.test;[^]*dmarc=fail/);
  assert.match(headers[1] ?? '', /^Received-SPF: fail\b/);
  assert.equal(headers[2], 'X-Mailward-Quarantine: fails the DMARC policy of hold.example (p=quarantine)');
});

test('service down: with /defer_ok Exim accepts unchecked (no A-R); with `require spam` instead, 451 temporary failure', async () => {
  assert.equal(await stopService(), 0, serviceOutput);
  assert.match(serviceOutput, /mailward exim stopped/);
  const accepted = await smtp(message('alice@example.org'), { mailFrom: 'alice@example.org' });
  const { headers } = await queued(accepted);
  assert.equal(headers.filter((h) => /^Authentication-Results:/i.test(h)).length, 0);
  assert.match(accepted.exim.log(), /spam acl condition: all spamd servers failed/);
  const refused = await smtp(message('alice@example.org'), { mailFrom: 'alice@example.org', failClosed: true });
  assert.equal(eod(refused.result), '451 Temporary local problem - please try later');
});
