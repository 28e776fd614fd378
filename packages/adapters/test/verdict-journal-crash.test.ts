/**
 * Crash safety of the SQLite verdict journal in the mode the milter uses (WAL, synchronous=NORMAL):
 * a writer killed with SIGKILL loses no verdict whose append had returned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteReportStore } from '../src/index.js';
import { appendUntilKilled } from './support/kill-writer.js';

test('SQLite verdicts: kill -9 of the writer keeps every verdict whose append returned', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mailward-crash-')), 'journal.db');
  const acknowledged = await appendUntilKilled(['sqlite', path], 300);
  const store = new SqliteReportStore(path);
  try {
    const stored = new Set<string>();
    for await (const v of store.verdicts({})) stored.add(v.queueId ?? '');
    const missing = [...acknowledged].filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], `${missing.length} acknowledged verdicts lost of ${acknowledged.size}`);
    // At most the one append under way at the kill is stored but unacknowledged.
    assert.ok(stored.size - acknowledged.size <= 1, `${stored.size} stored, ${acknowledged.size} acknowledged`);
  } finally {
    await store.close();
  }
});
