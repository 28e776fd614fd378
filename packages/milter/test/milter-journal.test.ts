// The milter service with in-memory verdict journals: a row per inbound message before the EOM
// reply, and a failing or hanging store logged and counted (mailward_milter_errors_total
// {kind="journal"}) while the message still gets its verdict. The real CLI with SQLite is in
// milter-verdicts.int.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VerdictRecord } from '@mailward/reports';
import { inboundMessage, resolverFor, send, settings, startService } from './milter-support.js';

const resolver = resolverFor({
  'bank.example': [{ TXT: 'v=spf1 ip4:192.0.2.20 -all' }],
  '_dmarc.bank.example': [{ TXT: 'v=DMARC1; p=reject' }],
});
const spoof = inboundMessage(
  { ip: '203.0.113.9', sender: 'ceo@bank.example' },
  ['From: <ceo@bank.example>', 'Subject: pay'],
  'now\r\n',
);
const enforcing = settings({ inbound: { ...settings().inbound, enforce: true } });

test('milter journal: the row is appended before the EOM reply goes out', async () => {
  const rows: VerdictRecord[] = [];
  let release: () => void = () => {};
  const journal = {
    appendVerdicts: (records: readonly VerdictRecord[]) =>
      new Promise<void>((resolve) => {
        rows.push(...records);
        release = resolve;
      }),
  };
  const running = await startService(enforcing, resolver, { journal });
  try {
    let replied = false;
    const outcome = send(running.service.address, spoof).then((o) => {
      replied = true;
      return o;
    });
    while (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(replied, false, 'no EOM reply while the append is not committed');
    release();
    assert.equal((await outcome).final.type, 'replyCode');
    assert.deepEqual(
      [rows[0]?.receiver, rows[0]?.queueId, rows[0]?.sourceIp, rows[0]?.action, rows[0]?.dmarc],
      ['milter', 'QUEUE1', '203.0.113.9', 'reject', 'fail'],
    );
  } finally {
    await running.close();
  }
});

test('milter journal: a failing and a hanging store are logged and counted; the message keeps its verdict', async () => {
  const failing = await startService(enforcing, resolver, {
    journal: { appendVerdicts: () => Promise.reject(new Error('SQLITE_FULL: database or disk is full')) },
  });
  try {
    assert.equal((await send(failing.service.address, spoof)).final.type, 'replyCode');
    assert.ok(
      failing.logs.includes('milter: QUEUE1: verdict not recorded: SQLITE_FULL: database or disk is full'),
      failing.logs.join('\n'),
    );
    const metrics = await failing.service.metrics.registry.metrics();
    assert.match(metrics, /^mailward_milter_errors_total\{kind="journal"\} 1$/m);
  } finally {
    await failing.close();
  }
  const hanging = await startService(enforcing, resolver, {
    journal: { appendVerdicts: () => new Promise<void>(() => {}) },
    journalTimeoutMs: 200,
  });
  try {
    assert.equal((await send(hanging.service.address, spoof)).final.type, 'replyCode');
    assert.ok(
      hanging.logs.includes('milter: QUEUE1: verdict not recorded: the store did not confirm within 0.2 s'),
      hanging.logs.join('\n'),
    );
  } finally {
    await hanging.close();
  }
});
