import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseZone } from '@mailward/core';
import { NetworkResolver } from '../src/index.js';
import type { DecodedPacket } from 'dns-packet';
import type { KnotServer } from '@mailward/testkit';
import { answer, rawQuery, rcodeOf, renderZone, startKnot } from '@mailward/testkit';

const GOOD = 'example.test';
const goodZone = (address: string): string =>
  `$ORIGIN ${GOOD}.\n@ 3600 IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 300\nwww 60 IN A ${address}\n`;

function firstData(response: DecodedPacket | undefined): unknown {
  const record = response?.answers?.[0];
  return record && 'data' in record ? record.data : undefined;
}

describe('Knot harness (Knot 3.2)', () => {
  let knot: KnotServer;
  before(async () => {
    knot = await startKnot({
      zones: [
        { origin: GOOD, text: goodZone('192.0.2.1') },
        { origin: 'broken.test', broken: true },
      ],
    });
  });
  after(async () => {
    await knot.stop();
  });
  const ask = (name: string, tcp = false) => rawQuery({ host: knot.host, port: knot.port, name, type: 'A', tcp });

  it('answers SERVFAIL, over UDP and TCP, for the apex and names of a zone that failed to load', async () => {
    for (const tcp of [false, true]) {
      for (const name of ['broken.test', 'www.broken.test', 'deep.www.broken.test']) {
        const response = await ask(name, tcp);
        assert.equal(response && rcodeOf(response), 2, `${name} over ${tcp ? 'TCP' : 'UDP'}`);
        assert.deepEqual(response?.answers, []);
      }
    }
    const good = await ask(`www.${GOOD}`);
    assert.equal(good && rcodeOf(good), 0);
  });

  it('reloads: changed, broken (purged, not left serving old data), repaired and removed zones', async () => {
    await knot.reload([{ origin: GOOD, text: goodZone('192.0.2.2') }]);
    assert.equal(firstData(await ask(`www.${GOOD}`)), '192.0.2.2');
    // Not served any more: Knot refuses names outside its zones.
    const removed = await ask('www.broken.test');
    assert.equal(removed && rcodeOf(removed), 5);

    await knot.reload([{ origin: GOOD, broken: true }]);
    const broken = await ask(`www.${GOOD}`);
    assert.equal(broken && rcodeOf(broken), 2);

    await knot.reload([{ origin: GOOD, text: goodZone('192.0.2.3') }]);
    assert.equal(firstData(await ask(`www.${GOOD}`)), '192.0.2.3');
  });

  it('serves a root zone: every byte value of a TXT record survives rendering, Knot and decoding', async () => {
    const allBytes = Array.from({ length: 256 }, (_, byte) => String.fromCharCode(byte)).join('');
    const parsed = parseZone({
      'bytes.anything.invalid': [{ TXT: allBytes }],
      'plain.example': [{ A: '192.0.2.9' }],
      'foo:bar/baz.example.com': [{ A: '192.0.2.9' }],
      'macro%percent  space%20url-space.example.com': [{ A: '192.0.2.9' }],
    });
    assert.ok(parsed.ok);
    await knot.reload([{ origin: '.', text: renderZone(parsed.zone, { origin: '.' }) }]);
    const dns = new NetworkResolver({ servers: [knot], timeoutMs: 1000 });
    const record = answer(await dns.lookup('bytes.anything.invalid', 'TXT')).records[0];
    assert.equal(record?.text, allBytes);
    assert.deepEqual(record?.strings, [allBytes.slice(0, 255), allBytes.slice(255)]);
    assert.deepEqual(answer(await dns.lookup('plain.example', 'A')).records, ['192.0.2.9']);
    for (const name of ['foo:bar/baz.example.com', 'macro%percent  space%20url-space.example.com']) {
      assert.deepEqual(answer(await dns.lookup(name, 'A')).records, ['192.0.2.9'], name);
    }
  });

  it('stops knotd for good', async () => {
    const other = await startKnot({ zones: [] });
    await other.stop();
    assert.throws(() => process.kill(other.pid, 0), /ESRCH/);
    const response = await rawQuery({ host: other.host, port: other.port, name: '.', type: 'SOA', timeoutMs: 200 });
    assert.equal(response, undefined);
  });
});
