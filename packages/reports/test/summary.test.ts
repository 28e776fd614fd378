/** Source classification and readiness for p=reject. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DisagreementRow, ReportStore, SourceRow } from '../src/index.js';
import { classifySource, identifyService, summarize } from '../src/index.js';

const row = (sourceIp: string, messages: number, dmarcPass: number, dkimDomain?: string): SourceRow => ({
  sourceIp,
  headerFrom: 'example.com',
  messages,
  dmarcPass,
  dkimAligned: dmarcPass,
  spfAligned: 0,
  recomputed: { dmarcPass, dkimAligned: dmarcPass, spfAligned: 0 },
  quarantined: 0,
  rejected: 0,
  reporters: 1,
  ...(dkimDomain !== undefined && { dkimDomain }),
});

test('services are identified by DKIM domain or PTR name, at or under the listed domain', () => {
  assert.equal(identifyService({ dkimDomain: 'sendgrid.net' })?.name, 'SendGrid');
  assert.equal(identifyService({ dkimDomain: 'em1.sendgrid.net' })?.name, 'SendGrid');
  assert.equal(identifyService({ ptrName: 'a8-1.smtp-out.amazonses.com.' })?.name, 'Amazon SES');
  assert.equal(identifyService({ dkimDomain: 'notsendgrid.net' }), undefined);
});

test('verdicts: passing, partly failing, service not aligned, unaligned sender, unauthenticated', () => {
  assert.deepEqual(
    [
      classifySource(row('a', 100, 99)),
      classifySource(row('b', 100, 60)),
      classifySource(row('c', 100, 0, 'sendgrid.net')),
      classifySource(row('d', 100, 0, 'random.example')),
      classifySource(row('e', 100, 0)),
      classifySource(row('f', 0, 0)),
    ].map((s) => s.verdict),
    ['passing', 'partly-failing', 'service-not-aligned', 'unaligned-sender', 'unauthenticated', 'unauthenticated'],
  );
});

/** Enough data by default: 20 days from 3 reporters. */
function storeWith(
  rows: SourceRow[],
  data: { days?: number; reporters?: number; disagreements?: DisagreementRow[] } = {},
): ReportStore {
  const messages = rows.reduce((n, r) => n + r.messages, 0);
  const pass = rows.reduce((n, r) => n + r.dmarcPass, 0);
  const verdicts = { dmarcPass: pass, dmarcFail: messages - pass, dkimAligned: pass, spfAligned: 0 };
  const days = Array.from({ length: data.days ?? 20 }, (_, i) => ({
    day: `2026-11-${String(i + 1).padStart(2, '0')}`,
    messages: 1,
    dmarcPass: 1,
    recomputedPass: 1,
  }));
  return {
    totals: () =>
      Promise.resolve({
        reports: 1,
        reporters: data.reporters ?? 3,
        messages,
        ...verdicts,
        recomputed: verdicts,
        failureReports: 0,
        tlsReports: 0,
        quarantined: 0,
      }),
    sources: () => Promise.resolve(rows),
    days: () => Promise.resolve(messages === 0 ? [] : days),
    disagreements: () => Promise.resolve(data.disagreements ?? []),
  } as unknown as ReportStore;
}

test('readiness: not ready while a legitimate source fails; ready when only spoofing fails', async () => {
  const notReady = await summarize(
    storeWith([row('192.0.2.1', 1000, 1000), row('167.89.1.1', 50, 0, 'sendgrid.net'), row('203.0.113.5', 20, 0)]),
    {},
  );
  assert.equal(notReady.readiness.ready, false);
  assert.deepEqual(
    notReady.readiness.mustFix.map((s) => s.sourceIp),
    ['167.89.1.1'],
  );
  assert.deepEqual(notReady.readiness.wouldBlock, { sources: 1, messages: 20 });
  assert.ok(Math.abs(notReady.rates.dmarcPass - 1000 / 1070) < 1e-12);
  const ready = await summarize(storeWith([row('192.0.2.1', 1000, 1000), row('203.0.113.5', 20, 0)]), {});
  assert.equal(ready.readiness.ready, true);
  assert.equal(ready.readiness.status, 'ready');
  assert.match(ready.readiness.explanation, /p=reject would block 20 messages from 1 unauthenticated source$/);
  const empty = await summarize(storeWith([]), {});
  assert.deepEqual([empty.readiness.ready, empty.readiness.status, empty.rates.dmarcPass], [false, 'no-data', 0]);
});

test('readiness: "not enough data" below the minimum of days, messages or reporters, never "ready"', async () => {
  // 10 messages on 2 days from one reporter: nothing fails, but that proves nothing.
  const few = await summarize(storeWith([row('192.0.2.1', 10, 10)], { days: 2, reporters: 1 }), {});
  assert.equal(few.readiness.status, 'not-enough-data');
  assert.equal(few.readiness.ready, false);
  assert.deepEqual(few.readiness.data, { days: 2, messages: 10, reporters: 1 });
  assert.match(
    few.readiness.explanation,
    /2 days of data \(at least 14 needed\), 10 messages \(at least 100\), 1 reporter \(at least 2\)/,
  );
  // Each minimum on its own, and a lowered minimum.
  const oneReporter = await summarize(storeWith([row('192.0.2.1', 1000, 1000)], { reporters: 1 }), {});
  assert.equal(oneReporter.readiness.status, 'not-enough-data');
  const lowered = await summarize(
    storeWith([row('192.0.2.1', 1000, 1000)], { reporters: 1 }),
    {},
    { minimum: { reporters: 1 } },
  );
  assert.equal(lowered.readiness.status, 'ready');
  // A failing legitimate source is "not ready" whatever the amount of data.
  const failing = await summarize(storeWith([row('192.0.2.1', 10, 5)], { days: 1, reporters: 1 }), {});
  assert.equal(failing.readiness.status, 'not-ready');
});

test('disagreements between the reporters and the recomputation are grouped per source with reasons', async () => {
  const base = { headerFrom: 'example.com', policy: {}, spf: [], messages: 5 };
  const summary = await summarize(
    storeWith([row('192.0.2.1', 100, 100)], {
      disagreements: [
        // The reporter passed mail that passed DKIM only for the ESP's own domain.
        {
          ...base,
          sourceIp: '192.0.2.1',
          reporter: 'a.example',
          reporterDkim: 'pass',
          reporterSpf: 'fail',
          dkim: [{ domain: 'esp.example', result: 'pass' }],
        },
        {
          ...base,
          sourceIp: '192.0.2.1',
          reporter: 'b.example',
          reporterDkim: 'pass',
          reporterSpf: 'fail',
          dkim: [{ domain: 'esp.example', result: 'pass' }],
          messages: 7,
        },
        // The reporter passed it and listed no passing result at all.
        {
          ...base,
          sourceIp: '192.0.2.1',
          reporter: 'c.example',
          reporterDkim: 'pass',
          reporterSpf: 'none',
          dkim: [],
          messages: 1,
        },
        // The two verdicts agree: not a disagreement, whatever the store returned.
        {
          ...base,
          sourceIp: '192.0.2.9',
          reporter: 'a.example',
          reporterDkim: 'pass',
          reporterSpf: 'fail',
          dkim: [{ domain: 'example.com', result: 'pass' }],
        },
      ],
    }),
    {},
  );
  assert.equal(summary.disagreements.length, 1);
  const [source] = summary.disagreements;
  assert.equal(source?.messages, 13);
  assert.equal(source?.reporterPass, 13);
  assert.deepEqual(
    source?.reasons.map((r) => [r.reason, r.messages, r.reporters]),
    [
      ['reporter-ignored-alignment', 12, ['a.example', 'b.example']],
      ['auth-results-incomplete', 1, ['c.example']],
    ],
  );
});
