/**
 * DKIM interoperability with real peers from Debian: dkimpy 1.1.4 (python3-dkim) and OpenDKIM 2.11
 * (the milter binary in test mode). Every signed message, whoever signed it, is verified by all
 * three verifiers (mailward, dkimpy, OpenDKIM), and every verifier fetches the public keys over
 * DNS from one Knot server on a loopback port: mailward through NetworkResolver, dkimpy through a
 * dnspython lookup passed as its dnsfunc, OpenDKIM through libunbound forwarding to Knot (see
 * packages/testkit/src/peers/ for why each is wired that way).
 *
 * Signers × key types × canonicalizations (header/body):
 * - mailward: RSA-2048 and Ed25519 × the four pairs × without and with l=;
 * - dkimpy (dkimsign): RSA-2048 and Ed25519 × the four pairs;
 * - OpenDKIM: RSA-2048 and Ed25519 × the four pairs (this build lists ed25519-sha256).
 * Negative controls: a body or a header changed after signing fails everywhere; a key not in DNS.
 * Two disagreements found, asserted as observed (details in docs/dkim.md, "Interoperability"):
 * OpenDKIM's Ed25519 signatures under simple header canonicalization verify nowhere, and OpenDKIM's
 * test mode hashes the whitespace after a field's colon as one SP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { DkimCanonicalization, DkimVerdict } from '@mailward/core';
import { parseZone, signDkim, verifyDkim } from '@mailward/core';
import type { DkimpyVerdict, OpendkimVerdict, ServedZone } from '@mailward/testkit';
import {
  dkimpySign,
  dkimpyVerify,
  OPENDKIM,
  opendkimSign,
  opendkimTestKey,
  opendkimVerify,
  runPeer,
  serveZone,
} from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';

type KeyKind = 'rsa' | 'ed25519';
type Canon = { readonly header: DkimCanonicalization; readonly body: DkimCanonicalization };

const DOMAIN = 'example.com';
/** The signature's own t= (from dkimpy and OpenDKIM) is the real time, so verify at the real time. */
const clock = { now: () => Date.now() };
const keys: Record<KeyKind, { readonly privateKey: KeyObject; readonly selector: string }> = {
  rsa: { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, selector: 'rsa2048' },
  ed25519: { privateKey: generateKeyPairSync('ed25519').privateKey, selector: 'ed25519' },
};
const CANONS: readonly Canon[] = [
  { header: 'simple', body: 'simple' },
  { header: 'relaxed', body: 'relaxed' },
  { header: 'relaxed', body: 'simple' },
  { header: 'simple', body: 'relaxed' },
];

/**
 * Content on which simple and relaxed differ: a folded Subject with runs of spaces and tabs and
 * trailing whitespace, body lines with inner and trailing whitespace, a line starting with a
 * space, 8-bit UTF-8 text, and trailing empty lines. Every field has exactly one SP after its
 * colon, as nearly all mail does; other whitespace there is a known disagreement with OpenDKIM's
 * test mode, covered on its own below.
 */
const MESSAGE = Buffer.from(
  [
    'From: Alice Example <alice@example.com>',
    'To: bob@example.net',
    'Subject: Interop   test\t with  spaces ',
    '\tand a folded line',
    'Date: Sat, 28 Nov 2026 12:00:00 +0000',
    'Message-ID: <interop-1@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Hello Bob,  ',
    '',
    'This  line has\tinner whitespace and trailing spaces   ',
    ' A line that starts with a space.',
    'Gr\u00fc\u00dfe aus K\u00f6ln.',
    '',
    '',
    '',
  ].join('\r\n'),
  'utf8',
);

/** The key record: p= is the SubjectPublicKeyInfo for RSA, the raw 32-byte key for Ed25519 (RFC 8463 §4.2). */
function publicKeyRecord(privateKey: KeyObject): string {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (privateKey.asymmetricKeyType === 'ed25519') {
    return `v=DKIM1; k=ed25519; p=${spki.subarray(spki.length - 32).toString('base64')}`;
  }
  return `v=DKIM1; k=rsa; p=${spki.toString('base64')}`;
}

let served: ServedZone;
let resolver: NetworkResolver;

before(async () => {
  const parsed = parseZone({
    [`${keys.rsa.selector}._domainkey.${DOMAIN}`]: [{ TXT: publicKeyRecord(keys.rsa.privateKey) }],
    [`${keys.ed25519.selector}._domainkey.${DOMAIN}`]: [{ TXT: publicKeyRecord(keys.ed25519.privateKey) }],
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  served = await serveZone(parsed.zone);
  resolver = new NetworkResolver({ servers: [{ host: served.host, port: served.port }], timeoutMs: 1000 });
});

after(async () => {
  await served?.stop();
});

interface Verdicts {
  readonly mailward: DkimVerdict;
  readonly dkimpy: DkimpyVerdict;
  readonly opendkim: OpendkimVerdict;
}

/** The three verifiers on the same bytes, keys from Knot. */
async function verifyEverywhere(message: Uint8Array): Promise<Verdicts> {
  const dns = { host: served.host, port: served.port };
  const [mailward, dkimpy, opendkim] = await Promise.all([
    verifyDkim(message, { resolver, clock }),
    dkimpyVerify(message, dns),
    opendkimVerify(message, dns),
  ]);
  assert.equal(mailward.signatures.length, 1, 'one signature expected');
  const [verdict] = mailward.signatures;
  assert.ok(verdict);
  return { mailward: verdict, dkimpy, opendkim };
}

function describeVerdicts(message: Uint8Array, v: Verdicts): string {
  return [
    `mailward: ${v.mailward.result} (${v.mailward.reason})`,
    `dkimpy: ${v.dkimpy.verified} ${[v.dkimpy.error ?? '', ...v.dkimpy.logged].join('; ')}`,
    `OpenDKIM: ${v.opendkim.result}; ${v.opendkim.summary}`,
    '--- message ---',
    Buffer.from(message).toString('latin1'),
  ].join('\n');
}

function assertAllPass(message: Uint8Array, v: Verdicts, kind: KeyKind): void {
  const detail = describeVerdicts(message, v);
  const { selector } = keys[kind];
  const algorithm = kind === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256';
  assert.equal(v.mailward.result, 'pass', detail);
  assert.equal(v.mailward.algorithm, algorithm, detail);
  assert.equal(v.mailward.selector, selector, detail);
  assert.equal(v.dkimpy.verified, true, detail);
  assert.equal(v.dkimpy.error, null, detail);
  assert.deepEqual(v.dkimpy.logged, [], detail);
  assert.deepEqual(v.dkimpy.queried, [`${selector}._domainkey.${DOMAIN}.`], detail);
  assert.equal(v.opendkim.result, 'pass', detail);
  assert.match(v.opendkim.authenticationResults, new RegExp(`header\\.a=${algorithm} header\\.s=${selector}\\b`));
  assert.match(v.opendkim.summary, new RegExp(`^verification \\(s=${selector}, d=${DOMAIN}, .*\\) succeeded$`));
}

function assertAllFail(message: Uint8Array, v: Verdicts): void {
  const detail = describeVerdicts(message, v);
  assert.equal(v.mailward.result, 'fail', detail);
  assert.equal(v.dkimpy.verified, false, detail);
  assert.equal(v.opendkim.result, 'fail', detail);
  assert.match(v.opendkim.summary, /\) failed: /, detail);
}

function mailwardSign(kind: KeyKind, canonicalization: Canon, bodyLength = false, message = MESSAGE): Uint8Array {
  const { privateKey, selector } = keys[kind];
  return signDkim(message, [{ domain: DOMAIN, selector, privateKey, canonicalization, bodyLength }], { clock }).message;
}

const label = (kind: KeyKind, c: Canon): string => `${kind === 'rsa' ? 'RSA-2048' : 'Ed25519'} ${c.header}/${c.body}`;

/** A word of the body changed ("Bob" → "Rob"); the header is untouched. */
function alterBody(message: Uint8Array): Buffer {
  const text = Buffer.from(message).toString('latin1');
  assert.ok(text.includes('\r\n\r\nHello Bob,'));
  return Buffer.from(text.replace('\r\n\r\nHello Bob,', '\r\n\r\nHello Rob,'), 'latin1');
}

/** The Subject's text changed; the body is untouched. */
function alterSubject(message: Uint8Array): Buffer {
  const text = Buffer.from(message).toString('latin1');
  assert.ok(text.includes('Interop   test'));
  return Buffer.from(text.replace('Interop   test', 'Interop   TEST'), 'latin1');
}

describe('signed by mailward, verified by dkimpy and OpenDKIM', () => {
  for (const kind of ['rsa', 'ed25519'] as const) {
    for (const c of CANONS) {
      for (const bodyLength of [false, true]) {
        test(`${label(kind, c)}${bodyLength ? ' with l=' : ''}`, async () => {
          const signed = mailwardSign(kind, c, bodyLength);
          assert.equal(/\bl=\d+;/.test(Buffer.from(signed).toString('latin1')), bodyLength);
          assertAllPass(signed, await verifyEverywhere(signed), kind);
        });
      }
    }
  }

  test('l= lets content be appended: all three still pass, mailward counts the unsigned octets', async () => {
    const signed = mailwardSign('rsa', { header: 'relaxed', body: 'relaxed' }, true);
    const appended = Buffer.concat([signed, Buffer.from('Appended by a list.\r\n', 'latin1')]);
    const v = await verifyEverywhere(appended);
    assertAllPass(appended, v, 'rsa');
    const lengths = v.mailward.bodyLength;
    assert.ok(lengths && lengths.canonical > lengths.signed, JSON.stringify(lengths));
  });
});

describe('signed by dkimpy (dkimsign), verified by mailward and OpenDKIM', () => {
  for (const kind of ['rsa', 'ed25519'] as const) {
    for (const c of CANONS) {
      test(label(kind, c), async () => {
        const { privateKey, selector } = keys[kind];
        const signed = await dkimpySign(MESSAGE, { domain: DOMAIN, selector, privateKey, canonicalization: c });
        assert.match(signed.toString('latin1'), new RegExp(`^DKIM-Signature: v=1; a=\\S+; c=${c.header}/${c.body};`));
        assertAllPass(signed, await verifyEverywhere(signed), kind);
      });
    }
  }
});

describe('signed by OpenDKIM, verified by mailward and dkimpy', () => {
  for (const kind of ['rsa', 'ed25519'] as const) {
    for (const c of CANONS) {
      // OpenDKIM 2.11.0~beta2 (Debian 12) makes Ed25519 signatures with simple header
      // canonicalization that no verifier accepts, OpenDKIM included: it hashes its DKIM-Signature
      // field folded as "h=From:...; b=" on one line (the empty b= still fits), then writes b= on a
      // line of its own once the value is in. RSA signatures are folded the same way before and
      // after, and pass. So these pairs are a peer bug: the test checks that all three verifiers
      // agree (fail), and that the field refolded as OpenDKIM hashed it passes everywhere. It
      // fails if OpenDKIM starts producing good signatures (then move the case to the passing ones).
      const peerBug = kind === 'ed25519' && c.header === 'simple';
      test(`${label(kind, c)}${peerBug ? ' (OpenDKIM bug: all three verifiers reject it)' : ''}`, async () => {
        const { privateKey, selector } = keys[kind];
        const signed = await opendkimSign(MESSAGE, { domain: DOMAIN, selector, privateKey, canonicalization: c });
        assert.match(signed.toString('latin1'), new RegExp(`^DKIM-Signature: v=1; a=\\S+; c=${c.header}/${c.body};`));
        const v = await verifyEverywhere(signed);
        if (!peerBug) {
          assertAllPass(signed, v, kind);
          return;
        }
        assertAllFail(signed, v);
        // Refolded the way OpenDKIM hashed it, the same signature verifies everywhere.
        const text = signed.toString('latin1');
        assert.match(text, /;\r\n\tb=/);
        const refolded = Buffer.from(text.replace(/;\r\n\tb=/, '; b='), 'latin1');
        assertAllPass(refolded, await verifyEverywhere(refolded), kind);
      });
    }
  }
});

describe('known disagreement: whitespace after the colon, with simple header canonicalization', () => {
  // OpenDKIM's test mode hands each header field to the milter code as a name and a value, and
  // OpenDKIM hashes it as "Name: value": "Subject:  x" (two SP), "Subject:x" and "Subject:\tx"
  // are all hashed as "Subject: x" (checked by hand with dkimsign's signatures too). RFC 6376
  // §3.4.1 (simple) hashes the field unchanged, as mailward and dkimpy do. A live milter gets the
  // value from the MTA and may behave differently (not covered here). Relaxed is unaffected.
  const twoSpaces = Buffer.from(MESSAGE.toString('latin1').replace('Subject: Interop', 'Subject:  Interop'), 'latin1');
  const simple: Canon = { header: 'simple', body: 'simple' };

  test('signed by mailward: mailward and dkimpy pass, OpenDKIM fails', async () => {
    const signed = mailwardSign('rsa', simple, false, twoSpaces);
    const v = await verifyEverywhere(signed);
    const detail = describeVerdicts(signed, v);
    assert.equal(v.mailward.result, 'pass', detail);
    assert.equal(v.dkimpy.verified, true, detail);
    assert.equal(v.opendkim.result, 'fail', detail);
    assert.match(v.opendkim.summary, /failed: signature verification failed$/, detail);
  });

  test('signed by OpenDKIM: OpenDKIM passes, mailward and dkimpy fail', async () => {
    const signed = await opendkimSign(twoSpaces, { domain: DOMAIN, ...keys.rsa, canonicalization: simple });
    const v = await verifyEverywhere(signed);
    const detail = describeVerdicts(signed, v);
    assert.equal(v.opendkim.result, 'pass', detail);
    assert.equal(v.mailward.result, 'fail', detail);
    assert.equal(v.mailward.reason, 'signature did not verify', detail);
    assert.equal(v.dkimpy.verified, false, detail);
  });

  test('relaxed header canonicalization: all three agree (pass)', async () => {
    const signed = mailwardSign('rsa', { header: 'relaxed', body: 'simple' }, false, twoSpaces);
    assertAllPass(signed, await verifyEverywhere(signed), 'rsa');
  });
});

describe('negative controls: changed after signing, every verifier rejects', () => {
  const signers: [string, (kind: KeyKind, c: Canon) => Promise<Uint8Array>][] = [
    ['mailward', async (kind, c) => mailwardSign(kind, c)],
    ['dkimpy', (kind, c) => dkimpySign(MESSAGE, { domain: DOMAIN, ...keys[kind], canonicalization: c })],
    ['OpenDKIM', (kind, c) => opendkimSign(MESSAGE, { domain: DOMAIN, ...keys[kind], canonicalization: c })],
  ];
  const relaxed: Canon = { header: 'relaxed', body: 'relaxed' };
  for (const [signer, sign] of signers) {
    for (const kind of ['rsa', 'ed25519'] as const) {
      test(`${signer}, ${label(kind, relaxed)}: body changed`, async () => {
        const altered = alterBody(await sign(kind, relaxed));
        const v = await verifyEverywhere(altered);
        assertAllFail(altered, v);
        assert.match(v.mailward.reason, /body hash/, v.mailward.reason);
      });
      test(`${signer}, ${label(kind, relaxed)}: Subject changed`, async () => {
        const altered = alterSubject(await sign(kind, relaxed));
        assertAllFail(altered, await verifyEverywhere(altered));
      });
    }
  }

  test('a message signed with l= and changed inside the signed part fails everywhere', async () => {
    const altered = alterBody(mailwardSign('ed25519', { header: 'simple', body: 'simple' }, true));
    assertAllFail(altered, await verifyEverywhere(altered));
  });

  test('a selector with no key in DNS: no verifier passes it, each says why', async () => {
    const signed = signDkim(MESSAGE, [{ domain: DOMAIN, selector: 'absent', privateKey: keys.rsa.privateKey }], {
      clock,
    }).message;
    const v = await verifyEverywhere(signed);
    const detail = describeVerdicts(signed, v);
    assert.equal(v.mailward.result, 'permerror', detail);
    assert.match(v.mailward.reason, /NXDOMAIN/, detail);
    assert.equal(v.dkimpy.verified, false, detail);
    assert.deepEqual(v.dkimpy.queried, [`absent._domainkey.${DOMAIN}.`], detail);
    assert.deepEqual(v.dkimpy.logged, [`missing public key: b'absent._domainkey.${DOMAIN}.'`], detail);
    // OpenDKIM reports a missing key as dkim=fail (mailward: permerror, RFC 8601 §2.7.1).
    assert.equal(v.opendkim.result, 'fail', detail);
    assert.match(v.opendkim.summary, /failed: key not found in DNS$/, detail);
  });
});

test('the OpenDKIM build uses libunbound (how DNS is wired) and signs ed25519-sha256', async () => {
  const run = await runPeer(OPENDKIM, ['-V']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^\s+USE_UNBOUND$/m);
  assert.match(run.stdout, /^\s+ed25519-sha256$/m);
});

test('OpenDKIM key check (opendkim-testkey) finds the RSA key in Knot and matches the private key', async () => {
  const dns = { host: served.host, port: served.port };
  const good = await opendkimTestKey(dns, { domain: DOMAIN, ...keys.rsa });
  assert.equal(good.code, 0, good.output);
  assert.match(good.output, /key OK/);
  const missing = await opendkimTestKey(dns, { domain: DOMAIN, selector: 'absent', privateKey: keys.rsa.privateKey });
  assert.notEqual(missing.code, 0, missing.output);
  assert.match(missing.output, /record not found/);
});
