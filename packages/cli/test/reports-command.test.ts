/**
 * `mailward reports ...` end to end on a real SQLite file: the public samples ingested with exact
 * counts and idempotently, summary and export, the demo, and argument errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testdataPath } from '@mailward/testkit';
import { runProgram } from '../src/program.js';
import { csvField } from '../src/commands/reports.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
const dir = mkdtempSync(join(tmpdir(), 'mailward-reports-cli-'));
const samples = testdataPath('parsedmarc', 'samples');

test('reports ingest: the parsedmarc samples, exact counts; a second run stores nothing new', async () => {
  const store = `sqlite:${join(dir, 'samples.db')}`;
  const first = await runProgram(['reports', 'ingest', samples, '--store', store, '--json'], env);
  assert.equal(first.exitCode, 0, first.stderr);
  // 19 aggregate files of which 2 repeat a report (same reporter, id, domain and range), 1 in
  // aggregate_invalid, 4 in extract_report of which 2 repeat; 5 failure reports of which the CRLF
  // copy repeats; 4 TLS; empty.xml.
  assert.deepEqual(JSON.parse(first.stdout), {
    items: 34,
    aggregate: 20,
    failure: 4,
    tls: 4,
    duplicates: 5,
    quarantined: 1,
  });
  const second = await runProgram(['reports', 'ingest', samples, '--store', store], env);
  assert.equal(second.exitCode, 0);
  assert.match(
    second.stdout,
    /^Read 34 items: stored 0 aggregate, 0 failure and 0 SMTP TLS reports; 33 already stored; 1 quarantined\n/,
  );
  assert.match(second.stdout, /empty\.xml: quarantined: no report found: input: empty/);

  const summary = await runProgram(['reports', 'summary', '--store', store, '--json'], env);
  const json = JSON.parse(summary.stdout) as {
    totals: { reports: number; messages: number; dmarcPass: number; dmarcFail: number };
  };
  assert.equal(json.totals.reports, 20);
  assert.equal(json.totals.messages, json.totals.dmarcPass + json.totals.dmarcFail);
  const borschow = await runProgram(
    ['reports', 'summary', '--store', store, '--domain', 'borschow.com', '--json'],
    env,
  );
  assert.deepEqual(
    (JSON.parse(borschow.stdout) as { totals: { reports: number; messages: number; dmarcPass: number } }).totals
      .reports,
    1,
  );
});

test('reports export: CSV with a header, quoting, and spreadsheet formulas defused', async () => {
  const store = `sqlite:${join(dir, 'export.db')}`;
  const reports = join(dir, 'in');
  const xml = (id: string, from: string) =>
    `<feedback><report_metadata><org_name>=HYPERLINK("http://evil")</org_name><email>a@b</email><report_id>${id}</report_id><date_range><begin>1800000000</begin><end>1800086399</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip><count>5</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf><reason><type>forwarded</type></reason></policy_evaluated></row><identifiers><header_from>${from}</header_from></identifiers><auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim><dkim><domain>mail.example.net</domain><result>fail</result></dkim><spf><domain>bounce.example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record></feedback>`;
  const { mkdirSync } = await import('node:fs');
  mkdirSync(reports);
  writeFileSync(join(reports, 'a.xml'), xml('a,"1"', 'example.com'));
  assert.equal((await runProgram(['reports', 'ingest', reports, '--store', store], env)).exitCode, 0);
  const csv = await runProgram(['reports', 'export', '--store', store, '--format', 'csv'], env);
  assert.equal(csv.exitCode, 0, csv.stderr);
  const lines = csv.stdout.trimEnd().split('\n');
  assert.equal(
    lines[0],
    'reporter,reportId,policyDomain,begin,end,sourceIp,count,disposition,headerFrom,envelopeFrom,dmarcPass,reporterDkim,reporterSpf,recomputedDmarcPass,recomputedDkimAligned,recomputedSpfAligned,dkimDomains,dkimSelectors,dkimResults,spfDomains,spfScopes,spfResults,overrideReasons,ptr,ptrConfirmed,asn,asName,country,service',
  );
  assert.equal(
    lines[1],
    `"'=HYPERLINK(""http://evil"")","a,""1""",example.com,2027-01-15T08:00:00Z,2027-01-16T07:59:59Z,192.0.2.1,5,none,example.com,,true,pass,fail,true,true,true,example.com mail.example.net,s1 none,pass fail,bounce.example.com,mfrom,pass,forwarded,,,,,,`,
  );
  const jsonLines = await runProgram(['reports', 'export', '--store', store, '--format', 'json'], env);
  assert.deepEqual(JSON.parse(jsonLines.stdout.split('\n')[0] ?? ''), {
    reporter: '=HYPERLINK("http://evil")',
    reportId: 'a,"1"',
    policyDomain: 'example.com',
    begin: '2027-01-15T08:00:00Z',
    end: '2027-01-16T07:59:59Z',
    sourceIp: '192.0.2.1',
    count: 5,
    disposition: 'none',
    headerFrom: 'example.com',
    envelopeFrom: null,
    dmarcPass: true,
    reporterDkim: 'pass',
    reporterSpf: 'fail',
    recomputed: { dmarcPass: true, dkimAligned: true, spfAligned: true },
    dkim: [
      { domain: 'example.com', selector: 's1', result: 'pass' },
      { domain: 'mail.example.net', result: 'fail' },
    ],
    spf: [{ domain: 'bounce.example.com', scope: 'mfrom', result: 'pass' }],
    overrideReasons: [{ type: 'forwarded' }],
  });
  assert.equal(csvField('-1+2'), "'-1+2");
  assert.equal(csvField(3), '3');
});

test('reports demo: generates, ingests and summarises; a second run finds every report already stored', async () => {
  const store = `sqlite:${join(dir, 'demo.db')}`;
  const files = join(dir, 'demo-files');
  const out = await runProgram(['reports', 'demo', '--store', store, '--dir', files], env);
  assert.equal(out.exitCode, 0, out.stderr);
  assert.equal(readdirSync(files).length, 31);
  assert.match(
    out.stdout,
    /Read 31 items: stored 28 aggregate, 1 failure and 1 SMTP TLS reports; 0 already stored; 1 quarantined/,
  );
  assert.match(out.stdout, /Readiness for p=reject: not ready/);
  assert.match(out.stdout, /fix 167\.89\.12\.34 \(SendGrid\)/);
  const again = await runProgram(['reports', 'demo', '--store', store, '--dir', files, '--json'], env);
  const json = JSON.parse(again.stdout) as { totals: { reports: number }; readiness: { ready: boolean } };
  assert.deepEqual([json.totals.reports, json.readiness.ready], [28, false]);
});

test('reports: bad arguments are usage errors (exit 2) with a reason', async () => {
  const since = await runProgram(
    ['reports', 'summary', '--store', `sqlite:${join(dir, 'x.db')}`, '--since', 'last week'],
    env,
  );
  assert.equal(since.exitCode, 2);
  assert.match(
    since.stderr,
    /--since "last week": expected a day that exists, YYYY-MM-DD \(UTC\), or an ISO date-time/,
  );
  const pg = await runProgram(['reports', 'summary', '--store', 'postgres://postgres@127.0.0.1:1/test'], env);
  assert.equal(pg.exitCode, 1);
  assert.match(pg.stderr, /cannot open the PostgreSQL store postgres:\/\/127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
  const badUrl = await runProgram(['reports', 'summary', '--store', 'postgres://[bad'], env);
  assert.equal(badUrl.exitCode, 2);
  const store = `sqlite:${join(dir, 'x.db')}`;
  const ftp = await runProgram(['reports', 'ingest', 'ftp://mail.example.com/x', '--store', store], env);
  assert.equal(ftp.exitCode, 2);
  assert.match(ftp.stderr, /unsupported source/);
  const noUser = await runProgram(['reports', 'ingest', 'imap://mail.example.com/INBOX', '--store', store], env);
  assert.equal(noUser.exitCode, 2);
  assert.match(noUser.stderr, /give the user name \(imap:\/\/USER@host\/INBOX\)/);
  const watchFiles = await runProgram(['reports', 'ingest', dir, '--watch', '--store', store], env);
  assert.equal(watchFiles.exitCode, 2);
  assert.match(watchFiles.stderr, /--watch needs imap:\/\/ or imaps:\/\/ inputs/);
  const missing = await runProgram(
    ['reports', 'ingest', join(dir, 'nope'), '--store', `sqlite:${join(dir, 'x.db')}`],
    env,
  );
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /nope: no such file or directory \(check the path\)/);
  const emptyDir = join(dir, 'empty-dir');
  const { mkdirSync: makeDir } = await import('node:fs');
  makeDir(emptyDir);
  writeFileSync(join(dir, 'random.bin'), Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]));
  const nothing = await runProgram(
    ['reports', 'ingest', emptyDir, `mbox:${join(dir, 'random.bin')}`, '--store', `sqlite:${join(dir, 'x.db')}`],
    env,
  );
  assert.equal(nothing.exitCode, 0);
  assert.match(
    nothing.stdout,
    /empty-dir: nothing found to read \(expected report files or a directory holding some\)/,
  );
  assert.match(
    nothing.stdout,
    /random\.bin: nothing found to read \(expected an mbox file, messages after "From " lines\)/,
  );
  const never = join(dir, 'never-created.db');
  const typo = await runProgram(['reports', 'ingest', join(dir, 'nope'), '--store', `sqlite:${never}`], env);
  assert.equal(typo.exitCode, 1);
  assert.equal(existsSync(never), false, 'no store is created for an input that does not exist');
  for (const command of [
    ['reports', 'enrich', '--dns', '127.0.0.1:9'],
    ['reports', 'upgrade'],
  ]) {
    const result = await runProgram([...command, '--store', `sqlite:${never}`], env);
    assert.equal(result.exitCode, 1, command.join(' '));
    assert.match(result.stderr, /the store .*never-created\.db does not exist/);
  }
  assert.equal(existsSync(never), false, 'enrich and upgrade do not create a store either');
  const foreign = join(dir, 'foreign.db');
  const other = new Database(foreign);
  other.exec('CREATE TABLE scan_results (domain TEXT)');
  other.close();
  const mixed = await runProgram(['reports', 'ingest', samples, '--store', `sqlite:${foreign}`], env);
  assert.equal(mixed.exitCode, 1);
  assert.match(
    mixed.stderr,
    /foreign\.db is not a mailward report store \(it holds scan_results\): give --store another file/,
  );
});

test('reports enrich: PTR names (forward-confirmed) and AS facts name the services in the summary', async () => {
  const store = `sqlite:${join(dir, 'enrich.db')}`;
  assert.equal(
    (await runProgram(['reports', 'demo', '--store', store, '--dir', join(dir, 'enrich-files')], env)).exitCode,
    0,
  );
  const fixture = join(dir, 'ptr.yaml');
  writeFileSync(
    fixture,
    [
      "'41.220.85.209.in-addr.arpa': [{ PTR: mail-sor-f41.google.com }]",
      "'mail-sor-f41.google.com': [{ A: 209.85.220.41 }]",
      "'21.8.240.54.in-addr.arpa': [{ PTR: a8-21.smtp-out.amazonses.com }]",
      "'a8-21.smtp-out.amazonses.com': [{ A: 54.240.8.21 }]",
      "'66.113.0.203.in-addr.arpa': [{ PTR: mail.google.com }]",
      "'10.2.0.192.in-addr.arpa': ['TIMEOUT']",
      '',
    ].join('\n'),
  );
  const enriched = await runProgram(['reports', 'enrich', '--store', store, '--dns-fixture', fixture, '--json'], env);
  assert.equal(enriched.exitCode, 0, enriched.stderr);
  const counts = JSON.parse(enriched.stdout) as {
    addresses: number;
    withPtr: number;
    ptrConfirmed: number;
    services: Record<string, number>;
  };
  assert.deepEqual([counts.addresses, counts.withPtr, counts.ptrConfirmed], [8, 3, 2]);
  assert.equal(counts.services['Amazon SES'], 1);
  assert.equal(counts.services['SendGrid'], 1); // by its AS, 11377
  assert.equal(counts.services['Google Workspace'], 1);
  const again = await runProgram(['reports', 'enrich', '--store', store, '--dns-fixture', fixture], env);
  assert.match(again.stdout, /^Enriched 0 addresses/);
  const summary = await runProgram(['reports', 'summary', '--store', store], env);
  assert.match(summary.stdout, /54\.240\.8\.21 +example\.com +[\d,]+ +100\.0% +Amazon SES/);
  assert.match(summary.stdout, /209\.85\.220\.41 +example\.com +[\d,]+ +100\.0% +Google Workspace/);
  // 203.0.113.66 claims mail.google.com without confirmation: not named Google.
  assert.match(summary.stdout, /203\.0\.113\.66 +example\.com +[\d,]+ +0\.0% +- +unauthenticated/);
});
