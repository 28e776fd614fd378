/**
 * Child process of the kill -9 tests: appends verdicts one by one to the store named on the
 * command line (`sqlite PATH` or `postgres URL SCHEMA`) and prints each one's number once its
 * append has returned, until it is killed.
 */
import process from 'node:process';
import type { VerdictJournal } from '@mailward/reports';
import { PostgresReportStore, SqliteReportStore } from '../../src/index.js';
import { verdict } from './verdict-contract.js';

const [kind, target, schema] = process.argv.slice(2);
const journal: VerdictJournal =
  kind === 'sqlite'
    ? new SqliteReportStore(target ?? '', { synchronous: 'normal' })
    : await PostgresReportStore.open(target ?? '', { schema: schema ?? 'public' });
process.stdout.write('ready\n');
for (let i = 0; ; i += 1) {
  await journal.appendVerdicts([verdict({ queueId: `K${i}`, time: Date.now() })]);
  process.stdout.write(`${i}\n`);
}
