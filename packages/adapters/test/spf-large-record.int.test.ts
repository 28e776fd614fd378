import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMailFrom, parseZone } from '@mailward/core';
import type { ServedZone } from '@mailward/testkit';
import { serveZone } from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';

// About the largest SPF record a TXT answer can carry: 60 KB of terms in 255-byte strings
// (the answer then needs TCP), served by Knot and evaluated through the network resolver.
const terms: string[] = [];
let record = 'v=spf1';
for (let i = 0; record.length < 60_000; i += 1) {
  const term = ` ip4:10.${(i >> 8) & 255}.${i & 255}.0/24`;
  terms.push(term);
  record += term;
}
record += ' ip4:192.0.2.0/24 -all';

let served: ServedZone;
let resolver: NetworkResolver;

before(async () => {
  const parsed = parseZone({
    'big.example': [{ TXT: record }],
    'bigbad.example': [{ TXT: `${record.slice(0, 59_000)} ip4:192.0.2.999 -all` }],
  });
  assert.ok(parsed.ok);
  served = await serveZone(parsed.zone);
  resolver = new NetworkResolver({ servers: [{ host: served.host, port: served.port }], timeoutMs: 2000 });
});

after(async () => {
  await served?.stop();
});

test('a 60 KB SPF record comes over TCP and is evaluated: pass at the last term, fail elsewhere', async () => {
  assert.ok(record.length >= 60_000);
  const pass = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@big.example' }, { resolver, clock: Date });
  assert.equal(pass.result, 'pass', pass.reason);
  assert.equal(pass.record, record, 'the 255-byte strings are joined with no separator');
  assert.ok(resolver.stats.tcpFallbacks >= 1, 'the answer did not fit in UDP');
  const fail = await checkMailFrom({ ip: '203.0.113.1', mailFrom: 'a@big.example' }, { resolver, clock: Date });
  assert.equal(fail.result, 'fail');
  assert.ok(fail.trace[0] && fail.trace[0].records[0] && fail.trace[0].records[0].length < 400, 'traces are cut');
});

test('a syntax error at the end of a 59 KB record is a permerror with its position', async () => {
  const bad = await checkMailFrom({ ip: '192.0.2.1', mailFrom: 'a@bigbad.example' }, { resolver, clock: Date });
  assert.equal(bad.result, 'permerror');
  assert.match(bad.reason, /position \d{5} \("ip4:192\.0\.2\.999"\)/);
});
