import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DmarcRecord } from '../src/index.js';
import { checkReportDestinations, parseDmarcRecord } from '../src/index.js';
import { resolverFor } from './support/dkim-keys.js';

function record(text: string): DmarcRecord {
  const parsed = parseDmarcRecord(text);
  assert.ok(parsed.ok);
  return parsed.record;
}

const ZONE = {
  '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=none' }],
  'example.com._report._dmarc.reports.example.net': [{ TXT: 'v=DMARC1' }],
  '*._report._dmarc.wild.example.org': [{ TXT: 'v=DMARC1;' }],
  'example.com._report._dmarc.wrong.example': [{ TXT: 'hello' }],
  'example.com._report._dmarc.flaky.example': ['SERVFAIL'],
};

test('RFC 9990 §4: internal destinations need nothing; external ones need v=DMARC1 consent', async () => {
  const r = record(
    'v=DMARC1; p=none; rua=mailto:d@example.com, mailto:d@mail.example.com, mailto:x@reports.example.net, mailto:y@wild.example.org, mailto:z@other.example; ruf=mailto:f@wrong.example, mailto:g@flaky.example, https://h.example/r',
  );
  const results = await checkReportDestinations(r, 'example.com', { resolver: resolverFor(ZONE) });
  assert.deepEqual(
    results.map((d) => [d.tag, d.domain ?? null, d.external, d.authorized ?? null]),
    [
      ['rua', 'example.com', false, null],
      ['rua', 'mail.example.com', false, null],
      ['rua', 'reports.example.net', true, true],
      ['rua', 'wild.example.org', true, true],
      ['rua', 'other.example', true, false],
      ['ruf', 'wrong.example', true, false],
      ['ruf', 'flaky.example', true, null],
      ['ruf', 'h.example', true, false],
    ],
  );
  assert.match(results[4]?.reason ?? '', /publish "v=DMARC1" at example\.com\._report\._dmarc\.other\.example/);
  assert.match(results[6]?.reason ?? '', /consent unknown/);
});

test('RFC 7489 mode compares organizational domains from the public suffix list', async () => {
  const r = record('v=DMARC1; p=none; rua=mailto:a@reports.example.co.uk, mailto:b@other.co.uk');
  const results = await checkReportDestinations(r, 'mail.example.co.uk', {
    resolver: resolverFor({}),
    mode: 'rfc7489',
  });
  assert.deepEqual(
    results.map((d) => d.external),
    [false, true],
  );
});
