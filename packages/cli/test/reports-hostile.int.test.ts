/**
 * Hostile reports end to end: HTML and SQL in every string field of an aggregate report come back
 * verbatim from the store (as data, never as markup or SQL), and a 100 MB mail is refused into the
 * quarantine with its reason, without holding up the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../src/program.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
const EVIL = `<img src=x onerror=alert(1)>'); DROP TABLE aggregate_reports; --"`;
const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

test('HTML and SQL in every string field are stored and exported verbatim', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-hostile-'));
  const e = xml(EVIL);
  const report = `<?xml version="1.0"?><feedback><version>1.0</version><report_metadata><org_name>${e}</org_name><email>${e}</email><extra_contact_info>${e}</extra_contact_info><report_id>${e}</report_id><date_range><begin>1800000000</begin><end>1800086399</end></date_range><error>${e}</error></report_metadata><policy_published><domain>${e}</domain><p>${e}</p></policy_published><record><row><source_ip>${e}</source_ip><count>7</count><policy_evaluated><disposition>${e}</disposition><dkim>${e}</dkim><spf>${e}</spf><reason><type>${e}</type><comment>${e}</comment></reason></policy_evaluated></row><identifiers><envelope_to>${e}</envelope_to><envelope_from>${e}</envelope_from><header_from>${e}</header_from></identifiers><auth_results><dkim><domain>${e}</domain><selector>${e}</selector><result>${e}</result><human_result>${e}</human_result></dkim><spf><domain>${e}</domain><scope>${e}</scope><result>${e}</result></spf></auth_results></record></feedback>`;
  const input = join(dir, 'in');
  mkdirSync(input);
  writeFileSync(join(input, 'evil.xml'), report);
  const store = `sqlite:${join(dir, 'r.db')}`;
  const ingested = await runProgram(['reports', 'ingest', input, '--store', store, '--json'], env);
  assert.equal(ingested.exitCode, 0, ingested.stderr);
  assert.equal((JSON.parse(ingested.stdout) as { aggregate: number }).aggregate, 1);
  const exported = await runProgram(['reports', 'export', '--store', store, '--format', 'json'], env);
  const row = JSON.parse(exported.stdout.trim()) as Record<string, unknown>;
  const lower = EVIL.toLowerCase();
  // Tokens and domains are lower-cased on parse; everything else is kept as written.
  assert.deepEqual(
    [
      row['reporter'],
      row['reportId'],
      row['policyDomain'],
      row['sourceIp'],
      row['disposition'],
      row['headerFrom'],
      row['envelopeFrom'],
      row['reporterDkim'],
      row['reporterSpf'],
    ],
    [EVIL, EVIL, lower, EVIL, lower, lower, lower, lower, lower],
  );
  assert.equal(row['count'], 7);
  // The tables are intact and the summary renders the values as plain text.
  const summary = await runProgram(['reports', 'summary', '--store', store, '--json'], env);
  const totals = (JSON.parse(summary.stdout) as { totals: { reports: number; messages: number } }).totals;
  assert.deepEqual([totals.reports, totals.messages], [1, 7]);
});

test('a 100 MB mail and a 40 MB mail are quarantined with their reasons; the reports beside them are stored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-hostile-'));
  const input = join(dir, 'in');
  mkdirSync(input);
  const big = openSync(join(input, 'a-huge.eml'), 'w');
  writeSync(
    big,
    'From: flood@attacker.example\r\nTo: dmarc@example.com\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n',
  );
  const line = `${'A'.repeat(998)}\r\n`.repeat(1024);
  for (let i = 0; i < 103; i += 1) writeSync(big, line); // 105 MB
  closeSync(big);
  const medium = openSync(join(input, 'a-large.eml'), 'w');
  writeSync(medium, 'From: flood@attacker.example\r\nSubject: large\r\n\r\n');
  for (let i = 0; i < 40; i += 1) writeSync(medium, line);
  closeSync(medium);
  writeFileSync(
    join(input, 'b-report.xml'),
    '<feedback><report_metadata><org_name>r.example</org_name><email>a@r.example</email><report_id>ok-1</report_id><date_range><begin>1800000000</begin><end>1800086399</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results/></record></feedback>',
  );
  const out = await runProgram(['reports', 'ingest', input, '--store', `sqlite:${join(dir, 'r.db')}`], env);
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(
    out.stdout,
    /^Read 3 items: stored 1 aggregate, 0 failure and 0 SMTP TLS reports; 0 already stored; 2 quarantined/,
  );
  assert.match(out.stdout, /a-huge\.eml: quarantined: .*a-huge\.eml: 10\d{7} bytes, too large to unpack/);
  assert.match(out.stdout, /a-large\.eml: quarantined: input: mail of 4\d{7} bytes is over the 33554432-byte limit/);
});
