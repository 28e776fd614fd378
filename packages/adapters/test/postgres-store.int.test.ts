/**
 * The ReportStore contract on a real PostgreSQL server (MAILWARD_TEST_POSTGRES, default the
 * machine's postgres://postgres@127.0.0.1:5432/test; .ci/run starts one when none is running).
 * Each store gets its own schema, dropped afterwards.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresReportStore } from '../src/index.js';
import { aggregate, storeContract } from './support/store-contract.js';
import { verdict } from './support/verdict-contract.js';
import { appendUntilKilled } from './support/kill-writer.js';

const URL = process.env['MAILWARD_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];
const run = `mw_${process.pid}_${Date.now().toString(36)}`;

function nextSchema(): string {
  const schema = `${run}_${schemas.length}`;
  schemas.push(schema);
  return schema;
}

after(async () => {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

storeContract('PostgreSQL', () => PostgresReportStore.open(URL, { schema: nextSchema() }));

test('PostgreSQL: migrations run once; two stores opening at once both work; data survives reopening', async () => {
  const schema = nextSchema();
  const [a, b] = await Promise.all([
    PostgresReportStore.open(URL, { schema }),
    PostgresReportStore.open(URL, { schema }),
  ]);
  assert.deepEqual(await a.save([{ kind: 'aggregate', report: aggregate({}) }], 'a.xml'), ['stored']);
  assert.deepEqual(await b.save([{ kind: 'aggregate', report: aggregate({}) }], 'b.xml'), ['duplicate']);
  await Promise.all([a.close(), b.close()]);
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  const versions = await client.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
  await client.end();
  assert.deepEqual(versions.rows, [{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }]);
  const again = await PostgresReportStore.open(URL, { schema });
  assert.equal((await again.totals({})).reports, 1);
  await again.close();
});

test('PostgreSQL: a report of 20,000 records is stored in batches and exported in pages', async () => {
  const store = await PostgresReportStore.open(URL, { schema: nextSchema() });
  try {
    const rows = Array.from({ length: 20_000 }, (_, i): [string, number, string | undefined] => [
      `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
      1,
      i % 2 === 0 ? 'example.com' : undefined,
    ]);
    assert.deepEqual(await store.save([{ kind: 'aggregate', report: aggregate({ rows }) }], 'big.xml'), ['stored']);
    const totals = await store.totals({});
    assert.deepEqual([totals.messages, totals.dmarcPass], [20_000, 10_000]);
    let exported = 0;
    for await (const row of store.aggregateRows({})) exported += row.count;
    assert.equal(exported, 20_000);
  } finally {
    await store.close();
  }
});

test('PostgreSQL: a version-2 schema is upgraded in place: whole-message days with both verdicts, multi-valued From realigned, quarantine domains', async () => {
  const schema = nextSchema();
  const first = await PostgresReportStore.open(URL, { schema });
  await first.save(
    [
      {
        kind: 'aggregate',
        report: aggregate({
          begin: 1_800_000_000,
          end: 1_800_000_000 + 2 * 86_400 - 1,
          rows: [
            ['192.0.2.1', 20, 'example.com'],
            ['192.0.2.2', 11, 'example.com', 'pages.example.com, example.com'],
          ],
        }),
      },
    ],
    'a.xml',
  );
  await first.close();
  // Take the schema back to what version 2 left: no recomputed day column, no quarantine domain,
  // the multi-valued From failed as one name, fractional day shares.
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  await client.query(`SET search_path = ${schema}`);
  await client.query(`DROP INDEX quarantine_domain; DROP INDEX failure_reports_received; DROP INDEX tls_reports_time;
    ALTER TABLE aggregate_days DROP COLUMN recomputed_pass; ALTER TABLE quarantine DROP COLUMN domain;
    DROP TABLE verdicts; DELETE FROM schema_migrations WHERE version >= 3;
    UPDATE aggregate_records SET dkim_aligned = false, dmarc_pass = false WHERE header_from LIKE '%,%';
    UPDATE aggregate_days SET messages = messages + 0.4, dmarc_pass = dmarc_pass / 3;`);
  await client.query(
    "INSERT INTO quarantine (sha256, source, reason, bytes, received_at) VALUES ('x', 'in/broken.xml', 'XML: bad', $1, 0)",
    [Buffer.from('<feedback><policy_published><domain>example.org</domain>')],
  );
  await client.end();
  await assert.rejects(PostgresReportStore.open(URL, { schema, readonly: true }), /has version 2, older than 4/);

  const store = await PostgresReportStore.open(URL, { schema });
  try {
    const totals = await store.totals({});
    assert.deepEqual([totals.messages, totals.dmarcPass, totals.recomputed.dmarcPass], [31, 31, 31]);
    const days = await store.days({});
    assert.deepEqual(
      days.map((d) => [d.day, d.messages, d.dmarcPass, d.recomputedPass]),
      [
        // 16, 24 and 8 hours of the range: 31 messages as 10.33, 15.5 and 5.17, in whole messages.
        ['2027-01-15', 10, 10, 10],
        ['2027-01-16', 16, 16, 16],
        ['2027-01-17', 5, 5, 5],
      ],
    );
    assert.equal((await store.totals({ domain: 'example.org' })).quarantined, 1);
  } finally {
    await store.close();
  }
});

test('PostgreSQL: a version-3 schema is upgraded to version 4: reports kept, the verdict journal added and indexed', async () => {
  const schema = nextSchema();
  const first = await PostgresReportStore.open(URL, { schema });
  await first.save([{ kind: 'aggregate', report: aggregate({}) }], 'a.xml');
  await first.close();
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  await client.query(`SET search_path = ${schema}`);
  await client.query('DROP TABLE verdicts; DELETE FROM schema_migrations WHERE version = 4');
  await client.end();
  await assert.rejects(PostgresReportStore.open(URL, { schema, readonly: true }), /has version 3, older than 4/);
  const store = await PostgresReportStore.open(URL, { schema });
  try {
    assert.equal((await store.totals({})).reports, 1);
    await store.appendVerdicts([verdict()]);
    assert.equal(await store.countVerdicts({ policyDomain: 'example.org' }), 1);
  } finally {
    await store.close();
  }
  const check = new pg.Client({ connectionString: URL });
  await check.connect();
  const indexes = await check.query(
    'SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY 1',
    [schema, 'verdicts'],
  );
  await check.end();
  assert.deepEqual(
    indexes.rows.map((r: { indexname: string }) => r.indexname),
    ['verdicts_domain_time', 'verdicts_pkey', 'verdicts_time'],
  );
});

test('PostgreSQL: read-only opening reads a current store, writes nothing, and refuses a schema that holds none', async () => {
  const schema = nextSchema();
  const writer = await PostgresReportStore.open(URL, { schema });
  await writer.save([{ kind: 'aggregate', report: aggregate({}) }], 'a.xml');
  await writer.close();
  const reader = await PostgresReportStore.open(URL, { schema, readonly: true });
  try {
    assert.equal((await reader.totals({})).reports, 1);
    await assert.rejects(
      reader.save([{ kind: 'aggregate', report: aggregate({ id: 'other' }) }], 'b.xml'),
      /read-only transaction/,
    );
  } finally {
    await reader.close();
  }
  const empty = nextSchema();
  await assert.rejects(
    PostgresReportStore.open(URL, { schema: empty, readonly: true }),
    /holds no mailward report store/,
  );
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  const created = await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [empty]);
  await client.end();
  assert.equal(created.rowCount, 0, 'a read-only open creates no schema');
});

test('PostgreSQL: an unreachable server is an error naming the problem', async () => {
  await assert.rejects(PostgresReportStore.open('postgres://postgres@127.0.0.1:1/test'), /ECONNREFUSED/);
  await assert.rejects(PostgresReportStore.open(URL, { schema: 'bad-name;' }), /invalid schema name/);
});

test('PostgreSQL verdicts: kill -9 of the writer keeps every verdict whose append returned', async () => {
  const schema = nextSchema();
  await (await PostgresReportStore.open(URL, { schema })).close();
  const acknowledged = await appendUntilKilled(['postgres', URL, schema], 200);
  const store = await PostgresReportStore.open(URL, { schema });
  try {
    const stored = new Set<string>();
    for await (const v of store.verdicts({})) stored.add(v.queueId ?? '');
    assert.deepEqual(
      [...acknowledged].filter((id) => !stored.has(id)),
      [],
    );
    assert.ok(stored.size - acknowledged.size <= 1, `${stored.size} stored, ${acknowledged.size} acknowledged`);
  } finally {
    await store.close();
  }
});
