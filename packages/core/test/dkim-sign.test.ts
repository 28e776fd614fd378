import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { DkimSignerSpec } from '../src/index.js';
import { DkimSigner, parseSignature, signDkim, splitMessage, verifyDkim } from '../src/index.js';
import { SAMPLE_MESSAGE, clockAt, ed25519Key, resolverFor, rsaKey } from './support/dkim-keys.js';

const NOW = 1_800_000_000;
const ed = ed25519Key();
const rsa = rsaKey();
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function fieldsOf(message: string, specs: DkimSignerSpec[]): string[] {
  return signDkim(bytes(message), specs, { clock: clockAt(NOW) }).fields.map((f) => f.field);
}

function tags(field: string): Map<string, string> {
  const parsed = parseSignature(field.slice(field.indexOf(':') + 1));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return new Map([...parsed.signature.tags].map(([name, tag]) => [name, tag.value.replace(/\s+/g, '')]));
}

const edSpec: DkimSignerSpec = { domain: 'example.com', selector: 'ed', privateKey: ed.privateKey };

test('defaults: relaxed/relaxed, From and the present fields signed, oversigned names once more', () => {
  const [field] = fieldsOf(SAMPLE_MESSAGE, [edSpec]);
  assert.ok(field !== undefined);
  const t = tags(field);
  assert.equal(t.get('c'), 'relaxed/relaxed');
  assert.equal(t.get('a'), 'ed25519-sha256');
  assert.equal(
    t.get('h'),
    'from:from:reply-to:subject:subject:date:date:message-id:message-id:to:to:cc:mime-version:content-type:content-transfer-encoding',
  );
  for (const absent of ['t', 'x', 'l', 'i']) assert.equal(t.has(absent), false, absent);
});

test('fields are folded at 78 columns and end in CRLF', () => {
  const fields = fieldsOf(SAMPLE_MESSAGE, [
    edSpec,
    { domain: 'example.com', selector: 'rsa', privateKey: rsa.privateKey },
  ]);
  for (const field of fields) {
    assert.ok(field.startsWith('DKIM-Signature: v=1;'));
    assert.ok(field.endsWith('\r\n') && !field.endsWith('\r\n\r\n'));
    for (const line of field.slice(0, -2).split('\r\n')) assert.ok(line.length <= 78, line);
    for (const line of field.slice(0, -2).split('\r\n').slice(1)) assert.ok(line.startsWith('\t'));
  }
});

test('chunked signing gives exactly the same Ed25519 signature as whole-message signing', () => {
  const body = 'a  b \t\r\n'.repeat(500) + '\r\n\r\n';
  const message = SAMPLE_MESSAGE.slice(0, SAMPLE_MESSAGE.indexOf('\r\n\r\n') + 4) + body;
  const whole = fieldsOf(message, [edSpec, { ...edSpec, canonicalization: { header: 'simple', body: 'simple' } }]);
  const split = splitMessage(bytes(message));
  assert.ok(split.ok);
  for (const size of [1, 5, 333]) {
    const signer: DkimSigner = new DkimSigner(
      split.headers,
      [edSpec, { ...edSpec, canonicalization: { header: 'simple', body: 'simple' } }],
      {
        clock: clockAt(NOW),
      },
    );
    for (let i = 0; i < split.body.length; i += size) signer.push(split.body.subarray(i, i + size));
    assert.deepEqual(
      signer.finish().map((f) => f.field),
      whole,
      `chunk ${size}`,
    );
  }
});

test('optional tags: i=, t=, x=, l= and a custom header list', async () => {
  const [field] = fieldsOf(SAMPLE_MESSAGE, [
    {
      ...edSpec,
      identity: 'joe@news.example.com',
      expiresInSeconds: 86_400,
      bodyLength: true,
      headers: ['Subject', 'X-Custom'],
      oversign: [],
    },
  ]);
  assert.ok(field !== undefined);
  const t = tags(field);
  assert.equal(t.get('i'), 'joe@news.example.com');
  assert.equal(t.get('t'), String(NOW));
  assert.equal(t.get('x'), String(NOW + 86_400));
  assert.equal(t.get('l'), '54');
  assert.equal(t.get('h'), 'from:subject');
  const zone = { 'ed._domainkey.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }] };
  const { signatures } = await verifyDkim(bytes(field + SAMPLE_MESSAGE), {
    resolver: resolverFor(zone),
    clock: clockAt(NOW),
  });
  assert.equal(signatures[0]?.result, 'pass', signatures[0]?.reason);
});

test('several domains in one pass, each verifying with its own key', async () => {
  const specs: DkimSignerSpec[] = [
    { domain: 'example.com', selector: 'rsa', privateKey: rsa.privateKey },
    { domain: 'esp.example.net', selector: 'ed', privateKey: ed.privateKey },
  ];
  const { message } = signDkim(bytes(SAMPLE_MESSAGE), specs, { clock: clockAt(NOW) });
  const zone = {
    'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; p=${rsa.p}` }],
    'ed._domainkey.esp.example.net': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }],
  };
  const { signatures } = await verifyDkim(message, { resolver: resolverFor(zone), clock: clockAt(NOW) });
  assert.deepEqual(
    signatures.map((s) => [s.domain, s.result]),
    [
      ['example.com', 'pass'],
      ['esp.example.net', 'pass'],
    ],
  );
});

test('configuration errors are refused with a clear message', () => {
  const cases: [Partial<DkimSignerSpec>, RegExp][] = [
    [{ domain: 'not a domain' }, /domain/],
    [{ selector: 'bad selector' }, /selector/],
    [{ identity: 'joe@elsewhere.example' }, /not example\.com or below it/],
    [{ identity: 'no-at-sign' }, /no "@"/],
    [{ identity: 'joe smith@example.com' }, /dkim-quoted-printable/],
    [{ identity: 'a;b@example.com' }, /dkim-quoted-printable/],
    [{ algorithm: 'rsa-sha256' }, /needs a rsa key, not ed25519/],
    [{ privateKey: ed.publicKey }, /private key/],
    [{ expiresInSeconds: -5 }, /positive integer/],
    [{ headers: ['Bad:Name'] }, /not a header field name/],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => fieldsOf(SAMPLE_MESSAGE, [{ ...edSpec, ...change }]), message, JSON.stringify(change));
  }
  assert.throws(() => signDkim(bytes(SAMPLE_MESSAGE), [], { clock: clockAt(NOW) }), /no signature requested/);
});

test('a header list changed after signing with it is read again (names and validation)', () => {
  const headers = ['From', 'To'];
  const oversign: string[] = [];
  const spec: DkimSignerSpec = { ...edSpec, headers, oversign };
  assert.equal(tags(fieldsOf(SAMPLE_MESSAGE, [spec])[0]!).get('h'), 'from:to');
  headers.push('Subject');
  assert.equal(tags(fieldsOf(SAMPLE_MESSAGE, [spec])[0]!).get('h'), 'from:to:subject');
  oversign.push('From');
  assert.equal(tags(fieldsOf(SAMPLE_MESSAGE, [spec])[0]!).get('h'), 'from:from:to:subject');
  headers.push('Bad Name:');
  assert.throws(() => fieldsOf(SAMPLE_MESSAGE, [spec]), /is not a header field name/);
});

test("signDkim's result: only the fields are own properties; the signed message is read through .message", () => {
  const result = signDkim(bytes(SAMPLE_MESSAGE), [edSpec], { clock: clockAt(NOW) });
  assert.deepEqual(Object.keys(result), ['fields']);
  assert.ok(Buffer.from(result.message).toString('latin1').startsWith('DKIM-Signature:'));
  assert.equal(result.message, result.message); // built once
  assert.ok(!JSON.stringify(result).includes('Subject'));
});
