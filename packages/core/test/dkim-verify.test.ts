import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { DkimSignerSpec, DkimVerification, DkimVerifyOptions, Resolver } from '../src/index.js';
import type { KeyObject } from 'node:crypto';
import type { DkimAlgorithm } from '../src/index.js';
import {
  BodyHasher,
  DkimVerifier,
  HeaderIndex,
  buildHeaderData,
  hashOf,
  signDkim,
  signHeaderData,
  splitMessage,
  verifyDkim,
} from '../src/index.js';
import { readTestdata } from './support/dkim-testdata.js';
import { SAMPLE_MESSAGE, clockAt, ed25519Key, resolverFor, rsaKey } from './support/dkim-keys.js';

const NOW = 1_800_000_000;
const RFC8463_KEYS = {
  'brisbane._domainkey.football.example.com': [
    { TXT: 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=' },
  ],
  'test._domainkey.football.example.com': [
    {
      TXT:
        'v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutA' +
        'CDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB',
    },
  ],
};

function bytes(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

function keyZone(entries: Record<string, string>): Resolver {
  return resolverFor(Object.fromEntries(Object.entries(entries).map(([name, txt]) => [name, [{ TXT: txt }]])));
}

const rsa = rsaKey();
const ed = ed25519Key();
const ZONE = {
  'rsa._domainkey.example.com': `v=DKIM1; k=rsa; p=${rsa.p}`,
  'ed._domainkey.example.com': `v=DKIM1; k=ed25519; p=${ed.p}`,
};

function sign(message: string, specs: Partial<DkimSignerSpec>[] = [{}], at = NOW): string {
  const full = specs.map((spec) => ({ domain: 'example.com', selector: 'rsa', privateKey: rsa.privateKey, ...spec }));
  return Buffer.from(signDkim(bytes(message), full, { clock: clockAt(at) }).message).toString('latin1');
}

async function verify(message: string, zone: Record<string, string> = ZONE, extra: Partial<DkimVerifyOptions> = {}) {
  return (await verifyDkim(bytes(message), { resolver: keyZone(zone), clock: clockAt(NOW), ...extra })).signatures;
}

test('RFC 8463 Appendix A message: both signatures verify (ed25519-sha256 and rsa-sha256)', async () => {
  const message = readTestdata('mimekit', 'UnitTests', 'TestData', 'dkim', 'rfc8463-example.msg');
  const result = await verifyDkim(bytes(message), { resolver: resolverFor(RFC8463_KEYS), clock: clockAt(1528637909) });
  assert.deepEqual(
    result.signatures.map((s) => [s.result, s.algorithm, s.selector]),
    [
      ['pass', 'ed25519-sha256', 'brisbane'],
      // RFC 8463's example RSA key has 1024 bits: accepted (RFC 8301 §3.2 minimum).
      ['pass', 'rsa-sha256', 'test'],
    ],
  );
  assert.equal(result.signatures[1]?.key?.bits, 1024);
});

test('dkimpy and Exim fixtures verify', async () => {
  const cases: [string, Record<string, unknown[]>][] = [
    ['rfc6376.signed.msg', RFC8463_KEYS],
    [
      'ed25519test2.msg',
      { 'sed._domainkey.test.ex': [{ TXT: 'v=DKIM1; k=ed25519; p=sPs07Vu29FpHT/80UXUcYHFOHifD4o2ZlP2+XUh9g6E=' }] },
    ],
  ];
  for (const [name, zone] of cases) {
    const message = readTestdata('dkimpy', 'dkim', 'tests', 'data', name);
    const result = await verifyDkim(bytes(message), { resolver: resolverFor(zone), clock: clockAt(1528637909) });
    assert.ok(result.signatures.length > 0);
    for (const s of result.signatures) assert.equal(s.result, 'pass', `${name} s=${s.selector}: ${s.reason}`);
  }
});

test('sign then verify: RSA and Ed25519, every canonicalization pair', async () => {
  for (const header of ['simple', 'relaxed'] as const) {
    for (const body of ['simple', 'relaxed'] as const) {
      const signed = sign(SAMPLE_MESSAGE, [
        { canonicalization: { header, body } },
        { selector: 'ed', privateKey: ed.privateKey, canonicalization: { header, body } },
      ]);
      const results = await verify(signed);
      assert.deepEqual(
        results.map((r) => [r.result, r.algorithm]),
        [
          ['pass', 'rsa-sha256'],
          ['pass', 'ed25519-sha256'],
        ],
        `${header}/${body}: ${results.map((r) => r.reason).join('; ')}`,
      );
    }
  }
});

test('a changed body is fail (body hash), a changed signed header is fail (signature)', async () => {
  const signed = sign(SAMPLE_MESSAGE);
  const [body] = await verify(signed.replace('hungry', 'angry'));
  assert.equal(body?.result, 'fail');
  assert.match(body?.reason ?? '', /body hash did not verify/);
  const [header] = await verify(signed.replace('Subject: Is dinner ready?', 'Subject: Is lunch ready?'));
  assert.equal(header?.result, 'fail');
  assert.equal(header?.reason, 'signature did not verify');
});

test('relaxed survives whitespace changes that simple does not', async () => {
  const relaxed = sign(SAMPLE_MESSAGE);
  const simple = sign(SAMPLE_MESSAGE, [{ canonicalization: { header: 'simple', body: 'simple' } }]);
  const mangle = (m: string) =>
    m.replace('Subject: Is dinner', 'Subject:  Is   dinner').replace('Joe.\r\n', 'Joe.  \r\n\r\n\r\n');
  assert.equal((await verify(mangle(relaxed)))[0]?.result, 'pass');
  assert.equal((await verify(mangle(simple)))[0]?.result, 'fail');
});

test('oversigning: a From, Subject or Reply-To added above the signed one breaks the signature', async () => {
  const signed = sign(SAMPLE_MESSAGE);
  assert.match(signed, /h=from:from:/);
  // Readers show the topmost field; h= takes instances bottom-up, so the extra entry covers the top.
  for (const added of ['From: evil@attacker.example\r\n', 'Subject: urgent\r\n', 'Reply-To: a@b.example\r\n']) {
    assert.equal((await verify(added + signed))[0]?.result, 'fail', added);
  }
  // A field that is not signed may be added.
  assert.equal((await verify('X-Spam-Score: 0\r\n' + signed))[0]?.result, 'pass');
  // With oversigning off, a Subject added on top goes unnoticed: the attack oversigning stops.
  const loose = sign(SAMPLE_MESSAGE, [{ oversign: [] }]);
  assert.doesNotMatch(loose, /from:from/);
  assert.equal((await verify('Subject: urgent\r\n' + loose))[0]?.result, 'pass');
});

test('l=: the unsigned remainder is flagged, or refused by policy; an l= past the body is fail', async () => {
  const signed = sign(SAMPLE_MESSAGE, [{ bodyLength: true }]);
  assert.match(signed, /l=\d+;/);
  const appended = signed + 'Click here: https://attacker.example/\r\n';
  const [flagged] = await verify(appended);
  assert.equal(flagged?.result, 'pass');
  assert.match(flagged?.reason ?? '', /39 canonical body octets after l=\d+ are not signed/);
  assert.deepEqual(flagged?.bodyLength, { signed: 54, canonical: 93 });
  const [refused] = await verify(appended, ZONE, { unsignedBody: 'policy' });
  assert.equal(refused?.result, 'policy');
  const [intact] = await verify(signed, ZONE, { unsignedBody: 'policy' });
  assert.equal(intact?.result, 'pass');
  const [truncated] = await verify(signed.replace('Joe.\r\n', ''));
  assert.equal(truncated?.result, 'fail');
  assert.match(truncated?.reason ?? '', /larger than the canonical body/);
});

test('t= and x= against the injected clock', async () => {
  const signed = sign(SAMPLE_MESSAGE, [{ expiresInSeconds: 3600 }]);
  assert.equal((await verify(signed, ZONE, { clock: clockAt(NOW + 3599) }))[0]?.result, 'pass');
  const [expired] = await verify(signed, ZONE, { clock: clockAt(NOW + 3601) });
  assert.equal(expired?.result, 'permerror');
  assert.match(expired?.reason ?? '', /expired/);
  const [future] = await verify(signed, ZONE, { clock: clockAt(NOW - 301) });
  assert.equal(future?.result, 'permerror');
  assert.match(future?.reason ?? '', /in the future/);
  assert.equal((await verify(signed, ZONE, { clock: clockAt(NOW - 299) }))[0]?.result, 'pass');
});

test('key record outcomes: missing, revoked, wrong type, wrong hash, t=s, t=y, not for email, DNS failure', async () => {
  const signed = sign(SAMPLE_MESSAGE);
  const cases: [Record<string, unknown[]>, string, RegExp][] = [
    [{}, 'permerror', /NXDOMAIN/],
    [{ 'rsa._domainkey.example.com': [{ A: '192.0.2.1' }] }, 'permerror', /no TXT record/],
    [{ 'rsa._domainkey.example.com': [{ TXT: 'v=DKIM1; p=' }] }, 'permerror', /revoked/],
    [
      { 'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }] },
      'permerror',
      /inappropriate key algorithm/,
    ],
    [{ 'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; h=sha1; p=${rsa.p}` }] }, 'permerror', /inappropriate hash/],
    [{ 'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; s=tlsrpt; p=${rsa.p}` }] }, 'permerror', /excludes email/],
    [{ 'rsa._domainkey.example.com': [{ TXT: 'v=DKIM1; p=AAAA' }] }, 'permerror', /invalid/],
    [{ 'rsa._domainkey.example.com': ['SERVFAIL'] }, 'temperror', /servfail/],
    [{ 'rsa._domainkey.example.com': ['TIMEOUT'] }, 'temperror', /timeout/],
    [{ 'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; t=y; p=${rsa.p}` }] }, 'pass', /testing mode/],
  ];
  for (const [zone, result, reason] of cases) {
    const [verdict] = (await verifyDkim(bytes(signed), { resolver: resolverFor(zone), clock: clockAt(NOW) }))
      .signatures;
    assert.equal(verdict?.result, result, JSON.stringify(zone));
    assert.match(verdict?.reason ?? '', reason, JSON.stringify(zone));
  }
  const subdomain = sign(SAMPLE_MESSAGE, [{ identity: '@mail.example.com' }]);
  const strict = { 'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; t=s; p=${rsa.p}` }] };
  const [mismatch] = (await verifyDkim(bytes(subdomain), { resolver: resolverFor(strict), clock: clockAt(NOW) }))
    .signatures;
  assert.equal(mismatch?.result, 'permerror');
  assert.match(mismatch?.reason ?? '', /t=s/);
  const [sameDomain] = (
    await verifyDkim(bytes(sign(SAMPLE_MESSAGE, [{ identity: 'joe@example.com' }])), {
      resolver: resolverFor(strict),
      clock: clockAt(NOW),
    })
  ).signatures;
  assert.equal(sameDomain?.result, 'pass');
});

test('i= is dkim-quoted-printable (RFC 6376 §2.11, §3.5): i=jlong=40example.com passes, reported decoded', async () => {
  const signed = sign(SAMPLE_MESSAGE, [{ identity: 'jlong=40example.com' }]);
  assert.match(signed, /\bi=jlong=40example\.com;/);
  const zone = { 'rsa._domainkey.example.com': [{ TXT: `v=DKIM1; t=s; p=${rsa.p}` }] };
  const [verdict] = (await verifyDkim(bytes(signed), { resolver: resolverFor(zone), clock: clockAt(NOW) })).signatures;
  assert.equal(verdict?.result, 'pass', verdict?.reason);
  assert.equal(verdict?.identity, 'jlong@example.com');
  // The decoded domain is what the d= rule applies to: =40 cannot smuggle in another domain.
  assert.throws(() => sign(SAMPLE_MESSAGE, [{ identity: 'jlong=40example.org' }]), /not example\.com or below it/);
});

/** A signature our signer would refuse to make (rsa-sha1, short keys), built from the primitives. */
function signByHand(message: string, algorithm: DkimAlgorithm, selector: string, privateKey: KeyObject): string {
  const split = splitMessage(bytes(message));
  assert.ok(split.ok);
  const hasher = new BodyHasher({ canonicalization: 'relaxed', algorithm: hashOf(algorithm) });
  hasher.push(split.body);
  const unsigned = `DKIM-Signature: v=1; a=${algorithm}; c=relaxed/relaxed; d=example.com; s=${selector}; h=from:subject; bh=${hasher.finish().base64}; b=`;
  const data = buildHeaderData(
    new HeaderIndex(split.headers),
    { headers: ['from', 'subject'], headerCanon: 'relaxed' },
    unsigned,
  );
  const b = Buffer.from(signHeaderData(algorithm, privateKey, data)).toString('base64');
  return `${unsigned}${b}\r\n${message}`;
}

test('RFC 8301: rsa-sha1 and short RSA keys verify but get policy; the minimum can be raised, not lowered', async () => {
  const short = rsaKey(512);
  // Sign with a 512-bit key through node:crypto directly: our signer refuses such keys.
  assert.throws(() => sign(SAMPLE_MESSAGE, [{ privateKey: short.privateKey }]), /at least 1024 bits/);
  assert.throws(() => sign(SAMPLE_MESSAGE, [{ algorithm: 'rsa-sha1' }]), /RFC 8301/);
  const zone = { ...ZONE, 'short._domainkey.example.com': `v=DKIM1; p=${short.p}` };
  const [sha1] = await verify(signByHand(SAMPLE_MESSAGE, 'rsa-sha1', 'rsa', rsa.privateKey), zone);
  assert.equal(sha1?.result, 'policy');
  assert.match(sha1?.reason ?? '', /rsa-sha1 is not acceptable/);
  const [tampered] = await verify(
    signByHand(SAMPLE_MESSAGE, 'rsa-sha1', 'rsa', rsa.privateKey).replace('Joe.', 'Jim.'),
    zone,
  );
  assert.equal(tampered?.result, 'fail');
  const [small] = await verify(signByHand(SAMPLE_MESSAGE, 'rsa-sha256', 'short', short.privateKey), zone);
  assert.equal(small?.result, 'policy');
  assert.match(small?.reason ?? '', /512-bit RSA key is under the 1024-bit minimum/);
  const signed = sign(SAMPLE_MESSAGE);
  const [raised] = await verify(signed, ZONE, { minRsaBits: 4096 });
  assert.equal(raised?.result, 'policy');
  assert.match(raised?.reason ?? '', /2048-bit RSA key is under the 4096-bit minimum/);
  await assert.rejects(async () => verify(signed, ZONE, { minRsaBits: 512 }), /below the RFC 8301 minimum/);
});

test('the number of signatures evaluated is capped; the rest are neutral, one entry each', async () => {
  const signed = sign(SAMPLE_MESSAGE);
  const field = signed.slice(0, signed.indexOf('From:'));
  const many = field.repeat(12) + signed.slice(signed.indexOf('From:'));
  const results = await verify(many);
  assert.equal(results.length, 12);
  assert.deepEqual(
    results.map((r) => r.result),
    [...Array<string>(10).fill('pass'), 'neutral', 'neutral'],
  );
  const three = await verify(many, ZONE, { maxSignatures: 3 });
  assert.equal(three.filter((r) => r.result === 'pass').length, 3);
});

test('malformed signatures are permerror with the reason, and do not stop the others', async () => {
  const signed = sign(SAMPLE_MESSAGE);
  const broken = [
    'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=%%%; b=AAAA\r\n',
    'DKIM-Signature: v=2; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA\r\n',
    'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; h=to; bh=AAAA; b=AAAA\r\n',
    'DKIM-Signature: v=1; a=rsa-md5; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA\r\n',
    'DKIM-Signature: garbage\r\n',
  ];
  const results = await verify(broken.join('') + signed);
  assert.deepEqual(
    results.map((r) => r.result),
    ['permerror', 'permerror', 'permerror', 'permerror', 'permerror', 'pass'],
  );
  assert.match(results[0]?.reason ?? '', /base64/);
  assert.match(results[1]?.reason ?? '', /v="2" is not 1/);
  assert.match(results[2]?.reason ?? '', /From/);
  assert.match(results[3]?.reason ?? '', /unsupported/);
  assert.equal(results[3]?.domain, 'example.com');
});

test('streaming: any chunking of the body gives the same verdicts', async () => {
  const body = Array.from({ length: 200 }, (_, i) => `line ${i}  \t with  spaces \r\n`).join('') + '\r\n\r\n';
  const signed = sign(SAMPLE_MESSAGE.replace(/\r\n\r\n[\s\S]*$/, '\r\n\r\n') + body, [
    {},
    { selector: 'ed', privateKey: ed.privateKey, canonicalization: { header: 'simple', body: 'simple' } },
  ]);
  const split = splitMessage(bytes(signed));
  assert.ok(split.ok);
  for (const size of [1, 2, 3, 7, 64, 1000]) {
    const verifier: DkimVerifier = new DkimVerifier(split.headers, { resolver: keyZone(ZONE), clock: clockAt(NOW) });
    for (let i = 0; i < split.body.length; i += size) verifier.push(split.body.subarray(i, i + size));
    const { signatures }: DkimVerification = await verifier.finish();
    assert.deepEqual(
      signatures.map((s) => s.result),
      ['pass', 'pass'],
      `chunk ${size}`,
    );
  }
});

test('bare-LF input verifies as CRLF (RFC 6376 §5.3 conversion)', async () => {
  const signed = sign(SAMPLE_MESSAGE);
  assert.equal((await verify(signed.replace(/\r\n/g, '\n')))[0]?.result, 'pass');
});
