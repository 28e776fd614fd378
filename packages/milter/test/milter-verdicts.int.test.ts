// `mailward milter --store`: the built CLI as a child process (milter-process.ts) appends one
// verdict per inbound message to a real SQLite store before its EOM reply; outbound mail leaves
// none. The service with failing and hanging journals is in milter-journal.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SqliteReportStore } from '@mailward/adapters';
import type { StoredVerdict } from '@mailward/reports';
import { inboundMessage, send, tempDir } from './milter-support.js';
import { listeningAddress, startMilterProcess } from './milter-process.js';

const FIXTURE = `
bank.example:
  - TXT: "v=spf1 ip4:192.0.2.20 -all"
_dmarc.bank.example:
  - TXT: "v=DMARC1; p=reject"
`;

let dir: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  dir = await tempDir();
});
after(async () => dir.remove());

test('mailward milter --store sqlite:PATH: one row per inbound message, committed before the EOM reply', async () => {
  const path = join(dir.path, 'verdicts.db');
  const fixture = await dir.file('zone.yaml', FIXTURE);
  const proc = await startMilterProcess([
    '--listen',
    'inet:127.0.0.1:0',
    '--authserv-id',
    'mx.test',
    '--dns-fixture',
    fixture,
    '--enforce',
    '--store',
    `sqlite:${path}`,
  ]);
  try {
    const address = listeningAddress(await proc.waitFor(/milter: listening on /));
    assert.ok(
      proc.lines.some((l) => /^milter: verdicts to SQLite .*verdicts\.db$/.test(l)),
      proc.lines.join('\n'),
    );
    const since = Date.now();
    const spoof = await send(
      address,
      inboundMessage(
        { ip: '203.0.113.9', sender: 'ceo@bank.example' },
        ['From: <ceo@bank.example>', 'Subject: pay'],
        'now\r\n',
      ),
    );
    assert.equal(spoof.final.type, 'replyCode');
    const good = await send(
      address,
      inboundMessage(
        { ip: '192.0.2.20', sender: 'news@bank.example', helo: 'mail.bank.example' },
        ['From: <news@bank.example>', 'Subject: hi'],
        'hello\r\n',
        { eoh: [['i', 'QUEUE2']], eom: [['i', 'QUEUE2']] },
      ),
    );
    assert.equal(good.final.type, 'continue');
    // Outbound (a loopback client is internal): signed or not, no verdict row.
    await send(
      address,
      inboundMessage({ ip: '127.0.0.1', sender: 'me@own.example' }, ['From: <me@own.example>'], 'x\r\n'),
    );

    // Read while the milter runs: the rows were committed before the replies went out.
    const reader = new SqliteReportStore(path, { readonly: true });
    const rows: StoredVerdict[] = [];
    for await (const row of reader.verdicts({})) rows.push(row);
    await reader.close();
    assert.equal(rows.length, 2, JSON.stringify(rows));
    const [rejected, passed] = rows as [StoredVerdict, StoredVerdict];
    assert.ok(rejected.time >= since);
    assert.deepEqual(
      { ...rejected, id: 0, time: 0 },
      {
        id: 0,
        time: 0,
        receiver: 'milter',
        queueId: 'QUEUE1',
        sourceIp: '203.0.113.9',
        helo: 'client.example',
        envelopeFrom: 'bank.example',
        headerFrom: 'bank.example',
        envelopeTo: [],
        policyPublished: {
          domain: 'bank.example',
          adkim: 'r',
          aspf: 'r',
          p: 'reject',
          fo: '0',
          testing: 'n',
          discoveryMethod: 'treewalk',
        },
        policyDomain: 'bank.example',
        policyEvaluated: { disposition: 'reject', dkim: 'fail', spf: 'fail', reasons: [] },
        authResults: { dkim: [], spf: [{ domain: 'bank.example', scope: 'mfrom', result: 'fail' }] },
        dmarc: 'fail',
        action: 'reject',
        testing: false,
      },
    );
    assert.deepEqual(
      [passed.queueId, passed.sourceIp, passed.helo, passed.dmarc, passed.action, passed.policyEvaluated.disposition],
      ['QUEUE2', '192.0.2.20', 'mail.bank.example', 'pass', 'accept', 'pass'],
    );
  } finally {
    proc.kill('SIGTERM');
    const end = await proc.exited;
    assert.equal(end.code, 0, proc.lines.join('\n'));
  }
  assert.ok(!proc.lines.some((l) => /verdict not recorded/.test(l)), proc.lines.join('\n'));
});

test('mailward milter --store: a store that cannot be opened stops the start with one line', async () => {
  const proc = await startMilterProcess(['--listen', 'inet:127.0.0.1:0', '--store', join(dir.path, 'no/such/dir.db')]);
  const end = await proc.exited;
  assert.equal(end.code, 1);
  assert.match(proc.lines.join('\n'), /^mailward milter: cannot open the SQLite store .*no\/such\/dir\.db: /m);
});
