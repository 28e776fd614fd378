/**
 * The VerdictJournal contract, run by storeContract against every store: what is appended comes
 * back exactly, filtered by time and policy domain, in append order, all of a batch or none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VerdictJournal, VerdictRecord } from '@mailward/reports';

const DAY = 86_400_000;
/** 2027-01-15T00:00:00Z. */
export const DAY_START = 1_800_000_000_000 - (1_800_000_000_000 % DAY);

/** A verdict for tests; an override given as undefined removes the field. */
export function verdict(overrides: { [K in keyof VerdictRecord]?: VerdictRecord[K] | undefined } = {}): VerdictRecord {
  const record: Record<string, unknown> = {
    time: DAY_START + 3_600_000,
    receiver: 'milter',
    queueId: '4ZxYq1abcd',
    sourceIp: '192.0.2.10',
    helo: 'mail.example.org',
    envelopeFrom: 'bounce.example.org',
    headerFrom: 'example.org',
    envelopeTo: ['mx.test'],
    policyPublished: {
      domain: 'example.org',
      adkim: 'r',
      aspf: 'r',
      p: 'reject',
      testing: 'n',
      discoveryMethod: 'treewalk',
    },
    policyDomain: 'example.org',
    policyEvaluated: { disposition: 'pass', dkim: 'pass', spf: 'fail', reasons: [] },
    authResults: {
      dkim: [{ domain: 'example.org', selector: 'ed', result: 'pass' }],
      spf: [{ domain: 'bounce.example.org', scope: 'mfrom', result: 'softfail' }],
    },
    dmarc: 'pass',
    action: 'accept',
    testing: false,
    ...overrides,
  };
  for (const [name, value] of Object.entries(record)) if (value === undefined) delete record[name];
  return record as unknown as VerdictRecord;
}

async function all(journal: VerdictJournal, filter: Parameters<VerdictJournal['verdicts']>[0]) {
  const rows = [];
  for await (const row of journal.verdicts(filter)) rows.push(row);
  return rows;
}

export function verdictContract(name: string, open: () => Promise<VerdictJournal & { close(): Promise<void> }>): void {
  const withJournal = (title: string, body: (journal: VerdictJournal) => Promise<void>) =>
    test(`${name}: verdicts: ${title}`, async () => {
      const journal = await open();
      try {
        await body(journal);
      } finally {
        await journal.close();
      }
    });

  withJournal('an appended verdict comes back field for field, with an id', async (journal) => {
    // No queue id, an IPv6 client, a dry-run failure with a reason holding SQL and quotes.
    const withoutQueueId = verdict({
      queueId: undefined,
      sourceIp: '2001:db8::25',
      policyEvaluated: {
        disposition: 'none',
        dkim: 'fail',
        spf: 'fail',
        reasons: [{ type: 'local_policy', comment: "not enforced (dry run): would have rejected'); --" }],
      },
      dmarc: 'fail',
      wouldHave: 'reject',
    });
    assert.equal('queueId' in withoutQueueId, false);
    await journal.appendVerdicts([withoutQueueId]);
    const rows = await all(journal, {});
    assert.equal(rows.length, 1);
    const { id, ...record } = rows[0]!;
    assert.ok(Number.isInteger(id) && id > 0);
    assert.deepEqual(record, withoutQueueId);
    assert.equal(await journal.countVerdicts({}), 1);
  });

  withJournal(
    'one UTC day and one policy domain: since inclusive, until exclusive, domain in any case',
    async (journal) => {
      await journal.appendVerdicts([
        verdict({ time: DAY_START - 1 }),
        verdict({ time: DAY_START }),
        verdict({ time: DAY_START + DAY - 1, policyDomain: 'Example.ORG' }),
        verdict({ time: DAY_START + DAY }),
        verdict({ time: DAY_START + 5, policyDomain: 'other.example', headerFrom: 'other.example' }),
      ]);
      const day = { since: DAY_START, until: DAY_START + DAY };
      assert.equal(await journal.countVerdicts(day), 3);
      assert.equal(await journal.countVerdicts({ ...day, policyDomain: 'EXAMPLE.org.' }), 2);
      assert.deepEqual(
        (await all(journal, { ...day, policyDomain: 'example.org' })).map((v) => v.time),
        [DAY_START, DAY_START + DAY - 1],
      );
      assert.deepEqual(
        (await all(journal, { policyDomain: 'other.example' })).map((v) => v.headerFrom),
        ['other.example'],
      );
      assert.equal(await journal.countVerdicts({ since: DAY_START + DAY }), 1);
      assert.equal(await journal.countVerdicts({ until: DAY_START }), 1);
      assert.equal(await journal.countVerdicts({ policyDomain: 'nothing.example' }), 0);
    },
  );

  withJournal('a large batch is stored whole and read back in append order across pages', async (journal) => {
    const many = Array.from({ length: 2_500 }, (_, i) => verdict({ time: DAY_START + i, queueId: `Q${i}` }));
    await journal.appendVerdicts(many);
    await journal.appendVerdicts([verdict({ time: DAY_START - 10, queueId: 'late' })]);
    const rows = await all(journal, {});
    assert.equal(rows.length, 2_501);
    assert.deepEqual(
      rows.slice(0, 3).map((r) => r.queueId),
      ['Q0', 'Q1', 'Q2'],
    );
    assert.equal(rows.at(-1)?.queueId, 'late');
    assert.ok(rows.every((r, i) => i === 0 || r.id > rows[i - 1]!.id));
    assert.equal(await journal.countVerdicts({ since: DAY_START }), 2_500);
  });

  withJournal('a batch with a bad record stores none of it', async (journal) => {
    const bad = { ...verdict(), sourceIp: undefined } as unknown as VerdictRecord;
    await assert.rejects(journal.appendVerdicts([verdict({ queueId: 'good' }), bad]));
    assert.equal(await journal.countVerdicts({}), 0);
    await journal.appendVerdicts([]);
    assert.equal(await journal.countVerdicts({}), 0);
  });
}
