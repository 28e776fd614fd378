/**
 * What the store holds, seen through `mailward reports ...`: the reporters' verdict as the headline
 * (counted independently from the report XML), lists and details of failure reports, TLS reports
 * and quarantined inputs with their filters, readiness thresholds, and the store errors of
 * reading commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { testdataPath } from '@mailward/testkit';
import { unpackReports } from '@mailward/reports';
import { runProgram } from '../src/program.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
const dir = mkdtempSync(join(tmpdir(), 'mailward-reports-stored-'));
const samples = testdataPath('parsedmarc', 'samples');

async function run(...args: string[]) {
  return runProgram(args, env);
}

async function json<T>(...args: string[]): Promise<T> {
  const result = await run(...args, '--json');
  assert.equal(result.exitCode, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

function files(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).flatMap((name) => files(join(path, name)));
}

/**
 * The reporters' own verdicts, counted from the XML text without mailward's aggregate parser: a
 * record passes when its policy_evaluated dkim or spf is "pass". A report repeated in several
 * files (same reporter, id, domain and range) counts once, as the store keeps it once.
 */
async function reporterVerdicts(paths: readonly string[]): Promise<{ messages: number; pass: number }> {
  const seen = new Set<string>();
  let messages = 0;
  let pass = 0;
  const tag = (xml: string, name: string) =>
    new RegExp(`<(?:\\w+:)?${name}>\\s*([^<]*?)\\s*</(?:\\w+:)?${name}>`).exec(xml)?.[1] ?? '';
  for (const path of paths) {
    const unpacked = await unpackReports(readFileSync(path));
    if (!unpacked.ok) continue;
    for (const part of unpacked.parts.filter((p) => p.kind === 'aggregate')) {
      const xml = Buffer.from(part.bytes).toString('utf8');
      const metadata = tag(xml.replace(/<(?:\w+:)?record>[\s\S]*/, ''), 'report_id');
      const key = [tag(xml, 'org_name'), metadata, tag(xml, 'domain'), tag(xml, 'begin'), tag(xml, 'end')].join('|');
      if (seen.has(key)) continue;
      seen.add(key);
      for (const record of xml.match(/<(?:\w+:)?record>[\s\S]*?<\/(?:\w+:)?record>/g) ?? []) {
        const count = Number(tag(record, 'count'));
        const evaluated = /<(?:\w+:)?policy_evaluated>([\s\S]*?)<\/(?:\w+:)?policy_evaluated>/.exec(record)?.[1] ?? '';
        messages += count;
        if (tag(evaluated, 'dkim') === 'pass' || tag(evaluated, 'spf') === 'pass') pass += count;
      }
    }
  }
  return { messages, pass };
}

const aggregateXml = (o: {
  org: string;
  id: string;
  rows: readonly { ip: string; count: number; from: string; dkim: string; spf: string; authDkim?: string }[];
}) =>
  `<?xml version="1.0"?><feedback><report_metadata><org_name>${o.org}</org_name><email>r@${o.org}</email><report_id>${o.id}</report_id><date_range><begin>1796256000</begin><end>1796342399</end></date_range></report_metadata><policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p></policy_published>${o.rows
    .map(
      (r) =>
        `<record><row><source_ip>${r.ip}</source_ip><count>${r.count}</count><policy_evaluated><disposition>none</disposition><dkim>${r.dkim}</dkim><spf>${r.spf}</spf></policy_evaluated></row><identifiers><header_from>${r.from}</header_from></identifiers><auth_results><dkim><domain>${r.authDkim ?? 'example.com'}</domain><selector>s1</selector><result>${r.dkim}</result></dkim><spf><domain>mail.other.example</domain><result>pass</result></spf></auth_results></record>`,
    )
    .join('')}</feedback>`;

test('summary: totals.dmarcPass is the reporters’ verdict on real multi-provider reports, recomputed beside it', async () => {
  const input = join(dir, 'multi');
  mkdirSync(input);
  // Real-world shapes: a multi-valued header_from the reporter passed, and a reporter that passed
  // mail whose DKIM domain does not align (it ignored alignment).
  writeFileSync(
    join(input, 'multi-from.xml'),
    aggregateXml({
      org: 'provider-a.example',
      id: 'a-1',
      rows: [{ ip: '192.0.2.1', count: 40, from: 'pages.example.com, example.com', dkim: 'pass', spf: 'fail' }],
    }),
  );
  writeFileSync(
    join(input, 'unaligned.xml'),
    aggregateXml({
      org: 'provider-b.example',
      id: 'b-1',
      rows: [
        { ip: '192.0.2.2', count: 7, from: 'example.com', dkim: 'pass', spf: 'fail', authDkim: 'esp.example.net' },
        { ip: '192.0.2.3', count: 3, from: 'example.com', dkim: 'fail', spf: 'fail' },
      ],
    }),
  );
  const store = `sqlite:${join(dir, 'multi.db')}`;
  for (const path of [join(samples, 'aggregate'), input]) {
    assert.equal((await run('reports', 'ingest', path, '--store', store)).exitCode, 0);
  }
  const expected = await reporterVerdicts([...files(join(samples, 'aggregate')), ...files(input)]);
  const summary = await json<{
    totals: { messages: number; dmarcPass: number; dmarcFail: number; recomputed: { dmarcPass: number } };
    disagreements: readonly { sourceIp: string; messages: number; reasons: readonly { reason: string }[] }[];
  }>('reports', 'summary', '--store', store);
  assert.equal(summary.totals.messages, expected.messages);
  const all = summary as unknown as { readiness: { status: string } };
  assert.equal(all.readiness.status, 'several-domains', 'readiness is not judged over several domains at once');
  assert.equal(summary.totals.dmarcPass, expected.pass);
  assert.equal(summary.totals.dmarcFail, expected.messages - expected.pass);
  // The multi-valued From aligns (both names are example.com's); the unaligned DKIM pass (7) does
  // not; the ikea.com sample lists an aligned pass its reporter failed (1).
  assert.equal(summary.totals.recomputed.dmarcPass, summary.totals.dmarcPass - 7 + 1);
  const unaligned = summary.disagreements.find((d) => d.sourceIp === '192.0.2.2');
  assert.deepEqual(
    unaligned?.reasons.map((r) => r.reason),
    ['reporter-ignored-alignment'],
  );
  assert.equal(
    summary.disagreements.find((d) => d.sourceIp === '192.0.2.1'),
    undefined,
    'a multi-valued header_from whose names all align is not a disagreement',
  );
});

test('failures, tls and quarantine: list with filters, show one, JSON; counts respect --domain', async () => {
  const store = `sqlite:${join(dir, 'samples.db')}`;
  assert.equal((await run('reports', 'ingest', samples, '--store', store)).exitCode, 0);

  const failures = await json<{ total: number; items: { id: number; reportedDomain?: string }[] }>(
    'reports',
    'failures',
    'list',
    '--store',
    store,
  );
  assert.equal(failures.total, 4);
  assert.equal(failures.items.length, 4);
  const domainDe = await json<{ total: number; items: { reportedDomain?: string }[] }>(
    'reports',
    'failures',
    'list',
    '--store',
    store,
    '--domain',
    'DOMAIN.de',
  );
  assert.deepEqual([domainDe.total, domainDe.items.map((i) => i.reportedDomain)], [1, ['domain.de']]);
  const old = await run('reports', 'failures', 'list', '--store', store, '--until', '2019-01-01');
  assert.match(old.stdout, /^Failure reports \(all domains, until 2019-01-01\): \d+ stored/);
  const text = await run('reports', 'failures', 'list', '--store', store, '--limit', '2');
  assert.match(text.stdout, /^Failure reports \(all domains\): 4 stored, 1-2 shown\n {2}ID {2}ARRIVED/);
  assert.match(text.stdout, /\.\.\. 2 more: add --offset 2\n$/);
  const first = failures.items[0]?.id ?? 0;
  const shown = await run('reports', 'failures', 'show', String(first), '--store', store);
  assert.equal(shown.exitCode, 0, shown.stderr);
  assert.match(shown.stdout, /^Failure report \d+ \(/);
  assert.match(shown.stdout, /\nReported message header:\n/);

  const aggregates = await json<{ total: number; items: { id: number; warnings: string[] }[] }>(
    'reports',
    'aggregate',
    'list',
    '--store',
    store,
    '--with-warnings',
    '--limit',
    '100',
  );
  assert.ok(aggregates.items.length > 0 && aggregates.items.every((a) => a.warnings.length > 0));
  const repaired = await run('reports', 'aggregate', 'show', String(aggregates.items[0]?.id), '--store', store);
  assert.match(repaired.stdout, /^Aggregate report \d+ \(/);
  assert.match(repaired.stdout, /\n {2}warning: /);
  assert.match(repaired.stdout, /\nRecords:\n {2}SOURCE IP/);
  const tls = await json<{ total: number; items: { id: number; organizationName: string }[] }>(
    'reports',
    'tls',
    'list',
    '--store',
    store,
  );
  assert.equal(tls.total, 4);
  const tlsOne = await json<{ report: { organizationName: string } }>(
    'reports',
    'tls',
    'show',
    String(tls.items[0]?.id),
    '--store',
    store,
  );
  assert.equal(tlsOne.report.organizationName, tls.items[0]?.organizationName);
  const byDefault = await run('reports', 'tls', '--store', store, '--limit', '1');
  assert.match(byDefault.stdout, /^SMTP TLS reports \(all domains\): 4 stored, 1-1 shown\n/, 'list is the default');
  const tlsText = await run('reports', 'tls', 'show', String(tls.items[0]?.id), '--store', store);
  assert.match(tlsText.stdout, /^SMTP TLS report \d+ \(RFC 8460\)/);

  const quarantine = await json<{ total: number; items: { id: number; reason: string; source: string }[] }>(
    'reports',
    'quarantine',
    'list',
    '--store',
    store,
  );
  assert.equal(quarantine.total, 1);
  assert.match(quarantine.items[0]?.reason ?? '', /empty/);
  const raw = await run('reports', 'quarantine', 'show', String(quarantine.items[0]?.id), '--store', store, '--raw');
  assert.deepEqual(Buffer.from(raw.stdoutBytes ?? []), readFileSync(join(samples, 'empty.xml')));
  const missing = await run('reports', 'quarantine', 'show', '999', '--store', store);
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /no quarantined item with id 999 \(see mailward reports quarantine list\)/);

  // A quarantined item whose domain can be read is counted under that domain only.
  const broken = join(dir, 'broken');
  mkdirSync(broken);
  writeFileSync(
    join(broken, 'cut.xml'),
    '<feedback><report_metadata><org_name>x</org_name></report_metadata><policy_published><domain>cut.example</domain>',
  );
  assert.equal((await run('reports', 'ingest', broken, '--store', store)).exitCode, 0);
  const cut = await json<{ totals: { quarantined: number } }>(
    'reports',
    'summary',
    '--store',
    store,
    '--domain',
    'cut.example',
  );
  const other = await json<{ totals: { quarantined: number } }>(
    'reports',
    'summary',
    '--store',
    store,
    '--domain',
    'domain.de',
  );
  assert.deepEqual([cut.totals.quarantined, other.totals.quarantined], [1, 0]);
});

test('summary: --until bounds the range; readiness waits for the documented minimum, which can be set', async () => {
  const store = `sqlite:${join(dir, 'small.db')}`;
  const input = join(dir, 'small');
  mkdirSync(input);
  writeFileSync(
    join(input, 'one.xml'),
    aggregateXml({
      org: 'provider-a.example',
      id: 'small-1',
      rows: [{ ip: '192.0.2.1', count: 10, from: 'example.com', dkim: 'pass', spf: 'pass' }],
    }),
  );
  assert.equal((await run('reports', 'ingest', input, '--store', store)).exitCode, 0);
  type Readiness = { readiness: { status: string; ready: boolean; minimum: { days: number } } };
  const little = await json<Readiness>('reports', 'summary', '--store', store);
  assert.deepEqual(
    [little.readiness.status, little.readiness.ready, little.readiness.minimum.days],
    ['not-enough-data', false, 14],
  );
  const text = await run('reports', 'summary', '--store', store);
  assert.match(text.stdout, /Readiness for p=reject: not enough data/);
  const lowered = await json<Readiness>(
    'reports',
    'summary',
    '--store',
    store,
    '--min-days',
    '1',
    '--min-messages',
    '10',
    '--min-reporters',
    '1',
  );
  assert.equal(lowered.readiness.status, 'ready');
  // The report covers 2026-12-03 (UTC): --until the day before leaves it out, --until that day keeps it.
  const before = await json<{ totals: { reports: number } }>(
    'reports',
    'summary',
    '--store',
    store,
    '--until',
    '2026-12-02',
  );
  const through = await json<{ totals: { reports: number } }>(
    'reports',
    'summary',
    '--store',
    store,
    '--until',
    '2026-12-03',
  );
  assert.deepEqual([before.totals.reports, through.totals.reports], [0, 1]);
  const typo = await run('reports', 'summary', '--store', store, '--domain', 'exmple.com');
  assert.match(typo.stdout, /No aggregate report for exmple\.com; the store has reports for: example\.com\n/);
  const bad = await run('reports', 'summary', '--store', store, '--min-days', 'two');
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /--min-days takes a whole number from 0 to 3660, not "two"/);
  for (const impossible of ['2024-02-30', '2023-02-29', '2026-13-01']) {
    const refused = await run('reports', 'summary', '--store', store, '--since', impossible);
    assert.equal(refused.exitCode, 2, impossible);
    assert.match(refused.stderr, /expected a day that exists/);
  }
  const backwards = await run('reports', 'summary', '--store', store, '--since', '2026-12-03', '--until', '2026-12-01');
  assert.equal(backwards.exitCode, 2);
  assert.match(backwards.stderr, /--until 2026-12-01 is not after --since 2026-12-03/);
});

test('reading commands: a missing store is an error and is not created; unknown schemes list the supported ones', async () => {
  const path = join(dir, 'typo.db');
  for (const args of [
    ['reports', 'summary'],
    ['reports', 'export'],
    ['reports', 'failures', 'list'],
    ['reports', 'tls', 'show', '1'],
  ]) {
    const result = await run(...args, '--store', `sqlite:${path}`);
    assert.equal(result.exitCode, 1, args.join(' '));
    assert.match(result.stderr, /the store .*typo\.db does not exist \(give --store the path of an existing store/);
  }
  assert.equal(existsSync(path), false);
  const mysql = await run('reports', 'summary', '--store', 'mysql://root@localhost/dmarc');
  assert.equal(mysql.exitCode, 2);
  assert.match(
    mysql.stderr,
    /mysql is not a supported store \(supported: sqlite:PATH \(or a plain path\), postgres:\/\/USER@HOST/,
  );
});

test('a store at an older schema: reading commands say to run reports upgrade, which brings it current', async () => {
  const path = join(dir, 'upgrade.db');
  assert.equal((await run('reports', 'demo', '--store', `sqlite:${path}`)).exitCode, 0);
  // Take the store back to schema version 2 (what mailward 0.1 wrote).
  const db = new Database(path);
  db.exec(`DROP INDEX quarantine_domain; DROP INDEX failure_reports_received; DROP INDEX tls_reports_time;
    ALTER TABLE aggregate_days DROP COLUMN recomputed_pass; ALTER TABLE quarantine DROP COLUMN domain;
    DROP TABLE verdicts; DELETE FROM schema_migrations WHERE version >= 3;`);
  db.close();
  const refused = await run('reports', 'summary', '--store', `sqlite:${path}`);
  assert.equal(refused.exitCode, 1);
  assert.match(
    refused.stderr,
    /upgrade\.db has schema version 2, older than 4: upgrade it once with "mailward reports upgrade --store sqlite:.*upgrade\.db" as a user who may write it/,
  );
  const upgraded = await run('reports', 'upgrade', '--store', `sqlite:${path}`);
  assert.equal(upgraded.exitCode, 0, upgraded.stderr);
  assert.match(upgraded.stdout, /upgrade\.db is at the current schema version/);
  const summary = await json<{ totals: { reports: number } }>('reports', 'summary', '--store', `sqlite:${path}`);
  assert.equal(summary.totals.reports, 28);
});

test('reports demo removes the temporary directory it made, and keeps a --dir the user named', async () => {
  const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('mailward-demo-')));
  const result = await run('reports', 'demo', '--store', `sqlite:${join(dir, 'demo-tmp.db')}`);
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /^Generated 31 demo report files; ingesting into SQLite /);
  const after = readdirSync(tmpdir()).filter((n) => n.startsWith('mailward-demo-') && !before.has(n));
  assert.deepEqual(after, []);
});

test('summary text: one failing message is "1 failing message"', async () => {
  const input = join(dir, 'one-failing');
  mkdirSync(input);
  writeFileSync(
    join(input, 'r.xml'),
    aggregateXml({
      org: 'provider-a.example',
      id: 'one-failing-1',
      rows: [
        { ip: '192.0.2.9', count: 3, from: 'example.com', dkim: 'pass', spf: 'pass' },
        { ip: '192.0.2.9', count: 1, from: 'example.com', dkim: 'fail', spf: 'fail' },
      ],
    }),
  );
  const store = `sqlite:${join(dir, 'one-failing.db')}`;
  assert.equal((await run('reports', 'ingest', input, '--store', store)).exitCode, 0);
  const text = await run('reports', 'summary', '--store', store);
  assert.match(text.stdout, /fix 192\.0\.2\.9: 1 failing message;/);
});

test('--since/--until: a report ending at the next midnight is not in that next day; day rows stay in the range', async () => {
  const input = join(dir, 'midnight');
  mkdirSync(input);
  // One report 2026-12-02T00:00:00Z to 2026-12-03T00:00:00Z (the Outlook style), one the next day.
  const day = (id: string, begin: number, end: number, count: number) =>
    aggregateXml({
      org: 'provider-a.example',
      id,
      rows: [{ ip: '192.0.2.1', count, from: 'example.com', dkim: 'pass', spf: 'pass' }],
    }).replace(/<begin>\d+<\/begin><end>\d+<\/end>/, `<begin>${begin}</begin><end>${end}</end>`);
  writeFileSync(join(input, 'a.xml'), day('m-1', 1796169600, 1796256000, 5));
  writeFileSync(join(input, 'b.xml'), day('m-2', 1796256000, 1796342399, 7));
  const store = `sqlite:${join(dir, 'midnight.db')}`;
  assert.equal((await run('reports', 'ingest', input, '--store', store)).exitCode, 0);
  type Days = { totals: { reports: number; messages: number }; days: { day: string; messages: number }[] };
  const third = await json<Days>(
    'reports',
    'summary',
    '--store',
    store,
    '--since',
    '2026-12-03',
    '--until',
    '2026-12-03',
  );
  assert.deepEqual([third.totals.reports, third.totals.messages], [1, 7]);
  assert.deepEqual(
    third.days.map((d) => d.day),
    ['2026-12-03'],
  );
  const second = await json<Days>('reports', 'summary', '--store', store, '--until', '2026-12-02');
  assert.deepEqual(
    second.days.map((d) => [d.day, d.messages]),
    [['2026-12-02', 5]],
  );
});
