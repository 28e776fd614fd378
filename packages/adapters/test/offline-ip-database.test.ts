/** The offline AS and country database shipped in npm packages (no network). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OfflineIpDatabase } from '../src/index.js';

const db = new OfflineIpDatabase();

test('IPv4 and IPv6 addresses map to their AS and country', () => {
  assert.deepEqual(db.lookup('8.8.8.8'), { asn: 15169, asName: 'Google LLC', country: 'US' });
  assert.equal(db.lookup('2001:4860:4860::8888').asn, 15169);
  assert.equal(db.lookup('167.89.12.34').asName, 'SendGrid, Inc.');
  // IPv4-mapped IPv6 is looked up as IPv4.
  assert.equal(db.lookup('::ffff:8.8.8.8').asn, 15169);
});

test('documentation, private and invalid addresses have no facts', () => {
  assert.deepEqual(db.lookup('192.0.2.1'), {});
  assert.deepEqual(db.lookup('10.1.2.3'), {});
  assert.deepEqual(db.lookup('not an address'), {});
});
