/**
 * `mailward reports ingest imap://...` against a real Dovecot: a mailbox of reports (zip, gzip,
 * plain XML, failure, TLS and junk) is ingested; stored messages move to Archive, junk to Invalid;
 * a rerun finds nothing; watch mode (IDLE) picks up new mail, survives a server restart, and stops
 * cleanly on SIGTERM.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Buffer } from 'node:buffer';
import { ImapFlow } from 'imapflow';
import Database from 'better-sqlite3';
import type { DovecotServer } from '@mailward/testkit';
import { startDovecot, testdataPath } from '@mailward/testkit';
import { runProgram } from '../src/program.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const sample = (...parts: string[]) => readFileSync(testdataPath('parsedmarc', 'samples', ...parts));
const dir = mkdtempSync(join(tmpdir(), 'mailward-imap-'));
let dovecot: DovecotServer;

const xmlReport = (id: string) =>
  `<?xml version="1.0"?><feedback><version>1.0</version><report_metadata><org_name>plain.example</org_name><email>r@plain.example</email><report_id>${id}</report_id><date_range><begin>1800000000</begin><end>1800086399</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip><count>4</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><result>pass</result></dkim></auth_results></record></feedback>`;
const plainMail = (id: string) =>
  `From: r@plain.example\r\nTo: dmarc@example.com\r\nSubject: Report ${id}\r\nMessage-ID: <${id}@plain.example>\r\nContent-Type: text/xml\r\n\r\n${xmlReport(id)}\r\n`;

async function client(server: DovecotServer): Promise<ImapFlow> {
  const imap = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    auth: { user: server.user, pass: server.password },
    logger: false,
  });
  await imap.connect();
  return imap;
}

async function counts(server: DovecotServer): Promise<Record<string, number>> {
  const imap = await client(server);
  const result: Record<string, number> = {};
  for (const folder of ['INBOX', 'Archive', 'Invalid']) {
    const exists = (await imap.list()).some((m) => m.path === folder);
    const status = exists ? await imap.status(folder, { messages: true }) : false;
    result[folder] = status === false ? 0 : (status.messages ?? 0);
  }
  await imap.logout();
  return result;
}

async function append(server: DovecotServer, messages: (Buffer | string)[]): Promise<void> {
  const imap = await client(server);
  for (const message of messages) await imap.append('INBOX', message);
  await imap.logout();
}

before(async () => {
  dovecot = await startDovecot();
});
after(async () => {
  await dovecot?.stop();
});

const env = () => ({
  hostname: 'mx.test',
  readStdin: () => Promise.resolve(new Uint8Array()),
  imapPassword: dovecot.password,
});
const url = () => `imap://${dovecot.user}@${dovecot.host}:${dovecot.port}/INBOX`;

test('a mailbox of reports is ingested; messages move to Archive or Invalid only after the commit', async () => {
  await append(dovecot, [
    sample('aggregate', 'Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml'),
    sample('aggregate', 'mimecast-weird-gzip.eml'),
    plainMail('plain-1'),
    sample('failure', 'dmarc_ruf_report_linkedin.eml'),
    sample('smtp_tls', 'google.com_smtp_tls_report.eml'),
    'From: someone@example.net\r\nSubject: Out of office\r\n\r\nI am away.\r\n',
  ]);
  const store = `sqlite:${join(dir, 'imap.db')}`;
  const first = await runProgram(['reports', 'ingest', url(), '--store', store, '--json'], env());
  assert.equal(first.exitCode, 0, first.stderr);
  assert.deepEqual(JSON.parse(first.stdout), {
    items: 6,
    aggregate: 3,
    failure: 1,
    tls: 1,
    duplicates: 0,
    quarantined: 1,
  });
  assert.deepEqual(await counts(dovecot), { INBOX: 0, Archive: 5, Invalid: 1 });

  const again = await runProgram(['reports', 'ingest', url(), '--store', store, '--json'], env());
  assert.deepEqual(JSON.parse(again.stdout), {
    items: 0,
    aggregate: 0,
    failure: 0,
    tls: 0,
    duplicates: 0,
    quarantined: 0,
  });

  // The same report arriving twice is stored once; the copy is archived too.
  await append(dovecot, [plainMail('plain-1')]);
  const duplicate = await runProgram(['reports', 'ingest', url(), '--store', store, '--json'], env());
  assert.deepEqual(JSON.parse(duplicate.stdout), {
    items: 1,
    aggregate: 0,
    failure: 0,
    tls: 0,
    duplicates: 1,
    quarantined: 0,
  });
  assert.deepEqual(await counts(dovecot), { INBOX: 0, Archive: 6, Invalid: 1 });
});

test('IMAP errors are clear: a wrong password, a missing password', async () => {
  const wrong = await runProgram(['reports', 'ingest', url(), '--store', `sqlite:${join(dir, 'x.db')}`], {
    ...env(),
    imapPassword: 'nope',
  });
  assert.equal(wrong.exitCode, 1);
  assert.match(wrong.stderr, /imap:\/\/reports@127\.0\.0\.1:\d+\/INBOX: .*(auth|AUTHENTICATIONFAILED|failed)/i);
  assert.doesNotMatch(wrong.stderr, /nope/);
  const missing = await runProgram(['reports', 'ingest', url(), '--store', `sqlite:${join(dir, 'x.db')}`], {
    ...env(),
    imapPassword: undefined,
  });
  assert.equal(missing.exitCode, 2);
  assert.match(missing.stderr, /no password \(set MAILWARD_IMAP_PASSWORD\)/);
});

test('watch mode: new mail is ingested as it arrives, across a server restart; SIGTERM stops it', async () => {
  const db = join(dir, 'watch.db');
  const child = spawn(process.execPath, [MAIN, 'reports', 'ingest', url(), '--watch', '--store', `sqlite:${db}`], {
    env: { ...process.env, MAILWARD_IMAP_PASSWORD: dovecot.password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const storedIds = (): string[] => {
    try {
      const read = new Database(db, { readonly: true, fileMustExist: true });
      const ids = (
        read.prepare('SELECT report_id FROM aggregate_reports ORDER BY report_id').all() as { report_id: string }[]
      ).map((r) => r.report_id);
      read.close();
      return ids;
    } catch {
      return [];
    }
  };
  const waitFor = async (id: string) => {
    const started = Date.now();
    while (!storedIds().includes(id)) {
      assert.ok(Date.now() - started < 30_000, `${id} was not ingested; output:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await append(dovecot, [plainMail('watch-1')]);
    await waitFor('watch-1');
    // The server goes away and comes back on the same port (with an empty mailbox).
    const port = dovecot.port;
    await dovecot.stop();
    dovecot = await startDovecot({ port });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await append(dovecot, [plainMail('watch-2')]);
    await waitFor('watch-2');
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output);
  // One round per report: the second after the watcher reconnected to the restarted server.
  assert.equal(output.match(/stored 1 aggregate/g)?.length, 2, output);
});
