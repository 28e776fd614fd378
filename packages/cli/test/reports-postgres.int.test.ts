/** The report workflow on PostgreSQL gives the same summary as on SQLite. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runProgram } from '../src/program.js';

const URL = process.env['MAILWARD_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `mw_cli_${process.pid}`;
const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

after(async () => {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

test('reports demo, summary and export: PostgreSQL and SQLite agree', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-pg-cli-'));
  const files = join(dir, 'files');
  const postgres = `${URL}?schema=${schema}`;
  const sqlite = `sqlite:${join(dir, 'demo.db')}`;
  for (const store of [postgres, sqlite]) {
    const out = await runProgram(['reports', 'demo', '--store', store, '--dir', files], env);
    assert.equal(out.exitCode, 0, out.stderr);
  }
  const summary = async (store: string) =>
    JSON.parse((await runProgram(['reports', 'summary', '--store', store, '--json'], env)).stdout) as unknown;
  assert.deepEqual(await summary(postgres), await summary(sqlite));
  const exported = async (store: string) =>
    (await runProgram(['reports', 'export', '--store', store, '--format', 'csv'], env)).stdout;
  const [a, b] = [await exported(postgres), await exported(sqlite)];
  assert.equal(a.split('\n').length, b.split('\n').length);
  assert.deepEqual(a.split('\n').sort(), b.split('\n').sort());
});
