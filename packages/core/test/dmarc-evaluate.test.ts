/**
 * DMARC evaluation scenarios, each citing the rule it checks. The zone is shared; each case gives
 * the author domain, the SPF and DKIM results, and the expected result and disposition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DmarcAuthInput, DmarcOptions } from '../src/index.js';
import { evaluateDmarc } from '../src/index.js';
import { resolverFor } from './support/dkim-keys.js';

const ZONE = {
  'example.com': [{ A: '192.0.2.1' }],
  '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:d@example.com' }],
  'mail.example.com': [{ A: '192.0.2.2' }],
  'strict.example': [{ MX: [10, 'mx.strict.example'] }],
  '_dmarc.strict.example': [{ TXT: 'v=DMARC1; p=reject; adkim=s; aspf=s' }],
  'sub.strict.example': [{ A: '192.0.2.3' }],
  'testing.example': [{ A: '192.0.2.4' }],
  '_dmarc.testing.example': [{ TXT: 'v=DMARC1; p=reject; t=y' }],
  'testq.example': [{ A: '192.0.2.5' }],
  '_dmarc.testq.example': [{ TXT: 'v=DMARC1; p=quarantine; t=y' }],
  'none.example': [{ A: '192.0.2.6' }],
  '_dmarc.none.example': [{ TXT: 'v=DMARC1; p=none' }],
  'pct.example': [{ A: '192.0.2.7' }],
  '_dmarc.pct.example': [{ TXT: 'v=DMARC1; p=reject; pct=20' }],
  'nop.example': [{ A: '192.0.2.8' }],
  '_dmarc.nop.example': [{ TXT: 'v=DMARC1; p=block' }],
  'nopwithrua.example': [{ A: '192.0.2.9' }],
  '_dmarc.nopwithrua.example': [{ TXT: 'v=DMARC1; p=block; rua=mailto:r@nopwithrua.example' }],
  '_dmarc.gov.example': [{ TXT: 'v=DMARC1; p=reject; psd=y' }],
  'agency.gov.example': [{ A: '192.0.2.10' }],
  'broken.example': [{ A: '192.0.2.11' }],
  '_dmarc.broken.example': ['SERVFAIL'],
  'unsigned.example': [{ A: '192.0.2.12' }],
  '_dmarc.gov.uk': [{ TXT: 'v=DMARC1; p=quarantine; psd=y' }],
  'agency.gov.uk': [{ A: '192.0.2.13' }],
  'deep.example': [{ A: '192.0.2.14' }],
  '_dmarc.deep.example': [{ TXT: 'v=DMARC1; p=reject; sp=none' }],
  '_dmarc.dept.deep.example': [{ TXT: 'v=DMARC1; p=quarantine; psd=n' }],
  'a.dept.deep.example': [{ A: '192.0.2.15' }],
  'spnp.example': [{ A: '192.0.2.16' }],
  'www.spnp.example': [{ A: '192.0.2.29' }],
  '_dmarc.spnp.example': [{ TXT: 'v=DMARC1; p=none; sp=reject' }],
  'nonp.example': [{ A: '192.0.2.17' }],
  '_dmarc.nonp.example': [{ TXT: 'v=DMARC1; p=quarantine' }],
  'multi.example': [{ A: '192.0.2.18' }],
  '_dmarc.multi.example': [{ TXT: 'v=DMARC1; p=reject' }, { TXT: 'v=DMARC1; p=none' }],
  'mixed.example': [{ A: '192.0.2.19' }],
  '_dmarc.mixed.example': [{ TXT: 'v=spf1 -all' }, { TXT: 'v=DMARC1; p=quarantine' }],
  'upper.example': [{ A: '192.0.2.20' }],
  '_dmarc.upper.example': [{ TXT: 'v=DMARC1; p=REJECT; ADKIM=s' }],
  'v2.example': [{ A: '192.0.2.21' }],
  '_dmarc.v2.example': [{ TXT: 'v=DMARC2; p=reject' }],
  'late.example': [{ A: '192.0.2.22' }],
  '_dmarc.late.example': [{ TXT: 'p=reject; v=DMARC1' }],
  'test-none.example': [{ A: '192.0.2.23' }],
  '_dmarc.test-none.example': [{ TXT: 'v=DMARC1; p=none; t=y' }],
  'sub.test-sp.example': [{ A: '192.0.2.24' }],
  '_dmarc.test-sp.example': [{ TXT: 'v=DMARC1; p=none; sp=reject; t=y' }],
  'x.midfail.example': [{ A: '192.0.2.25' }],
  '_dmarc.midfail.example': ['SERVFAIL'],
  '_dmarc.co.uk': [{ TXT: 'v=DMARC1; p=reject; psd=y' }],
  'shop.co.uk': [{ A: '192.0.2.26' }],
  'example.co.uk': [{ A: '192.0.2.27' }],
  '_dmarc.example.co.uk': [{ TXT: 'v=DMARC1; p=quarantine' }],
  'pct0.example': [{ A: '192.0.2.28' }],
  '_dmarc.pct0.example': [{ TXT: 'v=DMARC1; p=quarantine; pct=0' }],
};

interface Case {
  readonly name: string;
  readonly input: DmarcAuthInput;
  readonly result: string;
  readonly disposition: string;
  readonly options?: Partial<DmarcOptions>;
  readonly check?: (e: Awaited<ReturnType<typeof evaluateDmarc>>) => void;
}

const pass = (domain: string) => ({ result: 'pass', domain });
const CASES: Case[] = [
  {
    name: 'RFC 9989 §4.4.1: aligned DKIM pass (same domain)',
    input: { authorDomain: 'example.com', dkim: [pass('example.com')] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.4.2: aligned SPF pass (same domain)',
    input: { authorDomain: 'example.com', spf: pass('example.com'), dkim: [] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.4.1 relaxed: DKIM d= a subdomain of the author org',
    input: { authorDomain: 'example.com', dkim: [pass('mail.example.com')] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.4.2 relaxed: SPF domain a subdomain',
    input: { authorDomain: 'mail.example.com', spf: pass('bounce.example.com'), dkim: [] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.4.1: an unaligned DKIM pass does not count',
    input: { authorDomain: 'example.com', dkim: [pass('esp.example.net')] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.4.2: an unaligned SPF pass does not count',
    input: { authorDomain: 'example.com', spf: pass('esp.example.net'), dkim: [] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.4: aligned but failing DKIM does not count',
    input: { authorDomain: 'example.com', dkim: [{ result: 'fail', domain: 'example.com' }] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.4.1: any one aligned DKIM pass among several is enough',
    input: {
      authorDomain: 'example.com',
      dkim: [pass('esp.example.net'), { result: 'fail', domain: 'example.com' }, pass('example.com')],
    },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.7 adkim=s: a subdomain DKIM pass is not aligned',
    input: { authorDomain: 'strict.example', dkim: [pass('sub.strict.example')] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.7 aspf=s: a subdomain SPF pass is not aligned',
    input: { authorDomain: 'strict.example', spf: pass('sub.strict.example'), dkim: [] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.7 adkim=s: the exact domain aligns (case-insensitive)',
    input: { authorDomain: 'strict.example', dkim: [pass('STRICT.example')] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.10.1: an existing subdomain without its own record gets sp',
    input: { authorDomain: 'mail.example.com', dkim: [] },
    result: 'fail',
    disposition: 'quarantine',
    check: (e) => assert.equal(e.policyTag, 'sp'),
  },
  {
    name: '§4.10.1: a non-existent subdomain gets np',
    input: { authorDomain: 'ghost.example.com', dkim: [] },
    result: 'fail',
    disposition: 'reject',
    check: (e) => assert.equal(e.policyTag, 'np'),
  },
  {
    name: '§4.10.1: sp applies to subdomains of strict.example, p when sp is absent',
    input: { authorDomain: 'sub.strict.example', dkim: [] },
    result: 'fail',
    disposition: 'reject',
    check: (e) => assert.equal(e.policyTag, 'p'),
  },
  {
    name: '§4.7 t=y: reject is applied as quarantine',
    input: { authorDomain: 'testing.example', dkim: [] },
    result: 'fail',
    disposition: 'quarantine',
    check: (e) => assert.equal(e.requested, 'reject'),
  },
  {
    name: '§4.7 t=y: quarantine is applied as none',
    input: { authorDomain: 'testq.example', dkim: [] },
    result: 'fail',
    disposition: 'none',
  },
  {
    name: '§4.7 t=y: a pass stays a pass',
    input: { authorDomain: 'testing.example', dkim: [pass('testing.example')] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.7 p=none: fail with disposition none',
    input: { authorDomain: 'none.example', dkim: [] },
    result: 'fail',
    disposition: 'none',
  },
  {
    name: '§4.10.1: an invalid p without rua means no DMARC processing',
    input: { authorDomain: 'nop.example', dkim: [] },
    result: 'none',
    disposition: 'none',
  },
  {
    name: '§4.10.1: an invalid p with a valid rua means p=none',
    input: { authorDomain: 'nopwithrua.example', dkim: [] },
    result: 'fail',
    disposition: 'none',
  },
  {
    name: '§4.10.1: no record anywhere means no DMARC',
    input: { authorDomain: 'unsigned.example', dkim: [] },
    result: 'none',
    disposition: 'none',
  },
  {
    name: '§4.10.1: DNS failure during discovery is temperror',
    input: { authorDomain: 'broken.example', dkim: [] },
    result: 'temperror',
    disposition: 'none',
  },
  {
    name: '§4.10.1/§5.2: a PSD policy (psd=y) applies to an organization without a record',
    input: { authorDomain: 'agency.gov.example', dkim: [] },
    result: 'fail',
    disposition: 'reject',
    check: (e) => assert.equal(e.policyDomain, 'gov.example'),
  },
  {
    name: '§4.10.2 psd=y: the org domain is one label below the PSD, so a sibling agency is not aligned',
    input: { authorDomain: 'agency.gov.example', dkim: [pass('other.gov.example')] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.10.2 psd=y: a subdomain of the agency is aligned',
    input: { authorDomain: 'agency.gov.example', dkim: [pass('mail.agency.gov.example')] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: 'RFC 7489 §6.6.4: pct=20 samples a message out with random 0.5 (reject → quarantine)',
    input: { authorDomain: 'pct.example', dkim: [] },
    options: { mode: 'rfc7489', random: () => 0.5 },
    result: 'fail',
    disposition: 'quarantine',
    check: (e) => assert.equal(e.sampledIn, false),
  },
  {
    name: 'RFC 7489 §6.6.4: pct=20 samples a message in with random 0.1',
    input: { authorDomain: 'pct.example', dkim: [] },
    options: { mode: 'rfc7489', random: () => 0.1 },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: 'RFC 7489 §6.3: t= is not an RFC 7489 tag, so t=y is ignored in that mode (reject stays reject)',
    input: { authorDomain: 'testing.example', dkim: [] },
    options: { mode: 'rfc7489' },
    result: 'fail',
    disposition: 'reject',
    check: (e) => assert.deepEqual([e.testing, e.overrides], [false, []]),
  },
  {
    name: 'RFC 9989: pct is ignored (removed tag)',
    input: { authorDomain: 'pct.example', dkim: [] },
    options: { random: () => 0.99 },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: 'RFC 7489 mode: relaxed alignment through the PSL',
    input: { authorDomain: 'example.com', dkim: [pass('a.b.example.com')] },
    options: { mode: 'rfc7489' },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: 'RFC 7489 mode: no PSD policies (gov.uk is a public suffix)',
    input: { authorDomain: 'agency.gov.uk', dkim: [] },
    options: { mode: 'rfc7489' },
    result: 'none',
    disposition: 'none',
  },
  {
    name: 'RFC 9989 mode: the same PSD policy applies (psd=y at gov.uk)',
    input: { authorDomain: 'agency.gov.uk', dkim: [] },
    result: 'fail',
    disposition: 'quarantine',
  },
  {
    name: '§4.10.2 psd=n: a department declares itself the organizational domain, so its policy applies',
    input: { authorDomain: 'a.dept.deep.example', dkim: [] },
    result: 'fail',
    disposition: 'quarantine',
    check: (e) => assert.equal(e.policyDomain, 'dept.deep.example'),
  },
  {
    name: '§4.10.2 psd=n: the parent domain is not aligned with the department',
    input: { authorDomain: 'a.dept.deep.example', dkim: [pass('deep.example')] },
    result: 'fail',
    disposition: 'quarantine',
  },
  {
    name: '§4.10.2 psd=n: a sibling under the department is aligned',
    input: { authorDomain: 'a.dept.deep.example', dkim: [pass('mail.dept.deep.example')] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: 'RFC 7489 mode ignores psd=n: the PSL organizational domain deep.example aligns',
    input: { authorDomain: 'a.dept.deep.example', dkim: [pass('deep.example')] },
    options: { mode: 'rfc7489' },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.7 sp: sp=reject applies to an existing subdomain while p=none',
    input: { authorDomain: 'www.spnp.example', dkim: [] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.7 sp: p=none applies to the domain itself',
    input: { authorDomain: 'spnp.example', dkim: [] },
    result: 'fail',
    disposition: 'none',
  },
  {
    name: '§4.7 np absent: a non-existent subdomain falls back to sp',
    input: { authorDomain: 'ghost.spnp.example', dkim: [] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.7 np and sp absent: a non-existent subdomain falls back to p',
    input: { authorDomain: 'ghost.nonp.example', dkim: [] },
    result: 'fail',
    disposition: 'quarantine',
  },
  {
    name: '§4.10 step 2: two DMARC records at one name are both discarded (no policy)',
    input: { authorDomain: 'multi.example', dkim: [] },
    result: 'none',
    disposition: 'none',
  },
  {
    name: '§4.10 step 2: a non-DMARC TXT record next to the DMARC one is ignored',
    input: { authorDomain: 'mixed.example', dkim: [] },
    result: 'fail',
    disposition: 'quarantine',
  },
  {
    name: '§4.8: tag names and values are case-insensitive (p=REJECT, ADKIM=s)',
    input: { authorDomain: 'upper.example', dkim: [pass('mail.upper.example')] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.7 v: v=DMARC2 is not a DMARC record',
    input: { authorDomain: 'v2.example', dkim: [] },
    result: 'none',
    disposition: 'none',
  },
  {
    name: '§4.7 v: a record where v= is not first is ignored',
    input: { authorDomain: 'late.example', dkim: [] },
    result: 'none',
    disposition: 'none',
  },
  {
    name: '§4.7 t: t=y has no effect on p=none',
    input: { authorDomain: 'test-none.example', dkim: [] },
    result: 'fail',
    disposition: 'none',
  },
  {
    name: '§4.7 t: t=y weakens sp=reject to quarantine for subdomains',
    input: { authorDomain: 'sub.test-sp.example', dkim: [] },
    result: 'fail',
    disposition: 'quarantine',
  },
  {
    name: '§4.10.1: a DNS failure higher up the walk, with nothing found, is temperror',
    input: { authorDomain: 'x.midfail.example', dkim: [] },
    result: 'temperror',
    disposition: 'none',
  },
  {
    name: '§4.10.1 note: a PSD policy does not override an organizational domain with its own record',
    input: { authorDomain: 'example.co.uk', dkim: [] },
    result: 'fail',
    disposition: 'quarantine',
    check: (e) => assert.equal(e.policyDomain, 'example.co.uk'),
  },
  {
    name: '§4.10.1: an organization under co.uk without a record gets the PSD policy',
    input: { authorDomain: 'shop.co.uk', dkim: [] },
    result: 'fail',
    disposition: 'reject',
    check: (e) => assert.equal(e.policyDomain, 'co.uk'),
  },
  {
    name: '§4.10.2: two organizations under one PSD are not aligned with each other',
    input: { authorDomain: 'shop.co.uk', spf: pass('example.co.uk'), dkim: [] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: 'RFC 7489 §3.1.2: SPF softfail never aligns',
    input: { authorDomain: 'example.com', spf: { result: 'softfail', domain: 'example.com' }, dkim: [] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: 'RFC 7489 §3.1.2: SPF neutral never aligns',
    input: { authorDomain: 'example.com', spf: { result: 'neutral', domain: 'example.com' }, dkim: [] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.4.1: a DKIM policy result (rsa-sha1) is not a pass',
    input: { authorDomain: 'example.com', dkim: [{ result: 'policy', domain: 'example.com' }] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.4.1: a DKIM temperror is not a pass',
    input: { authorDomain: 'example.com', dkim: [{ result: 'temperror', domain: 'example.com' }] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: '§4.4: an aligned SPF pass with a failing DKIM signature is a pass',
    input: { authorDomain: 'example.com', spf: pass('example.com'), dkim: [{ result: 'fail', domain: 'example.com' }] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.4.1 relaxed: a DKIM d= in a parent of the author domain aligns',
    input: { authorDomain: 'a.b.mail.example.com', dkim: [pass('example.com')] },
    result: 'pass',
    disposition: 'none',
  },
  {
    name: '§4.4.1 relaxed: a look-alike domain does not align',
    input: { authorDomain: 'example.com', dkim: [pass('example.com.evil.example')] },
    result: 'fail',
    disposition: 'reject',
  },
  {
    name: 'RFC 7489 §6.6.4: pct=0 samples every message out (quarantine → none)',
    input: { authorDomain: 'pct0.example', dkim: [] },
    options: { mode: 'rfc7489', random: () => 0 },
    result: 'fail',
    disposition: 'none',
  },
  {
    name: 'RFC 7489 mode: sp applies to subdomains',
    input: { authorDomain: 'mail.example.com', dkim: [] },
    options: { mode: 'rfc7489' },
    result: 'fail',
    disposition: 'quarantine',
  },
  {
    name: 'RFC 7489 mode: a DNS failure is temperror',
    input: { authorDomain: 'broken.example', dkim: [] },
    options: { mode: 'rfc7489' },
    result: 'temperror',
    disposition: 'none',
  },
  {
    name: '§4.10: author domains compare case-insensitively, a trailing dot ignored',
    input: { authorDomain: 'EXAMPLE.COM.', dkim: [pass('example.com')] },
    result: 'pass',
    disposition: 'none',
  },
];

test('the scenario suite has at least 60 cases', () => assert.ok(CASES.length >= 60, String(CASES.length)));

for (const c of CASES) {
  test(c.name, async () => {
    const evaluation = await evaluateDmarc(c.input, { resolver: resolverFor(ZONE), ...c.options });
    assert.equal(evaluation.result, c.result, evaluation.reasons.join('; '));
    assert.equal(evaluation.disposition, c.disposition, evaluation.reasons.join('; '));
    assert.ok(evaluation.reasons.length > 0);
    c.check?.(evaluation);
  });
}
