/** Enrichment: forward-confirmed PTR, registrable domain, AS facts and the service they point to. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryResolver, parseZone } from '@mailward/core';
import type { IpDatabase } from '../src/index.js';
import { enrichIp, enrichIps } from '../src/index.js';

function resolver(zone: Record<string, unknown[]>) {
  const parsed = parseZone(zone);
  assert.ok(parsed.ok);
  return new MemoryResolver(parsed.zone);
}

const database: IpDatabase = {
  lookup: (ip) => (ip.startsWith('167.89.') ? { asn: 11377, asName: 'SendGrid, Inc.', country: 'US' } : {}),
};

const zone = {
  '34.12.89.167.in-addr.arpa': [{ PTR: 'o1.ptr1234.sendgrid.net' }],
  'o1.ptr1234.sendgrid.net': [{ A: '167.89.12.34' }],
  '10.2.0.192.in-addr.arpa': [{ PTR: 'mail.google.com' }],
  'mail.google.com': [{ A: '198.51.100.1' }],
  '8.8.4.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa': [{ PTR: 'mx.example.com' }],
  'mx.example.com': [{ AAAA: '2001:db8::4488' }],
  '9.113.0.203.in-addr.arpa': ['TIMEOUT'],
};

test('a confirmed PTR names the service; the AS facts come from the database', async () => {
  const e = await enrichIp('167.89.12.34', { resolver: resolver(zone), ipDatabase: database });
  assert.deepEqual(e, {
    ip: '167.89.12.34',
    ptr: 'o1.ptr1234.sendgrid.net',
    ptrConfirmed: true,
    ptrDomain: 'sendgrid.net',
    asn: 11377,
    asName: 'SendGrid, Inc.',
    country: 'US',
    service: 'SendGrid',
  });
});

test('an unconfirmed PTR (claiming mail.google.com) is kept but names no service', async () => {
  const e = await enrichIp('192.0.2.10', { resolver: resolver(zone), ipDatabase: database });
  assert.deepEqual(
    [e.ptr, e.ptrConfirmed, e.ptrDomain, e.service],
    ['mail.google.com', false, 'google.com', undefined],
  );
});

test('IPv6 PTRs are confirmed with AAAA; DNS failures are notes, not errors', async () => {
  const [v6, timeout, bad] = await enrichIps(['2001:db8::4488', '203.0.113.9', 'not-an-ip'], {
    resolver: resolver(zone),
    ipDatabase: database,
  });
  assert.deepEqual([v6?.ptr, v6?.ptrConfirmed], ['mx.example.com', true]);
  assert.deepEqual([timeout?.ptr, timeout?.note], [undefined, 'PTR: timeout']);
  assert.equal(bad?.note, 'not an IP address');
});

test('concurrency is bounded', async () => {
  let inFlight = 0;
  let most = 0;
  const slow = {
    lookup: async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return { kind: 'nxdomain' as const, reason: 'no' };
    },
  };
  const ips = Array.from({ length: 40 }, (_, i) => `192.0.2.${i}`);
  const results = await enrichIps(ips, { resolver: slow as never, ipDatabase: database }, 4);
  assert.equal(results.length, 40);
  assert.equal(most, 4);
  assert.deepEqual(
    results.map((r) => r.ip),
    ips,
  );
});
