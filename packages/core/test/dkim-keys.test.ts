import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  datedSelector,
  dkimKeyRecord,
  generateDkimKey,
  parseKeyRecord,
  publishedKeyMatches,
  signDkim,
  splitTxtValue,
  verifyDkim,
  zoneFileRecord,
} from '../src/index.js';
import { SAMPLE_MESSAGE, clockAt, resolverFor } from './support/dkim-keys.js';

const NOW = 1_800_000_000;

test('generate → record → parse → sign → verify, for RSA and Ed25519', async () => {
  for (const [type, bits] of [
    ['rsa', 1024],
    ['ed25519', 256],
  ] as const) {
    const key = generateDkimKey(type, bits);
    assert.equal(key.bits, bits);
    assert.match(key.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
    const record = dkimKeyRecord(key.publicKey, { testing: true });
    assert.match(record, new RegExp(`^v=DKIM1; k=${type}; t=y; p=`));
    const parsed = parseKeyRecord(record);
    assert.ok(parsed.ok);
    assert.equal(parsed.key.bits, bits);
    assert.deepEqual(publishedKeyMatches(key.privateKey, parsed.key), { matches: true });
    const other = generateDkimKey(type, bits);
    assert.equal(publishedKeyMatches(other.privateKey, parsed.key).matches, false);
    const zone = { [`s._domainkey.example.com`]: [{ TXT: splitTxtValue(record) }] };
    const { message } = signDkim(
      Buffer.from(SAMPLE_MESSAGE),
      [{ domain: 'example.com', selector: 's', privateKey: key.privateKey }],
      { clock: clockAt(NOW) },
    );
    const { signatures } = await verifyDkim(message, { resolver: resolverFor(zone), clock: clockAt(NOW) });
    assert.equal(signatures[0]?.result, 'pass', signatures[0]?.reason);
  }
});

test('revoked and wrong-type published keys do not match', () => {
  const rsa = generateDkimKey('rsa', 1024);
  const revoked = parseKeyRecord('v=DKIM1; p=');
  assert.ok(revoked.ok);
  assert.match(String((publishedKeyMatches(rsa.privateKey, revoked.key) as { reason: string }).reason), /revoked/);
  const ed = parseKeyRecord(dkimKeyRecord(generateDkimKey('ed25519').publicKey));
  assert.ok(ed.ok);
  assert.match(String((publishedKeyMatches(rsa.privateKey, ed.key) as { reason: string }).reason), /k=ed25519/);
});

test('TXT values split at exactly 255 octets; zone-file form quotes each string', () => {
  const value = 'x'.repeat(255 * 2 + 1);
  assert.deepEqual(
    splitTxtValue(value).map((s) => s.length),
    [255, 255, 1],
  );
  assert.deepEqual(splitTxtValue('a'.repeat(255)).length, 1);
  assert.equal(
    zoneFileRecord('s._domainkey.example.com', 'v=DKIM1; p=AB'),
    's._domainkey.example.com. IN TXT "v=DKIM1; p=AB"',
  );
  const long = zoneFileRecord('s._domainkey.example.com', 'y'.repeat(300), 3600);
  assert.equal(long, `s._domainkey.example.com. 3600 IN TXT ( "${'y'.repeat(255)}"\n\t"${'y'.repeat(45)}" )`);
});

test('dated selectors carry the key type and the day', () => {
  const clock = clockAt(Date.UTC(2026, 10, 28, 23, 59) / 1000);
  assert.equal(datedSelector('rsa', clock), 'rsa-20261128');
  assert.equal(datedSelector('ed25519', clock), 'ed-20261128');
});

test('RSA sizes outside 1024..4096 are refused', () => {
  assert.throws(() => generateDkimKey('rsa', 512), /1024 to 4096/);
  assert.throws(() => generateDkimKey('rsa', 8192), /1024 to 4096/);
});
