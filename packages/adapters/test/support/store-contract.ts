/**
 * The ReportStore contract: every store (SQLite now, PostgreSQL later) must pass these tests, so
 * they behave the same. `open` returns a new, empty store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { AggregateReport, ReportStore, StoreEntry, VerdictJournal } from '@mailward/reports';
import { parseAggregateReport } from '@mailward/reports';
import { verdictContract } from './verdict-contract.js';

export function aggregate(options: {
  reporter?: string;
  id?: string;
  domain?: string;
  begin?: number;
  end?: number;
  /**
   * One record per row. The reporter's verdict (policy_evaluated dkim) is pass when the DKIM
   * domain is the policy domain, unless `verdict` says otherwise.
   */
  rows?: [ip: string, count: number, dkimDomain: string | undefined, from?: string, verdict?: 'pass' | 'fail'][];
}): AggregateReport {
  const begin = options.begin ?? 1_800_000_000;
  const end = options.end ?? begin + 86_399;
  const domain = options.domain ?? 'example.com';
  const rows = (options.rows ?? [['192.0.2.1', 10, domain]])
    .map(
      ([ip, count, dkim, from, verdict]) =>
        `<record><row><source_ip>${ip}</source_ip><count>${count}</count><policy_evaluated><disposition>none</disposition><dkim>${verdict ?? (dkim === domain ? 'pass' : 'fail')}</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>${from ?? domain}</header_from></identifiers><auth_results>${dkim === undefined ? '' : `<dkim><domain>${dkim}</domain><result>pass</result></dkim>`}</auth_results></record>`,
    )
    .join('');
  const xml = `<feedback><version>1.0</version><report_metadata><org_name>${options.reporter ?? 'google.com'}</org_name><email>r@x.example</email><report_id>${options.id ?? 'r1'}</report_id><date_range><begin>${begin}</begin><end>${end}</end></date_range></report_metadata><policy_published><domain>${domain}</domain><p>none</p></policy_published>${rows}</feedback>`;
  const parsed = parseAggregateReport(Buffer.from(xml));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.report;
}

const entry = (report: AggregateReport): StoreEntry => ({ kind: 'aggregate', report });

export function storeContract(name: string, open: () => Promise<ReportStore & VerdictJournal>): void {
  verdictContract(name, open);
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
    // The reports cover 1_800_000_000 + 86_399 s: 57,600 s on one UTC day and 28,799 s on the next,
    // so two thirds of each report's passing and failing messages fall on the first day, in whole
    // messages: report a 10 pass -> 7 + 3, 4 fail -> 3 + 1; report b 6 pass -> 4 + 2, 3 fail -> 2 + 1.
    const days = await store.days({ domain: 'example.com' });
    assert.deepEqual(days, [
      { day: '2027-01-15', messages: 16, dmarcPass: 11, recomputedPass: 11 },
      { day: '2027-01-16', messages: 7, dmarcPass: 5, recomputedPass: 5 },
    ]);
    assert.equal(
      days.reduce((n, d) => n + d.messages, 0),
      com.messages,
    );
    const until = await store.totals({ until: 1_750_000_000 });
    assert.deepEqual([until.reports, until.messages], [1, 7]);
  });

  withStore('policy domains: counted in the totals and listed, most reports first', async (store) => {
    await store.save(
      [
        entry(aggregate({ id: 'p1', domain: 'b.example' })),
        entry(aggregate({ id: 'p2', domain: 'a.example' })),
        entry(aggregate({ id: 'p3', domain: 'b.example', reporter: 'Outlook.com' })),
      ],
      'p.xml',
    );
    assert.equal((await store.totals({})).domains, 2);
    assert.equal((await store.totals({ domain: 'a.example' })).domains, 1);
    assert.deepEqual(await store.policyDomains(10), ['b.example', 'a.example']);
    assert.deepEqual(await store.policyDomains(1), ['b.example']);
  });

  withStore(
    'aggregate reports: listed newest first with counts and warnings, shown with their records',
    async (store) => {
      const older = aggregate({
        id: 'old',
        begin: 1_800_000_000,
        rows: [
          ['192.0.2.1', 3, 'example.com'],
          ['192.0.2.2', 2, undefined],
        ],
      });
      const newer = {
        ...aggregate({ id: 'new', begin: 1_800_100_000 }),
        warnings: ['a DOCTYPE is not allowed in a report'],
      };
      await store.save([entry(older), entry(newer)], 'r.xml');
      const list = await store.aggregateReports({}, { limit: 10 });
      assert.deepEqual(
        list.map((r) => [r.reportId, r.records, r.messages, r.dmarcPass, r.warnings.length]),
        [
          ['new', 1, 10, 10, 1],
          ['old', 2, 5, 3, 0],
        ],
      );
      assert.deepEqual(
        (await store.aggregateReports({ withWarnings: true }, { limit: 10 })).map((r) => r.reportId),
        ['new'],
      );
      assert.deepEqual(
        (await store.aggregateReports({ since: 1_800_090_000 }, { limit: 10 })).map((r) => r.reportId),
        ['new'],
      );
      assert.deepEqual(
        (await store.aggregateReports({}, { limit: 1, offset: 1 })).map((r) => r.reportId),
        ['old'],
      );
      const oldId = list[1]?.id ?? 0;
      const shown = await store.aggregateReport(oldId, 1);
      assert.equal(shown?.source, 'r.xml');
      assert.equal(shown?.policy.domain, 'example.com');
      assert.deepEqual(
        shown?.rows.map((r) => [r.sourceIp, r.count]),
        [['192.0.2.1', 3]],
      );
      assert.equal(shown?.records, 2);
      assert.equal(await store.aggregateReport(999_999, 10), undefined);
    },
  );

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
    assert.ok(days.every((d) => d.messages === 100 && d.dmarcPass === 100));
    // 10 messages over 7 days: whole messages, the remainders on the earliest days, the sum kept.
    await store.save(
      [
        entry(
          aggregate({
            id: 'few',
            domain: 'example.org',
            begin: 1_799_971_200,
            end: 1_799_971_200 + 7 * 86_400,
            rows: [['192.0.2.1', 10, 'example.org']],
          }),
        ),
      ],
      'few.xml',
    );
    assert.deepEqual(
      (await store.days({ domain: 'example.org' })).map((d) => d.messages),
      [2, 2, 2, 1, 1, 1, 1],
    );
  });

  withStore("the reporters' verdict is the headline; the recomputed alignment sits beside it", async (store) => {
    await store.save(
      [
        entry(
          aggregate({
            id: 'verdicts',
            rows: [
              // Both agree: pass.
              ['192.0.2.1', 50, 'example.com'],
              // The reporter passed it, though the only DKIM pass is the ESP's own domain.
              ['192.0.2.2', 30, 'esp.example', 'example.com', 'pass'],
              // Multi-valued header_from: both names align with d=example.com.
              ['192.0.2.3', 15, 'example.com', 'pages.example.com, example.com'],
              // The report lists an aligned pass, yet the reporter failed it.
              ['192.0.2.4', 5, 'example.com', 'example.com', 'fail'],
            ],
          }),
        ),
      ],
      'v.xml',
    );
    const totals = await store.totals({});
    assert.deepEqual([totals.messages, totals.dmarcPass, totals.dmarcFail, totals.dkimAligned], [100, 95, 5, 95]);
    assert.deepEqual(totals.recomputed, { dmarcPass: 70, dmarcFail: 30, dkimAligned: 70, spfAligned: 0 });
    assert.equal(totals.reporters, 1);
    const sources = await store.sources({}, 10);
    const esp = sources.find((s) => s.sourceIp === '192.0.2.2');
    assert.deepEqual([esp?.dmarcPass, esp?.recomputed.dmarcPass], [30, 0]);
    const multi = sources.find((s) => s.sourceIp === '192.0.2.3');
    assert.deepEqual(
      [multi?.headerFrom, multi?.dmarcPass, multi?.recomputed.dmarcPass],
      ['pages.example.com, example.com', 15, 15],
    );
    const disagreements = await store.disagreements({}, 10);
    assert.deepEqual(
      disagreements.map((d) => [d.sourceIp, d.messages, d.reporterDkim, d.dkim.map((k) => k.domain)]),
      [
        ['192.0.2.2', 30, 'pass', ['esp.example']],
        ['192.0.2.4', 5, 'fail', ['example.com']],
      ],
    );
    const days = await store.days({});
    assert.deepEqual(
      days.map((d) => [d.messages, d.dmarcPass, d.recomputedPass]).reduce((a, b) => a.map((n, i) => n + (b[i] ?? 0))),
      [100, 95, 70],
    );
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

  withStore('quarantined items: listed with reason and domain, counted under --domain, shown whole', async (store) => {
    const broken = Buffer.from('<feedback><policy_published><domain>Example.ORG</domain></policy_published><record>');
    await store.save([{ kind: 'quarantine', reason: 'XML: unclosed tag', bytes: broken }], 'in/broken.xml');
    await store.save(
      [{ kind: 'quarantine', reason: 'broken gzip data', bytes: Buffer.from([0x1f, 0x8b, 1, 2]) }],
      'in/google.com!example.com!1800000000!1800086399.xml.gz',
    );
    await store.save([{ kind: 'quarantine', reason: 'no report found', bytes: Buffer.from('hello') }], 'x.txt');
    assert.equal((await store.totals({})).quarantined, 3);
    assert.equal((await store.totals({ domain: 'example.org' })).quarantined, 1);
    assert.equal((await store.totals({ domain: 'example.com' })).quarantined, 1);
    assert.equal((await store.totals({ domain: 'example.net' })).quarantined, 0);
    const all = await store.quarantinedItems({}, { limit: 10 });
    assert.deepEqual(
      all.map((q) => [q.source, q.reason, q.domain ?? null, q.size]),
      [
        ['x.txt', 'no report found', null, 5],
        ['in/google.com!example.com!1800000000!1800086399.xml.gz', 'broken gzip data', 'example.com', 4],
        ['in/broken.xml', 'XML: unclosed tag', 'example.org', broken.length],
      ],
    );
    assert.deepEqual(
      (await store.quarantinedItems({ domain: 'example.org' }, { limit: 10 })).map((q) => q.source),
      ['in/broken.xml'],
    );
    assert.equal((await store.quarantinedItems({}, { limit: 1, offset: 1 }))[0]?.reason, 'broken gzip data');
    const item = await store.quarantinedItem(all[2]?.id ?? -1);
    assert.deepEqual(Buffer.from(item?.bytes ?? []), broken);
    assert.equal(await store.quarantinedItem(987_654), undefined);
  });

  withStore('failure and TLS reports: listed by domain and date, shown whole', async (store) => {
    const failure = (id: string, domain: string, arrival: number): StoreEntry => ({
      kind: 'failure',
      report: {
        kind: 'failure',
        format: 'arf',
        reporter: 'reports@receiver.example',
        reportId: id,
        arrivalDate: arrival,
        sourceIp: '203.0.113.9',
        authFailure: 'dmarc',
        reportedDomain: domain,
        reportedHeaders: 'From: a@b\r\n',
        warnings: [],
      },
    });
    const tls = (id: string, domain: string, begin: number): StoreEntry => ({
      kind: 'tls',
      report: {
        kind: 'tls',
        organizationName: 'Google Inc.',
        reportId: id,
        begin,
        end: begin + 86_399,
        policies: [
          {
            policyType: 'sts',
            policyDomain: domain,
            policyStrings: [],
            mxHosts: ['mx.' + domain],
            totalSuccessfulSessionCount: 10,
            totalFailureSessionCount: 1,
            failureDetails: [],
          },
        ],
        warnings: [],
      },
    });
    await store.save(
      [
        failure('f1', 'example.com', 1_800_000_000),
        failure('f2', 'example.org', 1_800_100_000),
        tls('t1', 'example.com', 1_800_000_000),
        tls('t2', 'example.org', 1_800_200_000),
      ],
      'mixed',
    );
    const failures = await store.failureReports({}, { limit: 10 });
    assert.deepEqual(
      failures.map((f) => [f.reportedDomain, f.arrivalDate, f.sourceIp, f.authFailure]),
      [
        ['example.org', 1_800_100_000, '203.0.113.9', 'dmarc'],
        ['example.com', 1_800_000_000, '203.0.113.9', 'dmarc'],
      ],
    );
    assert.deepEqual(
      (await store.failureReports({ domain: 'EXAMPLE.com' }, { limit: 10 })).map((f) => f.reportedDomain),
      ['example.com'],
    );
    assert.deepEqual(
      (await store.failureReports({ since: 1_800_090_000 }, { limit: 10 })).map((f) => f.reportedDomain),
      ['example.org'],
    );
    assert.deepEqual(
      (await store.failureReports({ until: 1_800_050_000 }, { limit: 10 })).map((f) => f.reportedDomain),
      ['example.com'],
    );
    const shown = await store.failureReport(failures[0]?.id ?? -1);
    assert.equal(shown?.report.reportId, 'f2');
    assert.equal(shown?.source, 'mixed');
    const reports = await store.tlsReports({ domain: 'example.org' }, { limit: 10 });
    assert.deepEqual(
      reports.map((t) => [t.reportId, t.policyDomains, t.successfulSessions, t.failedSessions]),
      [['t2', ['example.org'], 10, 1]],
    );
    assert.equal((await store.tlsReports({ since: 1_800_100_000 }, { limit: 10 })).length, 1);
    assert.equal((await store.tlsReport(reports[0]?.id ?? -1))?.report.policies[0]?.mxHosts[0], 'mx.example.org');
    assert.equal(await store.tlsReport(987_654), undefined);
    const totals = await store.totals({ domain: 'example.org' });
    assert.deepEqual([totals.failureReports, totals.tlsReports], [1, 1]);
  });

  withStore('export rows carry DKIM and SPF results with selectors, override reasons and enrichment', async (store) => {
    const xml = `<feedback><report_metadata><org_name>google.com</org_name><email>r@x.example</email><report_id>e1</report_id><date_range><begin>1800000000</begin><end>1800086399</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.7</source_ip><count>3</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf><reason><type>forwarded</type></reason></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim><spf><domain>bounce.example.com</domain><scope>mfrom</scope><result>softfail</result></spf></auth_results></record></feedback>`;
    const parsed = parseAggregateReport(Buffer.from(xml));
    assert.ok(parsed.ok);
    await store.save([entry(parsed.report)], 'e.xml');
    await store.saveIpInfo(
      [
        {
          ip: '192.0.2.7',
          ptr: 'mx.example.com',
          ptrConfirmed: true,
          asn: 64500,
          asName: 'Example AS',
          country: 'NL',
          service: 'Own',
        },
      ],
      1_800_000_000,
    );
    const rows = [];
    for await (const row of store.aggregateRows({})) rows.push(row);
    assert.deepEqual(rows[0]?.dkim, [{ domain: 'example.com', selector: 's1', result: 'pass' }]);
    assert.deepEqual(rows[0]?.spf, [{ domain: 'bounce.example.com', scope: 'mfrom', result: 'softfail' }]);
    assert.deepEqual(rows[0]?.reasons, [{ type: 'forwarded' }]);
    assert.deepEqual(rows[0]?.enrichment, {
      ptr: 'mx.example.com',
      ptrConfirmed: true,
      asn: 64500,
      asName: 'Example AS',
      country: 'NL',
      service: 'Own',
    });
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
