/**
 * The ReportStore contract: every store (SQLite now, PostgreSQL later) must pass these tests, so
 * they behave the same. `open` returns a new, empty store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { AggregateReport, ReportStore, StoreEntry } from '@mailward/reports';
import { parseAggregateReport } from '@mailward/reports';

export function aggregate(options: {
  reporter?: string;
  id?: string;
  domain?: string;
  begin?: number;
  end?: number;
  rows?: [ip: string, count: number, dkimDomain: string | undefined, from?: string][];
}): AggregateReport {
  const begin = options.begin ?? 1_800_000_000;
  const end = options.end ?? begin + 86_399;
  const domain = options.domain ?? 'example.com';
  const rows = (options.rows ?? [['192.0.2.1', 10, domain]])
    .map(
      ([ip, count, dkim, from]) =>
        `<record><row><source_ip>${ip}</source_ip><count>${count}</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>${from ?? domain}</header_from></identifiers><auth_results>${dkim === undefined ? '' : `<dkim><domain>${dkim}</domain><result>pass</result></dkim>`}</auth_results></record>`,
    )
    .join('');
  const xml = `<feedback><version>1.0</version><report_metadata><org_name>${options.reporter ?? 'google.com'}</org_name><email>r@x.example</email><report_id>${options.id ?? 'r1'}</report_id><date_range><begin>${begin}</begin><end>${end}</end></date_range></report_metadata><policy_published><domain>${domain}</domain><p>none</p></policy_published>${rows}</feedback>`;
  const parsed = parseAggregateReport(Buffer.from(xml));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.report;
}

const entry = (report: AggregateReport): StoreEntry => ({ kind: 'aggregate', report });

export function storeContract(name: string, open: () => Promise<ReportStore>): void {
  const withStore = (title: string, body: (store: ReportStore) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });

  withStore('an aggregate report is stored once, however often it arrives', async (store) => {
    const report = aggregate({});
    assert.deepEqual(await store.save([entry(report)], 'a.xml'), ['stored']);
    assert.deepEqual(await store.save([entry(report)], 'again.xml'), ['duplicate']);
    // The reporter name's case does not make a new report.
    assert.deepEqual(await store.save([entry(aggregate({ reporter: 'Google.COM' }))], 'b.xml'), ['duplicate']);
    // Another id, domain or range is another report.
    assert.deepEqual(
      await store.save(
        [
          entry(aggregate({ id: 'r2' })),
          entry(aggregate({ domain: 'example.org' })),
          entry(aggregate({ begin: 1_800_086_400 })),
        ],
        'c.xml',
      ),
      ['stored', 'stored', 'stored'],
    );
    const totals = await store.totals({});
    assert.deepEqual([totals.reports, totals.messages, totals.dmarcPass, totals.dmarcFail], [4, 40, 40, 0]);
  });

  withStore('totals, sources and days follow the domain and since filters', async (store) => {
    await store.save(
      [
        entry(
          aggregate({
            id: 'a',
            rows: [
              ['192.0.2.1', 10, 'example.com'],
              ['203.0.113.5', 4, undefined],
            ],
          }),
        ),
        entry(
          aggregate({
            id: 'b',
            reporter: 'Outlook.com',
            rows: [
              ['192.0.2.1', 6, 'example.com'],
              ['167.89.1.1', 3, 'sendgrid.net'],
            ],
          }),
        ),
        entry(
          aggregate({
            id: 'c',
            domain: 'example.org',
            begin: 1_700_000_000,
            rows: [['198.51.100.1', 7, 'example.org']],
          }),
        ),
      ],
      'mixed',
    );
    const all = await store.totals({});
    assert.deepEqual(
      [all.reports, all.messages, all.dmarcPass, all.dmarcFail, all.dkimAligned, all.spfAligned],
      [3, 30, 23, 7, 23, 0],
    );
    const com = await store.totals({ domain: 'EXAMPLE.COM' });
    assert.deepEqual([com.reports, com.messages, com.dmarcPass], [2, 23, 16]);
    const recent = await store.totals({ since: 1_750_000_000 });
    assert.deepEqual([recent.reports, recent.messages], [2, 23]);

    const sources = await store.sources({ domain: 'example.com' }, 10);
    assert.deepEqual(
      sources.map((s) => [s.sourceIp, s.messages, s.dmarcPass, s.reporters, s.dkimDomain ?? null]),
      [
        ['192.0.2.1', 16, 16, 2, 'example.com'],
        ['203.0.113.5', 4, 0, 1, null],
        ['167.89.1.1', 3, 0, 1, 'sendgrid.net'],
      ],
    );
    assert.equal((await store.sources({}, 1)).length, 1);
    // The reports cover 1_800_000_000 + 86_399 s: 57,600 s on one UTC day and 28,799 s on the next.
    const days = await store.days({ domain: 'example.com' });
    const first = Math.floor(1_800_000_000 / 86_400);
    assert.deepEqual(
      days.map((d) => d.day),
      [first, first + 1],
    );
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);
    near(days[0]?.messages ?? 0, (23 * 57_600) / 86_399);
    near(days[1]?.messages ?? 0, (23 * 28_799) / 86_399);
    near((days[0]?.dmarcPass ?? 0) + (days[1]?.dmarcPass ?? 0), 16);
  });

  withStore('a report longer than a day stays one report; its counts are spread over its days', async (store) => {
    const weekly = aggregate({
      id: 'week',
      begin: 1_799_971_200,
      end: 1_799_971_200 + 7 * 86_400,
      rows: [['192.0.2.1', 700, 'example.com']],
    });
    assert.deepEqual(await store.save([entry(weekly)], 'weekly.xml'), ['stored']);
    assert.equal((await store.totals({})).reports, 1);
    const days = await store.days({});
    assert.equal(days.length, 7);
    assert.ok(days.every((d) => Math.abs(d.messages - 100) < 1e-9));
  });

  withStore('all entries of one item are saved in one transaction', async (store) => {
    const good = aggregate({ id: 'good' });
    const broken = {
      kind: 'aggregate',
      report: { ...aggregate({ id: 'broken' }), metadata: null },
    } as unknown as StoreEntry;
    await assert.rejects(store.save([entry(good), broken], 'item'));
    assert.equal((await store.totals({})).reports, 0, 'the good report must not be committed alone');
    assert.deepEqual(await store.save([entry(good)], 'item'), ['stored']);
  });

  withStore(
    'streaming: records added in batches are visible only after commit; abort leaves nothing',
    async (store) => {
      const big = aggregate({
        id: 'big',
        rows: Array.from({ length: 3000 }, (_, i): [string, number, string] => [
          `10.0.${i >> 8}.${i & 255}`,
          2,
          'example.com',
        ]),
      });
      const { records, ...header } = big;
      const writer = await store.beginAggregate(header, 'big.xml');
      assert.notEqual(writer, 'duplicate');
      if (writer === 'duplicate') return;
      await writer.add(records.slice(0, 1000));
      await writer.add(records.slice(1000));
      await writer.commit({ ...header, warnings: ['a warning found at the end'] });
      const totals = await store.totals({});
      assert.deepEqual([totals.reports, totals.messages, totals.dmarcPass], [1, 6000, 6000]);
      assert.equal(
        (await store.days({})).reduce((n, d) => n + d.messages, 0),
        6000,
      );
      assert.equal(await store.beginAggregate(header, 'again.xml'), 'duplicate');
      assert.deepEqual(await store.save([entry(big)], 'again.xml'), ['duplicate']);

      const other = aggregate({ id: 'aborted' });
      const { records: otherRecords, ...otherHeader } = other;
      const aborted = await store.beginAggregate(otherHeader, 'aborted.xml');
      assert.notEqual(aborted, 'duplicate');
      if (aborted === 'duplicate') return;
      await aborted.add(otherRecords);
      await aborted.abort();
      assert.equal((await store.totals({})).reports, 1);
      assert.deepEqual(await store.save([entry(other)], 'retry.xml'), ['stored']);
    },
  );

  withStore('enrichment: unenriched addresses are listed once; saved facts join the sources', async (store) => {
    await store.save(
      [
        entry(
          aggregate({
            rows: [
              ['192.0.2.1', 5, 'example.com'],
              ['167.89.1.1', 3, 'sendgrid.net'],
            ],
          }),
        ),
      ],
      'a.xml',
    );
    assert.deepEqual((await store.unenrichedSourceIps(10)).sort(), ['167.89.1.1', '192.0.2.1']);
    await store.saveIpInfo(
      [
        {
          ip: '167.89.1.1',
          ptr: 'o1.ptr.sendgrid.net',
          ptrConfirmed: true,
          ptrDomain: 'sendgrid.net',
          asn: 11377,
          asName: 'SendGrid, Inc.',
          country: 'US',
          service: 'SendGrid',
        },
        { ip: '192.0.2.1', ptrConfirmed: false, note: 'PTR: nxdomain' },
      ],
      1_800_000_000,
    );
    assert.deepEqual(await store.unenrichedSourceIps(10), []);
    const sources = await store.sources({}, 10);
    const sendgrid = sources.find((s) => s.sourceIp === '167.89.1.1');
    assert.deepEqual(
      [sendgrid?.ptr, sendgrid?.ptrConfirmed, sendgrid?.ptrDomain, sendgrid?.asn, sendgrid?.asName, sendgrid?.country],
      ['o1.ptr.sendgrid.net', true, 'sendgrid.net', 11377, 'SendGrid, Inc.', 'US'],
    );
    const own = sources.find((s) => s.sourceIp === '192.0.2.1');
    assert.deepEqual([own?.ptr, own?.asn, own?.messages], [undefined, undefined, 5]);
    // Saving again replaces.
    await store.saveIpInfo([{ ip: '192.0.2.1', ptr: 'mx.example.com', ptrConfirmed: true }], 1_800_000_100);
    assert.equal((await store.sources({}, 10)).find((s) => s.sourceIp === '192.0.2.1')?.ptr, 'mx.example.com');
  });

  withStore('quarantine keeps the bytes and the reason once per content', async (store) => {
    const junk: StoreEntry = { kind: 'quarantine', reason: 'no report found', bytes: Buffer.from('hello') };
    assert.deepEqual(await store.save([junk], 'junk.txt'), ['stored']);
    assert.deepEqual(await store.save([junk], 'junk-again.txt'), ['duplicate']);
    assert.equal((await store.totals({})).quarantined, 1);
  });

  withStore('HTML and SQL in report fields are stored and returned verbatim', async (store) => {
    const evil = `x'); DROP TABLE aggregate_records; --`;
    const report = aggregate({
      reporter: `<img src=x onerror=alert(1)>`,
      id: evil,
      rows: [['192.0.2.9', 1, 'example.com']],
    });
    assert.deepEqual(await store.save([entry(report)], evil), ['stored']);
    const rows = [];
    for await (const row of store.aggregateRows({})) rows.push(row);
    assert.deepEqual(
      rows.map((r) => [r.reporter, r.reportId, r.sourceIp, r.count, r.dmarcPass]),
      [[`<img src=x onerror=alert(1)>`, evil, '192.0.2.9', 1, true]],
    );
  });
}
