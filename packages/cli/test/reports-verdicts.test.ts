/** `mailward reports verdicts`: the verdict journal listed as text and JSON Lines, filtered by UTC day and domain. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteReportStore } from '@mailward/adapters';
import type { VerdictRecord } from '@mailward/reports';
import { runProgram } from '../src/program.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
const dir = mkdtempSync(join(tmpdir(), 'mailward-verdicts-'));
/** 2027-01-15T00:00:00Z. */
const DAY = Date.UTC(2027, 0, 15);

function verdict(time: number, domain: string, extra: Partial<VerdictRecord> = {}): VerdictRecord {
  return {
    time,
    receiver: 'milter',
    queueId: `Q${time - DAY}`,
    sourceIp: '203.0.113.9',
    helo: 'client.example',
    envelopeFrom: domain,
    headerFrom: domain,
    envelopeTo: ['mx.test'],
    policyPublished: { domain, adkim: 'r', aspf: 'r', p: 'reject', testing: 'n', discoveryMethod: 'treewalk' },
    policyDomain: domain,
    policyEvaluated: {
      disposition: 'none',
      dkim: 'fail',
      spf: 'fail',
      reasons: [{ type: 'local_policy', comment: 'not enforced (dry run): would have rejected' }],
    },
    authResults: { dkim: [], spf: [{ domain, scope: 'mfrom', result: 'fail' }] },
    dmarc: 'fail',
    action: 'accept',
    wouldHave: 'reject',
    testing: false,
    ...extra,
  };
}

async function journal(records: readonly VerdictRecord[]): Promise<string> {
  const path = join(dir, `j-${Math.random().toString(36).slice(2)}.db`);
  const store = new SqliteReportStore(path);
  await store.appendVerdicts(records);
  await store.close();
  return `sqlite:${path}`;
}

test('reports verdicts: one line per verdict in the order recorded, control characters escaped; --domain and a UTC day select', async () => {
  const store = await journal([
    verdict(DAY + 3_600_000, 'example.org'),
    verdict(DAY - 1, 'example.org'),
    verdict(DAY + 7_200_000, 'other.example', { helo: 'evil\u001b[2J', action: 'reject', wouldHave: undefined }),
  ]);
  const all = await runProgram(['reports', 'verdicts', '--store', store], env);
  assert.equal(all.exitCode, 0, all.stderr);
  assert.deepEqual(all.stdout.trimEnd().split('\n'), [
    '2027-01-15T01:00:00.000Z milter Q3600000 203.0.113.9 helo=client.example from=example.org mailfrom=example.org policy=example.org(p=reject) dmarc=fail dkim=fail spf=fail disposition=none action=accept (would have: reject) reason=local_policy:"not enforced (dry run): would have rejected"',
    '2027-01-14T23:59:59.999Z milter Q-1 203.0.113.9 helo=client.example from=example.org mailfrom=example.org policy=example.org(p=reject) dmarc=fail dkim=fail spf=fail disposition=none action=accept (would have: reject) reason=local_policy:"not enforced (dry run): would have rejected"',
    '2027-01-15T02:00:00.000Z milter Q7200000 203.0.113.9 helo=evil\\u{1b}[2J from=other.example mailfrom=other.example policy=other.example(p=reject) dmarc=fail dkim=fail spf=fail disposition=none action=reject reason=local_policy:"not enforced (dry run): would have rejected"',
  ]);
  const day = await runProgram(
    [
      'reports',
      'verdicts',
      '--store',
      store,
      '--since',
      '2027-01-15',
      '--until',
      '2027-01-15',
      '--domain',
      'Example.ORG',
      '--json',
    ],
    env,
  );
  assert.equal(day.exitCode, 0, day.stderr);
  const rows = day.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as VerdictRecord & { id: number });
  assert.deepEqual(
    rows.map((r) => [r.queueId, r.policyDomain]),
    [['Q3600000', 'example.org']],
  );
  const { id, ...record } = rows[0]!;
  assert.equal(typeof id, 'number');
  assert.deepEqual(record, verdict(DAY + 3_600_000, 'example.org'));
});

test('reports verdicts: --limit says how many more there are; an empty journal says so', async () => {
  const store = await journal([1, 2, 3].map((i) => verdict(DAY + i, 'example.org')));
  const limited = await runProgram(['reports', 'verdicts', '--store', store, '--limit', '2', '--json'], env);
  assert.equal(limited.exitCode, 0);
  assert.equal(limited.stdout.trimEnd().split('\n').length, 2);
  assert.equal(limited.stderr, '1 more verdicts not shown (raise --limit, or narrow --since/--until/--domain)\n');
  const none = await runProgram(['reports', 'verdicts', '--store', store, '--domain', 'nothing.example'], env);
  assert.deepEqual([none.exitCode, none.stdout], [0, 'No verdicts match.\n']);
  const bad = await runProgram(['reports', 'verdicts', '--store', store, '--since', 'yesterday'], env);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /^mailward reports verdicts: --since "yesterday": expected a day that exists/);
  const missing = await runProgram(['reports', 'verdicts', '--store', join(dir, 'missing.db')], env);
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /does not exist/);
});
