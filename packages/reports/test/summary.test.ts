/** Source classification and readiness for p=reject. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReportStore, SourceRow } from '../src/index.js';
import { classifySource, identifyService, summarize } from '../src/index.js';

const row = (sourceIp: string, messages: number, dmarcPass: number, dkimDomain?: string): SourceRow => ({
  sourceIp,
  headerFrom: 'example.com',
  messages,
  dmarcPass,
  dkimAligned: dmarcPass,
  spfAligned: 0,
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

function storeWith(rows: SourceRow[]): ReportStore {
  const messages = rows.reduce((n, r) => n + r.messages, 0);
  const pass = rows.reduce((n, r) => n + r.dmarcPass, 0);
  return {
    totals: () =>
      Promise.resolve({
        reports: 1,
        messages,
        dmarcPass: pass,
        dmarcFail: messages - pass,
        dkimAligned: pass,
        spfAligned: 0,
        failureReports: 0,
        tlsReports: 0,
        quarantined: 0,
      }),
    sources: () => Promise.resolve(rows),
    days: () => Promise.resolve([]),
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
  assert.match(ready.readiness.explanation, /p=reject would block 20 messages from 1 unauthenticated sources/);
  const empty = await summarize(storeWith([]), {});
  assert.deepEqual([empty.readiness.ready, empty.rates.dmarcPass], [false, 0]);
});
