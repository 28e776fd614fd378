/**
 * The SMTP STARTTLS judgement (pure): each probe outcome to its finding, severities under MTA-STS
 * enforce, expiry dates against an injected clock, and the cap on hosts probed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SmtpCertificate, SmtpProbeResult, SmtpTlsProbe } from '../src/index.js';
import { auditSmtp } from '../src/index.js';

const now = new Date('2026-11-29T12:00:00Z');
const certificate = (overrides: Partial<SmtpCertificate> = {}): SmtpCertificate => ({
  trusted: true,
  nameMatches: true,
  names: ['mx.example'],
  validFrom: '2026-10-01T00:00:00.000Z',
  validTo: '2027-01-01T00:00:00.000Z',
  ...overrides,
});
const tls = (cert: SmtpCertificate, protocol = 'TLSv1.3'): SmtpProbeResult => ({
  kind: 'tls',
  protocol,
  cipher: 'TLS_AES_256_GCM_SHA384',
  certificate: cert,
});
const fixed = (result: SmtpProbeResult): SmtpTlsProbe => ({ probe: () => Promise.resolve(result) });
const judged = async (result: SmtpProbeResult, mtaStsMode?: string) =>
  (await auditSmtp(['mx.example'], { probe: fixed(result), now, ...(mtaStsMode !== undefined && { mtaStsMode }) })).map(
    (f) => `${f.code}:${f.severity}`,
  );

test('each outcome gives its finding; a clean host is ok', async () => {
  assert.deepEqual(await judged(tls(certificate())), ['smtp-tls-ok:ok']);
  assert.deepEqual(await judged({ kind: 'unreachable', reason: 'ECONNREFUSED' }), ['smtp-unreachable:warning']);
  assert.deepEqual(await judged({ kind: 'refused', reply: '554 go away' }), ['smtp-refused:warning']);
  assert.deepEqual(await judged({ kind: 'no-starttls' }), ['smtp-no-starttls:warning']);
  assert.deepEqual(await judged({ kind: 'tls-failed', reason: 'handshake failure' }), ['smtp-tls-failed:warning']);
  assert.deepEqual(await judged(tls(certificate(), 'TLSv1.1')), ['smtp-tls-old-version:warning']);
  assert.deepEqual(await judged(tls(certificate({ trusted: false, trustError: 'SELF_SIGNED_CERT_IN_CHAIN' }))), [
    'smtp-cert-untrusted:warning',
  ]);
  assert.deepEqual(await judged(tls(certificate({ nameMatches: false, names: ['other.example'] }))), [
    'smtp-cert-name-mismatch:warning',
  ]);
});

test('dates: expired, not yet valid, expiring within 14 days (clock injected)', async () => {
  // An expired certificate also fails the chain check; the expiry is what is reported.
  assert.deepEqual(
    await judged(
      tls(certificate({ trusted: false, trustError: 'CERT_HAS_EXPIRED', validTo: '2026-11-01T00:00:00.000Z' })),
    ),
    ['smtp-cert-expired:warning'],
  );
  assert.deepEqual(await judged(tls(certificate({ validFrom: '2026-12-01T00:00:00.000Z' }))), [
    'smtp-cert-expired:warning',
  ]);
  const soon = await auditSmtp(['mx.example'], {
    probe: fixed(tls(certificate({ validTo: '2026-12-05T00:00:00.000Z' }))),
    now,
  });
  assert.deepEqual(
    soon.map((f) => [f.code, f.message]),
    [['smtp-cert-expiring', 'mx.example: the certificate expires in 5 days (2026-12-05)']],
  );
});

test('under MTA-STS enforce, TLS problems are errors; under testing they stay warnings', async () => {
  assert.deepEqual(await judged({ kind: 'no-starttls' }, 'enforce'), ['smtp-no-starttls:error']);
  assert.deepEqual(await judged(tls(certificate({ trusted: false })), 'enforce'), ['smtp-cert-untrusted:error']);
  assert.deepEqual(await judged(tls(certificate({ nameMatches: false })), 'enforce'), [
    'smtp-cert-name-mismatch:error',
  ]);
  assert.deepEqual(await judged({ kind: 'no-starttls' }, 'testing'), ['smtp-no-starttls:warning']);
  // Reachability and old versions do not depend on the policy.
  assert.deepEqual(await judged({ kind: 'unreachable', reason: 'timeout' }, 'enforce'), ['smtp-unreachable:warning']);
});

test('at most 10 hosts are probed, 4 at a time, each named in its finding', async () => {
  let running = 0;
  let peak = 0;
  const probed: string[] = [];
  const probe: SmtpTlsProbe = {
    probe: async (host) => {
      probed.push(host);
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return { kind: 'no-starttls' };
    },
  };
  const hosts = Array.from({ length: 12 }, (_, i) => `mx${i}.example`);
  const findings = await auditSmtp(hosts, { probe, now });
  assert.deepEqual(probed.sort(), hosts.slice(0, 10).sort());
  assert.equal(peak, 4);
  assert.equal(findings[0]?.code, 'smtp-not-all-probed');
  assert.deepEqual(
    findings.slice(1).map((f) => f.message.split(':')[0]),
    hosts.slice(0, 10),
  );
  assert.deepEqual(await auditSmtp([], { probe, now }), []);
});
