/**
 * Crash safety: `mailward reports ingest maildir:DIR` is killed with SIGKILL in the middle of a
 * large mailbox. At that moment every message already marked seen must have its report committed
 * (no message acknowledged before its commit), the database must be intact, and a rerun must
 * store every report exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const MESSAGES = 1500;

function reportMail(i: number): string {
  const begin = 1_790_000_000 + i * 86_400;
  const records = Array.from(
    { length: 40 },
    (_, r) =>
      `<record><row><source_ip>10.0.${r}.${i % 250}</source_ip><count>${r + 1}</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><result>pass</result></dkim></auth_results></record>`,
  ).join('');
  const xml = `<?xml version="1.0"?><feedback><version>1.0</version><report_metadata><org_name>crash.example</org_name><email>r@crash.example</email><report_id>crash-${i}</report_id><date_range><begin>${begin}</begin><end>${begin + 86_399}</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>${records}</feedback>`;
  const attachment = gzipSync(Buffer.from(xml))
    .toString('base64')
    .replace(/(.{76})/g, '$1\r\n');
  return [
    'From: noreply@crash.example',
    'To: dmarc@example.com',
    `Subject: Report Domain: example.com Report-ID: crash-${i}`,
    `Message-ID: <crash-${i}@crash.example>`,
    'MIME-Version: 1.0',
    'Content-Type: application/gzip; name="report.xml.gz"',
    'Content-Transfer-Encoding: base64',
    '',
    attachment,
    '',
  ].join('\r\n');
}

function seenIds(maildir: string): string[] {
  return readdirSync(join(maildir, 'cur'))
    .filter((file) => /:2,[A-Z]*S/.test(file))
    .map(
      (file) => /Report-ID: (crash-\d+)/.exec(readFileSync(join(maildir, 'cur', file), 'latin1'))?.[1] ?? `?${file}`,
    );
}

function ingest(maildir: string, db: string): ReturnType<typeof spawn> {
  return spawn(process.execPath, [MAIN, 'reports', 'ingest', `maildir:${maildir}`, '--store', `sqlite:${db}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('kill -9 during a Maildir ingest, then rerun: every report stored exactly once, nothing acknowledged early', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-crash-'));
  const maildir = join(dir, 'Maildir');
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  for (let i = 0; i < MESSAGES; i += 1)
    writeFileSync(join(maildir, 'new', `${1_800_000_000 + i}.M${i}.host`), reportMail(i));
  const db = join(dir, 'reports.db');

  const child = ingest(maildir, db);
  // Wait until a good part of the mailbox is processed, then kill without warning.
  const started = Date.now();
  while (readdirSync(join(maildir, 'cur')).length < MESSAGES / 4) {
    assert.ok(Date.now() - started < 120_000, 'the ingest made no progress');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const acknowledged = seenIds(maildir);
  assert.ok(acknowledged.length < MESSAGES, 'the kill came too late to test anything');

  const check = new Database(db, { readonly: true });
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  const stored = new Set(
    (check.prepare('SELECT report_id FROM aggregate_reports').all() as { report_id: string }[]).map((r) => r.report_id),
  );
  check.close();
  const early = acknowledged.filter((id) => !stored.has(id));
  assert.deepEqual(early, [], 'messages marked seen before their report was committed');

  const rerun = ingest(maildir, db);
  let output = '';
  rerun.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise((resolve) => rerun.once('exit', resolve));
  assert.equal(code, 0, output);
  const after = new Database(db, { readonly: true });
  const rows = after.prepare('SELECT report_id, COUNT(*) AS n FROM aggregate_reports GROUP BY report_id').all() as {
    report_id: string;
    n: number;
  }[];
  const records = (after.prepare('SELECT COUNT(*) AS n FROM aggregate_records').get() as { n: number }).n;
  after.close();
  assert.equal(rows.length, MESSAGES);
  assert.ok(rows.every((r) => r.n === 1));
  assert.equal(records, MESSAGES * 40);
  assert.equal(seenIds(maildir).length, MESSAGES);
  assert.deepEqual(readdirSync(join(maildir, 'new')), []);
});
