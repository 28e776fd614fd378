/**
 * The DNSSEC audit against real parts: Knot serves a zone it signs itself, an unsigned zone and a
 * signed zone whose chain is broken; Unbound validates, with a trust anchor for each signed zone
 * (the bogus one gets an anchor that matches none of its keys: what a DS left at the registrar
 * after a key change looks like). The network resolver asks Unbound, or Knot directly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { auditDnssec, auditDomain } from '@mailward/core';
import type { KnotServer, UnboundServer } from '@mailward/testkit';
import { startKnot, startUnbound } from '@mailward/testkit';
import { NetworkResolver } from '../src/index.js';

const SIGNED = 'signed.example';
const PLAIN = 'plain.example';
const BOGUS = 'bogus.example';

function zoneText(origin: string): string {
  return [
    `$ORIGIN ${origin}.`,
    '@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 300',
    '@ 300 IN NS ns1',
    'ns1 300 IN A 192.0.2.53',
    '@ 300 IN MX 10 mx1',
    'mx1 300 IN A 192.0.2.25',
    '@ 300 IN TXT "v=spf1 mx -all"',
    '_dmarc 300 IN TXT "v=DMARC1; p=reject"',
    '',
  ].join('\n');
}

let knot: KnotServer;
let unbound: UnboundServer;
let viaUnbound: NetworkResolver;
let viaKnot: NetworkResolver;

/** The zone's key-signing key as Knot publishes it, in trust-anchor form. */
async function keySigningKey(zone: string): Promise<{ algorithm: number; key: string }> {
  const answer = await viaKnot.lookup(zone, 'DNSKEY');
  assert.equal(answer.kind, 'answer', `${zone} DNSKEY from Knot: ${JSON.stringify(answer)}`);
  const ksk = answer.kind === 'answer' ? answer.records.find((record) => record.flags === 257) : undefined;
  assert.ok(ksk, `${zone} has no key-signing key (flags 257)`);
  return { algorithm: ksk.algorithm, key: Buffer.from(ksk.key).toString('base64') };
}

before(async () => {
  knot = await startKnot({
    zones: [
      { origin: SIGNED, text: zoneText(SIGNED), dnssec: true },
      { origin: PLAIN, text: zoneText(PLAIN) },
      { origin: BOGUS, text: zoneText(BOGUS), dnssec: true },
    ],
  });
  viaKnot = new NetworkResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 500, retries: 1 });
  const signed = await keySigningKey(SIGNED);
  // bogus.example's anchor is signed.example's key: no key of the zone matches it.
  unbound = await startUnbound({
    stubZones: [SIGNED, PLAIN, BOGUS].map((zone) => ({ zone, host: knot.host, port: knot.port })),
    trustAnchors: [
      `${SIGNED}. DNSKEY 257 3 ${signed.algorithm} ${signed.key}`,
      `${BOGUS}. DNSKEY 257 3 ${signed.algorithm} ${signed.key}`,
    ],
  });
  viaUnbound = new NetworkResolver({
    servers: [{ host: unbound.host, port: unbound.port }],
    timeoutMs: 2000,
    retries: 1,
  });
});

after(async () => {
  viaUnbound?.close();
  viaKnot?.close();
  await unbound?.stop();
  await knot?.stop();
});

const codes = (findings: readonly { code: string }[]): string[] => findings.map((f) => f.code);

test('a signed zone validated by the resolver: dnssec-validated (the AD bit is asked for and given)', async () => {
  const findings = await auditDnssec(SIGNED, { resolver: viaUnbound });
  assert.deepEqual(codes(findings), ['dnssec-validated'], `${JSON.stringify(findings)}\n${unbound.log()}`);
});

test('the same zone asked of its authoritative server, which does not validate: dnssec-not-validated', async () => {
  const findings = await auditDnssec(SIGNED, { resolver: viaKnot });
  assert.deepEqual(codes(findings), ['dnssec-not-validated']);
});

test('an unsigned zone: dnssec-unsigned, through the validating resolver too', async () => {
  assert.deepEqual(codes(await auditDnssec(PLAIN, { resolver: viaUnbound })), ['dnssec-unsigned']);
  assert.deepEqual(codes(await auditDnssec(PLAIN, { resolver: viaKnot })), ['dnssec-unsigned']);
});

test('a zone whose chain of trust is broken: dnssec-bogus, an error with the fix, told apart by the CD bit', async () => {
  const findings = await auditDnssec(BOGUS, { resolver: viaUnbound });
  assert.deepEqual(codes(findings), ['dnssec-bogus'], `${JSON.stringify(findings)}\n${unbound.log()}`);
  assert.equal(findings[0]?.severity, 'error');
  assert.match(findings[0]?.fix ?? '', /DS record/);
  // What the rest of the audit sees: the validating resolver answers nothing for the domain.
  const audit = await auditDomain(BOGUS, { resolver: viaUnbound });
  assert.ok(codes(audit.findings).includes('dnssec-bogus'));
  assert.equal(audit.grades.dnssec, 'F');
});

test('a name server that does not answer is not mistaken for broken DNSSEC: dnssec-lookup-failed', async () => {
  const silent = new NetworkResolver({ servers: [{ host: '127.0.0.1', port: 9 }], timeoutMs: 100, retries: 0 });
  try {
    const findings = await auditDnssec(SIGNED, { resolver: silent });
    assert.deepEqual(codes(findings), ['dnssec-lookup-failed']);
    // Not the zone's fault: an info, and the area is "could not check" (finding.ts).
    assert.equal(findings[0]?.severity, 'info');
    assert.match(findings[0]?.message ?? '', /127\.0\.0\.1:9/);
  } finally {
    silent.close();
  }
});
