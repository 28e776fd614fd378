import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupOptions, RecordType, Resolver } from '../src/index.js';
import { DmarcDns, discoverPolicy, organizationalDomainOf, treeWalkDomains } from '../src/index.js';
import { resolverFor } from './support/dkim-keys.js';

function dnsFor(zone: Record<string, unknown[]>): DmarcDns {
  return new DmarcDns(resolverFor(zone));
}

test('RFC 9989 §4.10: the walk from a 13-label name makes exactly the eight queries of the example', () => {
  assert.deepEqual(treeWalkDomains('a.b.c.d.e.f.g.h.i.j.mail.example.com'), [
    'a.b.c.d.e.f.g.h.i.j.mail.example.com',
    'g.h.i.j.mail.example.com',
    'h.i.j.mail.example.com',
    'i.j.mail.example.com',
    'j.mail.example.com',
    'mail.example.com',
    'example.com',
    'com',
  ]);
  assert.deepEqual(treeWalkDomains('a.mail.example.com.'), [
    'a.mail.example.com',
    'mail.example.com',
    'example.com',
    'com',
  ]);
  const deep = Array.from({ length: 125 }, () => 'x').join('.') + '.example.com';
  assert.equal(treeWalkDomains(deep).length, 8);
});

test('§4.10.2 examples: fewest labels, psd=n, psd=y', async () => {
  const both = dnsFor({
    '_dmarc.mail.example.com': [{ TXT: 'v=DMARC1; p=none' }],
    '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject' }],
  });
  assert.deepEqual(
    await organizationalDomainOf(both, 'a.mail.example.com', 'rfc9989').then((r) => r.ok && r.domain),
    'example.com',
  );
  const psdN = dnsFor({
    '_dmarc.mail.example.com': [{ TXT: 'v=DMARC1; p=none; psd=n' }],
    '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject' }],
  });
  assert.equal(
    await organizationalDomainOf(psdN, 'a.mail.example.com', 'rfc9989').then((r) => r.ok && r.domain),
    'mail.example.com',
  );
  const psdY = dnsFor({ '_dmarc.com': [{ TXT: 'v=DMARC1; p=reject; psd=y' }] });
  assert.equal(
    await organizationalDomainOf(psdY, 'a.mail.example.com', 'rfc9989').then((r) => r.ok && r.domain),
    'example.com',
  );
  const nothing = dnsFor({});
  assert.equal(
    await organizationalDomainOf(nothing, 'a.mail.example.com', 'rfc9989').then((r) => r.ok && r.domain),
    'a.mail.example.com',
  );
  assert.equal(
    await organizationalDomainOf(nothing, 'a.mail.example.co.uk', 'rfc7489').then((r) => r.ok && r.domain),
    'example.co.uk',
  );
});

test('§4.10.1 policy discovery: the author domain first, then the organizational domain, then the PSD', async () => {
  const zone = {
    '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject; sp=quarantine' }],
    '_dmarc.own.example.com': [{ TXT: 'v=DMARC1; p=none' }],
    '_dmarc.gov.example': [{ TXT: 'v=DMARC1; p=quarantine; psd=y' }],
  };
  const own = await discoverPolicy(dnsFor(zone), 'own.example.com');
  assert.equal(
    own.kind === 'found' && [own.policyDomain, own.source, own.organizationalDomain].join(' '),
    'own.example.com author-domain example.com',
  );
  const sub = await discoverPolicy(dnsFor(zone), 'a.b.example.com');
  assert.equal(sub.kind === 'found' && [sub.policyDomain, sub.source].join(' '), 'example.com organizational-domain');
  assert.deepEqual(
    sub.steps.map((s) => s.name),
    ['_dmarc.a.b.example.com', '_dmarc.b.example.com', '_dmarc.example.com', '_dmarc.com'],
  );
  const agency = await discoverPolicy(dnsFor(zone), 'mail.agency.gov.example');
  assert.equal(
    agency.kind === 'found' && [agency.policyDomain, agency.source, agency.organizationalDomain].join(' '),
    'gov.example public-suffix-domain agency.gov.example',
  );
  const none = await discoverPolicy(dnsFor(zone), 'example.net');
  assert.equal(none.kind, 'none');
});

test('several DMARC records at one name are all discarded; other TXT records are ignored', async () => {
  const dns = dnsFor({
    '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject' }, { TXT: 'v=DMARC1; p=none' }],
    '_dmarc.example.org': [{ TXT: 'v=spf1 -all' }, { TXT: 'v=DMARC1; p=quarantine' }],
  });
  const multiple = await discoverPolicy(dns, 'example.com');
  assert.equal(multiple.kind, 'none');
  assert.match(
    multiple.steps[0]?.result.kind === 'none' ? multiple.steps[0].result.reason : '',
    /2 DMARC records, all discarded/,
  );
  const mixed = await discoverPolicy(dns, 'example.org');
  assert.equal(mixed.kind === 'found' && mixed.record.p, 'quarantine');
});

test('DNS failures give temperror; queries are shared between walks', async () => {
  const failing = await discoverPolicy(dnsFor({ '_dmarc.example.com': ['TIMEOUT'] }), 'example.com');
  assert.equal(failing.kind, 'temperror');
  const midway = await discoverPolicy(dnsFor({ '_dmarc.example.com': ['SERVFAIL'] }), 'a.example.com');
  assert.equal(midway.kind, 'temperror');
  let queries = 0;
  const inner = resolverFor({ '_dmarc.example.com': [{ TXT: 'v=DMARC1; p=reject' }] });
  const counting: Resolver = {
    lookup<T extends RecordType>(name: string, type: T, options?: LookupOptions) {
      queries++;
      return inner.lookup(name, type, options);
    },
  };
  const dns = new DmarcDns(counting);
  await discoverPolicy(dns, 'a.example.com');
  await organizationalDomainOf(dns, 'a.example.com', 'rfc9989');
  await organizationalDomainOf(dns, 'b.example.com', 'rfc9989');
  assert.equal(queries, 4, '_dmarc.a.example.com, _dmarc.example.com, _dmarc.com, _dmarc.b.example.com');
});

test('RFC 7489 mode: the author domain, then the PSL organizational domain only', async () => {
  const dns = dnsFor({
    '_dmarc.example.co.uk': [{ TXT: 'v=DMARC1; p=reject' }],
    '_dmarc.co.uk': [{ TXT: 'v=DMARC1; p=none; psd=y' }],
  });
  const found = await discoverPolicy(dns, 'a.b.example.co.uk', 'rfc7489');
  assert.equal(
    found.kind === 'found' && [found.policyDomain, found.organizationalDomain].join(' '),
    'example.co.uk example.co.uk',
  );
  assert.equal(found.steps.length, 2);
  const unrelated = await discoverPolicy(dns, 'other.co.uk', 'rfc7489');
  assert.equal(unrelated.kind, 'none', 'no PSD policies in RFC 7489 mode');
});

test('§4.10: policy discovery from a 127-label name (253 octets) is bounded; a longer name is refused', async () => {
  const resolver = resolverFor({ '_dmarc.e.c': [{ TXT: 'v=DMARC1; p=reject' }] });
  const asked: string[] = [];
  const counting: Resolver = {
    lookup: <T extends RecordType>(name: string, type: T, options?: LookupOptions) => {
      asked.push(name);
      return resolver.lookup(name, type, options);
    },
  };
  const deepest = Array.from({ length: 125 }, () => 'x').join('.') + '.e.c';
  assert.equal(deepest.length, 253);
  const policy = await discoverPolicy(new DmarcDns(counting), deepest);
  assert.ok(asked.length <= 8, `queries: ${asked.length}`);
  assert.equal(policy.kind, 'found', policy.kind === 'found' ? '' : policy.reason);
  assert.equal(policy.kind === 'found' && policy.policyDomain, 'e.c');

  const tooLong = Array.from({ length: 125 }, () => 'x').join('.') + '.example.com';
  const refused = await discoverPolicy(new DmarcDns(counting), tooLong);
  assert.equal(refused.kind, 'none');
  assert.match(refused.kind === 'none' ? refused.reason : '', /not a domain name: domain name is 261 octets/);
});
