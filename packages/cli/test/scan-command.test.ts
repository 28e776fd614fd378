/** `mailward scan` on a zone fixture: bad lines, IDNs, duplicates, resume, NDJSON/CSV, report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../src/program.js';
import { domainOfLine } from '../src/commands/scan.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
const dir = mkdtempSync(join(tmpdir(), 'mailward-scan-cmd-'));
const fixture = join(dir, 'zone.yaml');
writeFileSync(
  fixture,
  `
a.example: [{ TXT: 'v=spf1 -all' }, { MX: [0, '.'] }]
_dmarc.a.example: [{ TXT: 'v=DMARC1; p=reject; rua=mailto:r@a.example' }]
b.example: [{ TXT: 'v=spf1 +all' }, { MX: [10, mx.b.example] }]
mx.b.example: [{ A: 192.0.2.1 }]
xn--bcher-kva.example: [{ TXT: 'v=spf1 ~all' }, { MX: [10, mx.b.example] }]
_dmarc.xn--bcher-kva.example: [{ TXT: 'v=DMARC1; p=none' }]
down.example: [REFUSED]
`,
);
const list = join(dir, 'domains.txt');
writeFileSync(
  list,
  `a.example\n# a comment\n\nb.example\nnot a domain\n${'x'.repeat(300)}.example\nB.EXAMPLE.\nbücher.example\n`,
);

test('domain lines: comments and blanks skipped, IDNs to A-labels, garbage and long names refused', () => {
  assert.equal(domainOfLine('# x'), undefined);
  assert.deepEqual(domainOfLine(' Bücher.Example. '), { domain: 'xn--bcher-kva.example' });
  assert.deepEqual(domainOfLine('no spaces allowed'), { reason: 'not a domain name' });
  assert.match((domainOfLine(`${'a'.repeat(300)}.example`) as { reason: string }).reason, /at most 253/);
});

test('scan: results in SQLite and NDJSON, bad lines reported with their numbers, a rerun adds nothing', async () => {
  const args = ['scan', list, '--db', join(dir, 'r.db'), '--out', join(dir, 'r.ndjson'), '--dns-fixture', fixture];
  const first = await runProgram(args, env);
  assert.equal(first.exitCode, 0, first.stderr);
  assert.match(
    first.stdout,
    /^Scanned 3 domains in .*; 1 already in .* or repeated; 3 in all\n2 lines skipped:\n {2}line 5: not a domain name: "not a domain"\n {2}line 6: 308 characters/,
  );
  const lines = readFileSync(join(dir, 'r.ndjson'), 'utf8').trimEnd().split('\n');
  const results = lines.map((l) => JSON.parse(l) as { domain: string; grade: string; findings: { code: string }[] });
  assert.deepEqual(results.map((r) => r.domain).sort(), ['a.example', 'b.example', 'xn--bcher-kva.example']);
  assert.equal(results.find((r) => r.domain === 'b.example')?.grade, 'F');
  const second = await runProgram(args, env);
  assert.match(second.stdout, /^Scanned 0 domains/);
  assert.equal(readFileSync(join(dir, 'r.ndjson'), 'utf8').trimEnd().split('\n').length, 3);
});

test('scan: after a crash, a half-written line is cut and a stored result missing from the output is written once', async () => {
  const db = join(dir, 'crash.db');
  const out = join(dir, 'crash.ndjson');
  const args = ['scan', list, '--db', db, '--out', out, '--dns-fixture', fixture];
  await runProgram(args, env);
  // Simulate the crash: the last line half-written, and one stored row not marked as exported.
  const text = readFileSync(out, 'utf8').trimEnd().split('\n');
  writeFileSync(out, `${text.slice(0, 2).join('\n')}\n`);
  appendFileSync(out, text[2]?.slice(0, 20) ?? '');
  const Database = (await import('better-sqlite3')).default;
  const raw = new Database(db);
  raw
    .prepare('UPDATE scan_results SET exported = 0 WHERE domain = ?')
    .run((JSON.parse(text[2] ?? '{}') as { domain: string }).domain);
  raw
    .prepare('UPDATE scan_results SET exported = 0 WHERE domain = ?')
    .run((JSON.parse(text[0] ?? '{}') as { domain: string }).domain);
  raw.close();
  await runProgram(args, env);
  const after = readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { domain: string }).domain);
  assert.deepEqual(after.sort(), ['a.example', 'b.example', 'xn--bcher-kva.example']);
});

test('scan --out .csv and scan report: statistics as text and an HTML page with charts', async () => {
  const db = join(dir, 'csv.db');
  await runProgram(['scan', list, '--db', db, '--out', join(dir, 'r.csv'), '--dns-fixture', fixture], env);
  const csv = readFileSync(join(dir, 'r.csv'), 'utf8').trimEnd().split('\n');
  assert.equal(
    csv[0],
    'domain,status,grade,hasSpf,spfValid,spfAll,dmarcPolicy,hasRua,dkimFound,mtaSts,tlsRpt,dnssec,nullMx,errors,warnings',
  );
  assert.equal(csv.length, 4);
  const report = await runProgram(['scan', 'report', db, '--html', join(dir, 'report.html')], env);
  assert.equal(report.exitCode, 0, report.stderr);
  assert.match(report.stdout, /^Survey of 3 domains audited\n/);
  assert.match(report.stdout, /with an SPF record +3 +100\.0%/);
  assert.match(report.stdout, /SPF ending in \+all +1 +33\.3%/);
  assert.match(report.stdout, /DMARC p=reject +1 +33\.3%/);
  assert.match(report.stdout, /null MX +1 +33\.3%/);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /Survey of 3 domains/);
});

test('scan on a terminal: a progress bar with the share of the list, the rate and the time left', async () => {
  const { countLines, duration, progressLine } = await import('../src/commands/scan-progress.js');
  assert.equal(await countLines(list), 8);
  writeFileSync(join(dir, 'no-newline.txt'), 'a.example\nb.example');
  assert.equal(await countLines(join(dir, 'no-newline.txt')), 2);
  assert.deepEqual(
    [duration(7), duration(750), duration(11_045), duration(Infinity)],
    ['0:07', '12:30', '3:04:05', '?'],
  );
  assert.equal(
    progressLine({ linesDone: 2500, linesTotal: 10_000, scanned: 2400, skipped: 90, badLines: 10, seconds: 5 }),
    '[######------------------]  25% · 2,500/10,000 lines · 2,400 scanned, 90 skipped, 10 bad · 480 domains/s · ETA 0:15',
  );
  const shown: string[] = [];
  const out = await runProgram(['scan', list, '--db', join(dir, 'tty.db'), '--dns-fixture', fixture], {
    ...env,
    status: (text: string) => shown.push(text),
  });
  assert.equal(out.exitCode, 0);
  // The last line is complete (8 of 8 lines) and ends with a newline, so it stays above the summary.
  assert.match(
    shown.at(-1) ?? '',
    /^\[#{24}\] 100% · 8\/8 lines · 3 scanned, 1 skipped, 2 bad · \d+ domains\/s · ETA 0:00\n$/,
  );
});

test('scan: a DNS server that does not answer over TCP gets UDP, and the user is told', async () => {
  const { respondTo, startFakeServer } = await import('@mailward/testkit');
  // Answers every UDP question with NXDOMAIN; accepts TCP connections and never answers on them.
  const server = await startFakeServer({
    udp: (query) => (query ? [respondTo(query, { rcode: 3 })] : []),
    tcp: () => [],
  });
  try {
    writeFileSync(join(dir, 'one.txt'), 'gone.example\n');
    const out = await runProgram(
      ['scan', join(dir, 'one.txt'), '--db', join(dir, 'udp.db'), '--dns', `${server.host}:${server.port}`],
      env,
    );
    assert.equal(out.exitCode, 0, out.stderr);
    assert.match(out.stderr, /^mailward scan: 127\.0\.0\.1:\d+ did not answer over TCP; using UDP\n/);
    assert.match(out.stdout, /^Scanned 1 domain in /);
    assert.ok(server.received.udp > 1);
  } finally {
    await server.stop();
  }
});

test('scan: each row has a status; nonexistent and failed domains are counted apart, in CSV, NDJSON and the report', async () => {
  const mixed = join(dir, 'mixed.txt');
  writeFileSync(mixed, 'a.example\nb.example\ngone.example\ndown.example\n');
  const db = join(dir, 'mixed.db');
  const out = await runProgram(
    ['scan', mixed, '--db', db, '--out', join(dir, 'mixed.csv'), '--dns-fixture', fixture],
    env,
  );
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(out.stdout, /\n2 audited, 1 do not exist \(NXDOMAIN\), 1 could not be checked \(DNS lookups failed\)/);
  const csv = readFileSync(join(dir, 'mixed.csv'), 'utf8').trimEnd().split('\n').slice(1).sort();
  assert.deepEqual(
    csv.map((line) => line.split(',').slice(0, 3).join(',')),
    ['a.example,ok,A', 'b.example,ok,F', 'down.example,dns-failed,', 'gone.example,nxdomain,'],
  );
  await runProgram(
    ['scan', mixed, '--db', join(dir, 'mixed2.db'), '--out', join(dir, 'mixed.ndjson'), '--dns-fixture', fixture],
    env,
  );
  const rows = readFileSync(join(dir, 'mixed.ndjson'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { domain: string; status: string; grade: string | null });
  assert.deepEqual(
    rows.find((r) => r.domain === 'down.example'),
    { ...rows.find((r) => r.domain === 'down.example'), status: 'dns-failed', grade: null },
  );
  assert.equal(rows.find((r) => r.domain === 'gone.example')?.status, 'nxdomain');
  const report = await runProgram(['scan', 'report', db, '--html', join(dir, 'mixed.html')], env);
  assert.match(
    report.stdout,
    /^Survey of 2 domains audited\n\(4 in the results file: 1 do not exist \(NXDOMAIN\) and 1 could not be checked/,
  );
  // Shares are over the 2 audited domains only: one of them ends in +all.
  assert.match(report.stdout, /SPF ending in \+all +1 +50\.0%/);
  assert.match(report.stdout, /Grades: A 1, B 0, C 0, F 1\n/);
});

test('scan report --html: a table per domain, the runs, share definitions; no inline script or style (strict CSP)', async () => {
  const db = join(dir, 'page.db');
  writeFileSync(join(dir, 'page.txt'), 'a.example\nb.example\ngone.example\n');
  await runProgram(['scan', join(dir, 'page.txt'), '--db', db, '--dns-fixture', fixture, '--concurrency', '4'], env);
  const htmlPath = join(dir, 'page', 'index.html');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'page'));
  const report = await runProgram(['scan', 'report', db, '--html', htmlPath, '--table-rows', '2'], env);
  assert.equal(report.exitCode, 0, report.stderr);
  const html = readFileSync(htmlPath, 'utf8');
  // CSP: scripts only from a file beside the page, no <style>, no style= or on*= attributes.
  assert.deepEqual(html.match(/<script[^>]*>/g), ['<script src="mailward-scan-report.js" defer>']);
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
  assert.match(html, /<link rel="stylesheet" href="mailward-scan-report\.css">/);
  assert.match(readFileSync(join(dir, 'page', 'mailward-scan-report.js'), 'utf8'), /addEventListener\('click'/);
  assert.match(readFileSync(join(dir, 'page', 'mailward-scan-report.css'), 'utf8'), /\.grade-F \{ background/);
  // The run: date and parameters.
  assert.match(
    html,
    /<li>\d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d\.\d+Z: <code>[^<]*page\.txt<\/code> \(concurrency 4, time budget \(ms\) 15000/,
  );
  // The table: two rows shown of three, coloured by grade, sortable columns.
  assert.match(html, /The table shows the first 2 of the 3 domains/);
  assert.equal((html.match(/<tr data-status=/g) ?? []).length, 2);
  assert.match(html, /<td class="grade-A" data-value="A">A<\/td>/);
  assert.match(html, /<button type="button" data-column="12" data-type="number">errors<\/button>/);
  // Each share defined; +all explicitly not valid SPF.
  assert.match(html, /<dt>with a valid SPF record<\/dt><dd>[^<]*A &quot;\+all&quot; record is NOT counted as valid/);
  assert.equal((html.match(/<dt>/g) ?? []).length, 16);
});

test('scan checks its list before any DNS query: missing, a directory, binary, no domain in it', async () => {
  const { startFakeServer } = await import('@mailward/testkit');
  const server = await startFakeServer({});
  try {
    const binary = join(dir, 'binary.txt');
    writeFileSync(binary, Buffer.from([0x61, 0x2e, 0x65, 0x78, 0x00, 0x01]));
    const comments = join(dir, 'comments.txt');
    writeFileSync(comments, '# nothing\n\nnot a domain\n');
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.txt'), /missing\.txt: no such file/],
      [dir, /is not a file/],
      [binary, /is not a text file \(a NUL byte at offset 4\)/],
      [comments, /no domain name in .*comments\.txt; line 3: not a domain name/],
    ];
    for (const [list, message] of cases) {
      const out = await runProgram(
        ['scan', list, '--db', join(dir, 'never.db'), '--dns', `${server.host}:${server.port}`],
        env,
      );
      assert.equal(out.exitCode, 2, list);
      assert.match(out.stderr, message);
    }
    assert.deepEqual(server.received, { udp: 0, tcp: 0 }, 'no DNS query was sent');
    const { existsSync } = await import('node:fs');
    assert.ok(!existsSync(join(dir, 'never.db')));
  } finally {
    await server.stop();
  }
});

test('scan --concurrency 0: the message speaks of a count, not of milliseconds', async () => {
  const out = await runProgram(['scan', list, '--concurrency', '0'], env);
  assert.equal(out.exitCode, 2);
  assert.match(
    out.stderr,
    /'--concurrency <n>' argument '0' is invalid\. must be a positive integer \(see --help\)\n$/,
  );
  assert.doesNotMatch(out.stderr, /milliseconds/);
});

test('scan and scan report refuse files that are not scan results, and leave them as they were', async () => {
  const store = join(dir, 'reports.db');
  assert.equal((await runProgram(['reports', 'demo', '--store', `sqlite:${store}`], env)).exitCode, 0);
  const before = readFileSync(store);
  const scan = await runProgram(['scan', list, '--db', store, '--dns', '127.0.0.1:9'], env);
  assert.equal(scan.exitCode, 1);
  assert.match(scan.stderr, /reports\.db is not a mailward scan results file \(it holds schema_migrations, /);
  const report = await runProgram(['scan', 'report', store], env);
  assert.equal(report.exitCode, 1);
  assert.match(report.stderr, /reports\.db is not a mailward scan results file/);
  assert.deepEqual(readFileSync(store), before);
  const csv = join(dir, 'not-a-db.csv');
  writeFileSync(csv, 'domain,grade\nexample.com,A\n');
  const text = await runProgram(['scan', 'report', csv], env);
  assert.equal(text.exitCode, 1);
  assert.match(
    text.stderr,
    /^mailward scan report: .*not-a-db\.csv is not a mailward scan results file \(not a SQLite database\)\n$/,
  );
});
