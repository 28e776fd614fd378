import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { Authentication } from '../src/index.js';
import { arc, authenticate, parseAuthenticationResults, parseLocalPolicy, signDkim } from '../src/index.js';
import { SAMPLE_MESSAGE, clockAt, ed25519Key, resolverFor } from './support/dkim-keys.js';

const NOW = 1_800_000_000;
const ed = ed25519Key();
const ZONE = {
  'football.example.com': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }, { A: '192.0.2.1' }],
  'ed._domainkey.football.example.com': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }],
  '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@example.com' }],
  'mx.football.example.com': [{ TXT: 'v=spf1 a -all' }, { A: '192.0.2.25' }],
  'esp.example.net': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
  'lists.example.org': [{ TXT: 'v=spf1 ip4:198.18.0.0/24 -all' }],
  'arc._domainkey.lists.example.org': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }],
};
const options = { resolver: resolverFor(ZONE), clock: clockAt(NOW), authservId: 'mx.receiver.example' };
const signed = signDkim(
  Buffer.from(SAMPLE_MESSAGE),
  [{ domain: 'football.example.com', selector: 'ed', privateKey: ed.privateKey }],
  {
    clock: clockAt(NOW),
  },
).message;

async function run(
  message: Uint8Array,
  input: { ip: string; mailFrom: string; helo?: string },
  extra = {},
): Promise<Authentication> {
  const result = await authenticate(message, input, { ...options, ...extra });
  assert.ok(!('unverifiable' in result));
  return result;
}

test('a signed message from an authorized IP: SPF, DKIM and DMARC pass; the A-R field round-trips', async () => {
  const a = await run(signed, {
    ip: '192.0.2.25',
    mailFrom: 'joe@football.example.com',
    helo: 'mx.football.example.com',
  });
  assert.equal(a.spf.mailFrom.result, 'pass');
  assert.equal(a.spf.helo?.result, 'pass');
  assert.equal(a.dkim.signatures[0]?.result, 'pass');
  assert.equal(a.arc.result, 'none');
  assert.deepEqual(
    [a.dmarc.result, a.dmarc.disposition, a.dmarc.authorDomain],
    ['pass', 'none', 'football.example.com'],
  );
  const field = a.headers.authenticationResults;
  assert.match(field, /^Authentication-Results: mx\.receiver\.example;\r\n\t/);
  const parsed = parseAuthenticationResults(field.slice(field.indexOf(':') + 1).replace(/\r\n$/, ''));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  const byMethod = new Map(parsed.value.results.map((r) => [`${r.method}:${r.properties[0]?.property ?? ''}`, r]));
  assert.equal(byMethod.get('dkim:d')?.result, 'pass');
  assert.deepEqual(
    byMethod.get('dkim:d')?.properties.map((p) => `${p.ptype}.${p.property}`),
    ['header.d', 'header.s', 'header.b'],
  );
  assert.equal(byMethod.get('spf:mailfrom')?.properties[0]?.value, 'joe@football.example.com');
  assert.equal(byMethod.get('spf:helo')?.result, 'pass');
  assert.equal(byMethod.get('dmarc:from')?.properties[0]?.value, 'football.example.com');
  assert.match(a.headers.receivedSpf, /^Received-SPF: pass\r\n\t\(mx\.receiver\.example: [^]*\r\n$/);
});

test('a spoof: unsigned, from an unauthorized IP: DMARC fails with disposition reject', async () => {
  const a = await run(Buffer.from(SAMPLE_MESSAGE), { ip: '203.0.113.9', mailFrom: 'joe@football.example.com' });
  assert.deepEqual([a.spf.mailFrom.result, a.dmarc.result, a.dmarc.disposition], ['fail', 'fail', 'reject']);
  assert.match(
    a.headers.authenticationResults.replace(/\r\n\t+/g, ' '),
    /dmarc=fail \(p=reject dis=reject\) header\.from=football\.example\.com policy\.dmarc=reject/,
  );
});

test('SPF pass for an unrelated envelope domain does not align; DKIM alone carries DMARC', async () => {
  const a = await run(signed, { ip: '198.51.100.7', mailFrom: 'bounce@esp.example.net' });
  assert.equal(a.spf.mailFrom.result, 'pass');
  assert.equal(a.dmarc.result, 'pass');
  assert.ok('spf' in a.dmarc && a.dmarc.spf?.aligned === false);
});

test('several From domains: exempt by default, the strictest failure on request', async () => {
  const message = Buffer.from(
    SAMPLE_MESSAGE.replace(
      'From: Joe SixPack <joe@football.example.com>',
      'From: joe@football.example.com, ann@example.org',
    ),
  );
  const exempt = await run(message, { ip: '203.0.113.9', mailFrom: 'joe@football.example.com' });
  assert.equal(exempt.dmarc.result, 'none');
  assert.match(exempt.dmarc.reasons[0] ?? '', /several domains/);
  const strict = await run(
    message,
    { ip: '203.0.113.9', mailFrom: 'joe@football.example.com' },
    { multipleFromDomains: 'strictest' },
  );
  assert.deepEqual([strict.dmarc.result, strict.dmarc.disposition], ['fail', 'reject']);
});

test('a message that cannot be split is reported, not thrown', async () => {
  const huge = Buffer.from(`X: ${'a'.repeat(9 * 1024 * 1024)}\r\n\r\n`);
  const result = await authenticate(huge, { ip: '192.0.2.1', mailFrom: '', helo: 'x.example' }, options);
  assert.ok('unverifiable' in result);
});

/**
 * A mailing list rewrites the Subject (breaking the author's signature), adds List-Id and seals an
 * ARC set recording that DMARC passed on arrival. The receiver sees a DMARC failure; its local
 * policy decides whether to trust the list.
 */
function throughMailingList(): Uint8Array {
  const relayed = Buffer.from(
    `List-Id: Developers <dev.lists.example.org>\r\n${Buffer.from(signed)
      .toString('latin1')
      .replace('Subject: Is dinner ready?', 'Subject: [dev] Is dinner ready?')}`,
    'latin1',
  );
  const sealed = arc.sealArc(relayed, {
    domain: 'lists.example.org',
    selector: 'arc',
    privateKey: ed.privateKey,
    authenticationResults:
      'lists.example.org; dkim=pass header.d=football.example.com; dmarc=pass header.from=football.example.com',
    chainValidation: 'none',
    clock: clockAt(NOW),
  });
  assert.ok(sealed.sealed, sealed.sealed ? '' : sealed.reason);
  return sealed.message;
}
const fromList = { ip: '198.18.0.7', mailFrom: 'dev-bounces@lists.example.org' };

function localPolicy(document: unknown) {
  const parsed = parseLocalPolicy(document);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.policy;
}

test('mailing list mail without local policy: DMARC fails and the action is the disposition', async () => {
  const a = await run(throughMailingList(), fromList);
  assert.deepEqual(
    [a.dkim.signatures[0]?.result, a.arc.result, a.dmarc.result, a.dmarc.disposition, a.dmarc.action],
    ['fail', 'pass', 'fail', 'reject', 'reject'],
  );
  assert.deepEqual(a.dmarc.overrides, []);
});

test('a trusted ARC sealer overrides the failure: action none, reported as local_policy arc=pass', async () => {
  const a = await run(throughMailingList(), fromList, {
    localPolicy: localPolicy({ trustedArcSealers: ['lists.example.org'] }),
  });
  assert.deepEqual([a.dmarc.result, a.dmarc.disposition, a.dmarc.action], ['fail', 'reject', 'none']);
  assert.deepEqual(a.dmarc.overrides, [
    { type: 'local_policy', comment: 'arc=pass as[1].d=lists.example.org as[1].s=arc' },
  ]);
  assert.match(
    a.headers.authenticationResults.replace(/\r\n\t+/g, ' '),
    /dmarc=fail \(p=reject dis=none override=local_policy\) header\.from=football\.example\.com policy\.dmarc=reject/,
  );
});

test('a known mailing list that authenticates by SPF overrides the failure as mailing_list', async () => {
  const a = await run(throughMailingList(), fromList, {
    localPolicy: localPolicy({ mailingLists: ['dev.lists.example.org'] }),
  });
  assert.equal(a.dmarc.action, 'none');
  assert.deepEqual(
    a.dmarc.overrides.map((o) => o.type),
    ['mailing_list'],
  );
  // The same List-Id from an address the list's SPF does not authorize is not trusted.
  const forged = await run(
    throughMailingList(),
    { ...fromList, ip: '203.0.113.9' },
    {
      localPolicy: localPolicy({ mailingLists: ['dev.lists.example.org'] }),
    },
  );
  assert.equal(forged.dmarc.action, 'reject');
});

test('a site action table softens reject to quarantine for plain spoofs', async () => {
  const a = await run(
    Buffer.from(SAMPLE_MESSAGE),
    { ip: '203.0.113.9', mailFrom: 'joe@football.example.com' },
    { localPolicy: localPolicy({ actions: { reject: 'quarantine' } }) },
  );
  assert.deepEqual([a.dmarc.disposition, a.dmarc.action], ['reject', 'quarantine']);
  assert.equal(a.dmarc.overrides[0]?.type, 'local_policy');
});

test('arcSeal: the receiver seals its own hop, AAR = its Authentication-Results, cv = the verified chain', async () => {
  const sealResolver = resolverFor({
    ...ZONE,
    'arc._domainkey.receiver.example': [{ TXT: `v=DKIM1; k=ed25519; p=${ed.p}` }],
  });
  const arcSeal = { domain: 'receiver.example', selector: 'arc', privateKey: ed.privateKey };
  const first = await run(signed, { ip: '192.0.2.25', mailFrom: 'joe@football.example.com' }, { arcSeal });
  assert.ok(first.arcSeal?.sealed, first.arcSeal?.sealed === false ? first.arcSeal.reason : 'no seal');
  assert.equal(first.arcSeal.instance, 1);
  assert.match(first.arcSeal.fields.authenticationResults, /^ARC-Authentication-Results: i=1; mx\.receiver\.example;/);
  assert.match(first.arcSeal.fields.authenticationResults, /dmarc=pass/);
  assert.match(first.arcSeal.fields.seal, /cv=none/);
  const check = await arc.verifyArc(first.arcSeal.message, { resolver: sealResolver, clock: clockAt(NOW) });
  assert.deepEqual([check.result, check.instances], ['pass', 1]);

  // A chain that arrives valid is sealed with cv=pass as the next instance.
  const second = await run(throughMailingList(), fromList, { arcSeal });
  assert.ok(second.arcSeal?.sealed);
  assert.equal(second.arcSeal.instance, 2);
  assert.match(second.arcSeal.fields.seal, /cv=pass/);
  const chain = await arc.verifyArc(second.arcSeal.message, { resolver: sealResolver, clock: clockAt(NOW) });
  assert.deepEqual([chain.result, chain.instances], ['pass', 2]);
});

test('arcSeal with an unusable key setting is reported, not thrown', async () => {
  const a = await run(
    signed,
    { ip: '192.0.2.25', mailFrom: 'joe@football.example.com' },
    {
      arcSeal: { domain: 'receiver.example', selector: 'arc', privateKey: ed.privateKey, algorithm: 'rsa-sha256' },
    },
  );
  assert.equal(a.arcSeal?.sealed, false);
  assert.match(a.arcSeal?.sealed === false ? a.arcSeal.reason : '', /rsa|key/i);
});
