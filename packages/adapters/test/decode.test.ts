import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { MAX_CNAME_CHAIN, interpretResponse, rcodeName, toRecordData } from '../src/index.js';
import { packet, soa } from '@mailward/testkit';

const ORIGIN = '192.0.2.53:53';
const cname = (name: string, target: string, ttl = 3600): Answer => ({
  type: 'CNAME',
  name,
  ttl,
  class: 'IN',
  data: target,
});
const a = (name: string, address: string, ttl = 3600): Answer => ({ type: 'A', name, ttl, class: 'IN', data: address });

describe('record decoding', () => {
  it('decodes TXT strings as Latin-1, joined with no separator', () => {
    const response = packet({
      question: { name: 'example.com', type: 'TXT' },
      answers: [
        {
          type: 'TXT',
          name: 'example.com',
          ttl: 60,
          data: [Buffer.from('v=spf1 '), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x00, 0xff])],
        },
      ],
    });
    const result = interpretResponse(response, 'example.com', 'TXT', ORIGIN);
    assert.equal(result.kind, 'answer');
    assert.deepEqual(result.kind === 'answer' && result.records, [
      { text: 'v=spf1 caf\u00e9\u0000\u00ff', strings: ['v=spf1 ', 'caf\u00e9\u0000\u00ff'] },
    ]);
  });

  it('lower-cases names and drops the final dot (MX, PTR, NS, CNAME, SOA)', () => {
    const mx = toRecordData('MX', { type: 'MX', name: 'x', data: { preference: 5, exchange: 'MX.Example.COM.' } });
    assert.deepEqual(mx, { ok: true, data: { preference: 5, exchange: 'mx.example.com' } });
    for (const type of ['PTR', 'NS', 'CNAME'] as const) {
      assert.deepEqual(toRecordData(type, { type, name: 'x', data: 'Host.Example.' }), {
        ok: true,
        data: 'host.example',
      });
    }
    const decoded = toRecordData('SOA', soa('example.com', 60, 30));
    assert.deepEqual(decoded, {
      ok: true,
      data: {
        mname: 'ns.example',
        rname: 'hostmaster.example',
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86_400,
        minimum: 30,
      },
    });
  });

  it('decodes TLSA, DNSKEY and DS byte fields as plain Uint8Arrays', () => {
    const response = packet({
      question: { name: 'example.com', type: 'TLSA' },
      answers: [
        {
          type: 'TLSA',
          name: 'example.com',
          data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from([1, 2, 3]) },
        },
        { type: 'DNSKEY', name: 'example.com', data: { flags: 257, algorithm: 13, key: Buffer.from([4, 5]) } },
        {
          type: 'DS',
          name: 'example.com',
          data: { keyTag: 12345, algorithm: 13, digestType: 2, digest: Buffer.from([6, 7]) },
        },
      ],
    });
    const [tlsa, dnskey, ds] = response.answers ?? [];
    assert.ok(tlsa && dnskey && ds);
    assert.deepEqual(toRecordData('TLSA', tlsa), {
      ok: true,
      data: { usage: 3, selector: 1, matchingType: 1, certificate: new Uint8Array([1, 2, 3]) },
    });
    assert.deepEqual(toRecordData('DNSKEY', dnskey), {
      ok: true,
      data: { flags: 257, protocol: 3, algorithm: 13, key: new Uint8Array([4, 5]) },
    });
    assert.deepEqual(toRecordData('DS', ds), {
      ok: true,
      data: { keyTag: 12345, algorithm: 13, digestType: 2, digest: new Uint8Array([6, 7]) },
    });
  });

  it('refuses data of the wrong shape instead of passing it on', () => {
    const bad = toRecordData('MX', { type: 'MX', name: 'x.example', data: 'not an mx' } as unknown as Answer);
    assert.deepEqual(bad, { ok: false, reason: 'cannot decode the MX record of x.example' });
    assert.equal(toRecordData('A', { type: 'A', name: 'x', data: 7 } as unknown as Answer).ok, false);
  });
});

describe('RCODE mapping', () => {
  it('maps NOERROR with records of the type to an answer with the smallest TTL and the AD flag', () => {
    const response = packet({
      answers: [a('example.com', '192.0.2.1', 300), a('EXAMPLE.com.', '192.0.2.2', 30)],
      flags: dnsPacket.AUTHENTIC_DATA,
    });
    assert.deepEqual(interpretResponse(response, 'example.com', 'A', ORIGIN), {
      kind: 'answer',
      records: ['192.0.2.1', '192.0.2.2'],
      ttl: 30,
      cnames: [],
      authenticated: true,
    });
  });

  it('ignores records of other names, types and classes', () => {
    const response = packet({
      answers: [
        a('other.example', '192.0.2.9'),
        { type: 'AAAA', name: 'example.com', data: '2001:db8::1' },
        { type: 'A', name: 'example.com', class: 'CH', data: '192.0.2.8' },
      ],
      authorities: [soa('example.com', 600, 300)],
    });
    assert.deepEqual(interpretResponse(response, 'example.com', 'A', ORIGIN), { kind: 'nodata', ttl: 300 });
  });

  it('takes the negative TTL as min(SOA TTL, SOA MINIMUM) (RFC 2308)', () => {
    const nodata = packet({ authorities: [soa('example.com', 600, 300)] });
    assert.deepEqual(interpretResponse(nodata, 'example.com', 'A', ORIGIN), { kind: 'nodata', ttl: 300 });
    const nx = packet({ rcode: 3, authorities: [soa('example.com', 100, 300)] });
    assert.deepEqual(interpretResponse(nx, 'example.com', 'A', ORIGIN), { kind: 'nxdomain', ttl: 100 });
  });

  it('leaves the negative TTL out when there is no SOA', () => {
    assert.deepEqual(interpretResponse(packet(), 'example.com', 'A', ORIGIN), { kind: 'nodata' });
    assert.deepEqual(interpretResponse(packet({ rcode: 3 }), 'example.com', 'A', ORIGIN), { kind: 'nxdomain' });
  });

  it('maps SERVFAIL and REFUSED to their outcomes, naming the server', () => {
    const servfail = interpretResponse(packet({ rcode: 2 }), 'example.com', 'A', ORIGIN);
    assert.equal(servfail.kind, 'servfail');
    assert.match(servfail.kind === 'servfail' ? servfail.reason : '', /192\.0\.2\.53:53 answered SERVFAIL/);
    assert.equal(interpretResponse(packet({ rcode: 5 }), 'example.com', 'A', ORIGIN).kind, 'refused');
  });

  it('maps other RCODEs to servfail with the RCODE named', () => {
    for (const [rcode, name] of [
      [1, 'FORMERR'],
      [4, 'NOTIMP'],
      [9, 'NOTAUTH'],
      [15, 'RCODE 15'],
    ] as const) {
      const result = interpretResponse(packet({ rcode }), 'example.com', 'A', ORIGIN);
      assert.equal(result.kind, 'servfail');
      assert.ok(result.kind === 'servfail' && result.reason.includes(name), `${rcode}: ${JSON.stringify(result)}`);
    }
  });

  it('reads the extended RCODE from the OPT record (BADVERS is not NOERROR)', () => {
    const opt: Answer = {
      type: 'OPT',
      name: '.',
      udpPayloadSize: 1232,
      extendedRcode: 1,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      options: [],
    };
    const result = interpretResponse(packet({ additionals: [opt] }), 'example.com', 'A', ORIGIN);
    assert.equal(result.kind, 'servfail');
    assert.match(result.kind === 'servfail' ? result.reason : '', /BADVERS/);
    assert.equal(rcodeName(16), 'BADVERS');
  });
});

describe('CNAME chains', () => {
  it('follows a chain inside the answer section, collecting targets and the smallest TTL', () => {
    const response = packet({
      answers: [
        cname('example.com', 'B.example.', 100),
        cname('b.example', 'c.example', 50),
        a('c.example', '192.0.2.3'),
      ],
    });
    assert.deepEqual(interpretResponse(response, 'example.com', 'A', ORIGIN), {
      kind: 'answer',
      records: ['192.0.2.3'],
      ttl: 50,
      cnames: ['b.example', 'c.example'],
      authenticated: false,
    });
  });

  it('answers a CNAME query with the CNAME instead of following it', () => {
    const response = packet({
      question: { name: 'example.com', type: 'CNAME' },
      answers: [cname('example.com', 'b.example'), a('b.example', '192.0.2.3')],
    });
    const result = interpretResponse(response, 'example.com', 'CNAME', ORIGIN);
    assert.deepEqual(result.kind === 'answer' && result.records, ['b.example']);
  });

  it('ends in NODATA when the server proves the target has no such records (SOA)', () => {
    const response = packet({ answers: [cname('example.com', 'b.example')], authorities: [soa('example', 60, 60)] });
    assert.deepEqual(interpretResponse(response, 'example.com', 'A', ORIGIN), { kind: 'nodata', ttl: 60 });
  });

  it('ends in NXDOMAIN when the last target does not exist (RFC 6604)', () => {
    const response = packet({ rcode: 3, answers: [cname('example.com', 'b.example')] });
    assert.deepEqual(interpretResponse(response, 'example.com', 'A', ORIGIN), { kind: 'nxdomain' });
  });

  it('asks to follow a chain that leaves the answer (a referral, no SOA)', () => {
    const referral: Answer = { type: 'NS', name: 'other.test', ttl: 3600, data: 'ns.invalid' };
    const response = packet({
      answers: [cname('example.com', 'b.example', 30), cname('b.example', 'x.other.test', 90)],
      authorities: [referral],
    });
    assert.deepEqual(interpretResponse(response, 'example.com', 'A', ORIGIN), {
      kind: 'follow',
      target: 'x.other.test',
      cnames: ['b.example', 'x.other.test'],
      ttl: 30,
      authenticated: false,
    });
  });

  it('fails on a loop inside the answer section', () => {
    const response = packet({ answers: [cname('example.com', 'b.example'), cname('b.example', 'example.com')] });
    const result = interpretResponse(response, 'example.com', 'A', ORIGIN);
    assert.equal(result.kind, 'servfail');
    assert.match(result.kind === 'servfail' ? result.reason : '', /loop/);
  });

  it('fails on a loop back to a name visited by an earlier query', () => {
    const response = packet({
      question: { name: 'b.example', type: 'A' },
      answers: [cname('b.example', 'start.example')],
    });
    const result = interpretResponse(response, 'b.example', 'A', ORIGIN, { visited: new Set(['start.example']) });
    assert.equal(result.kind, 'servfail');
  });

  it(`stops after ${MAX_CNAME_CHAIN} CNAMEs`, () => {
    const chain = (length: number): Answer[] =>
      Array.from({ length }, (_, i) => cname(i === 0 ? 'example.com' : `n${i}.example`, `n${i + 1}.example`)).concat(
        a(`n${length}.example`, '192.0.2.1'),
      );
    const ok = interpretResponse(packet({ answers: chain(MAX_CNAME_CHAIN) }), 'example.com', 'A', ORIGIN);
    assert.equal(ok.kind, 'answer');
    const long = interpretResponse(packet({ answers: chain(MAX_CNAME_CHAIN + 1) }), 'example.com', 'A', ORIGIN);
    assert.equal(long.kind, 'servfail');
  });
});
