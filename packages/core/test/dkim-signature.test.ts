import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyLookupName, parseSignature } from '../src/dkim/signature.js';

// RFC 6376 Appendix A.2, the field value after "DKIM-Signature:", folded as in the RFC.
const RFC6376_A2 =
  ' v=1; a=rsa-sha256; s=brisbane; d=example.com;\r\n' +
  '     c=simple/simple; q=dns/txt; i=joe@football.example.com;\r\n' +
  '     h=Received : From : To : Subject : Date : Message-ID;\r\n' +
  '     bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n' +
  '     b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB\r\n' +
  '     4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut\r\n' +
  '     KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV\r\n' +
  '     4bmp/YzhwvcubU4=;';

// RFC 8463 Appendix A.3, both signatures.
const RFC8463_ED25519 =
  ' v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n' +
  ' d=football.example.com; i=@football.example.com;\r\n' +
  ' q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n' +
  ' subject : date : message-id : from : subject : date;\r\n' +
  ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n' +
  ' b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n' +
  ' Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==';
const RFC8463_RSA =
  ' v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n' +
  ' d=football.example.com; i=@football.example.com;\r\n' +
  ' q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n' +
  ' date : message-id : from : subject : date;\r\n' +
  ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n' +
  ' b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n' +
  ' DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n' +
  ' dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=';

// RFC 6376 §3.5, the informative example with z= (its b= is cut short in the RFC, but valid base64).
const RFC6376_Z_EXAMPLE =
  ' v=1; a=rsa-sha256; d=example.net; s=brisbane;\r\n' +
  '   c=simple; q=dns/txt; i=@eng.example.net;\r\n' +
  '   t=1117574938; x=1118006938;\r\n' +
  '   h=from:to:subject:date;\r\n' +
  '   z=From:foo@eng.example.net|To:joe@example.com|\r\n' +
  '    Subject:demo=20run|Date:July=205,=202005=203:44:08=20PM=20-0700;\r\n' +
  '   bh=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=;\r\n' +
  '   b=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR';

const BASE = 'v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=AAAA; b=AQID';

function sigOf(text: string) {
  const parsed = parseSignature(text);
  assert.ok(parsed.ok, `expected a signature: ${parsed.ok ? '' : parsed.reason}`);
  return parsed.signature;
}

function errorOf(text: string) {
  const parsed = parseSignature(text);
  assert.equal(parsed.ok, false, `expected an error for ${text.slice(0, 200)}`);
  return parsed as Extract<typeof parsed, { ok: false }>;
}

/** BASE with one tag replaced (value) or removed (null), or added at the end. */
function withTag(tag: string, value: string | null): string {
  const specs = BASE.split('; ');
  const index = specs.findIndex((spec) => spec.startsWith(`${tag}=`));
  if (index < 0 && value !== null) specs.push(`${tag}=${value}`);
  else if (value === null) specs.splice(index, 1);
  else specs[index] = `${tag}=${value}`;
  return specs.join('; ');
}

function quickly<T>(run: () => T): T {
  const started = performance.now();
  const result = run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  return result;
}

test('RFC 6376 Appendix A signature parses', () => {
  const sig = sigOf(RFC6376_A2);
  assert.equal(sig.version, 1);
  assert.equal(sig.algorithm, 'rsa-sha256');
  assert.equal(sig.selector, 'brisbane');
  assert.equal(sig.domain, 'example.com');
  assert.equal(sig.normalizedDomain, 'example.com');
  assert.equal(sig.headerCanon, 'simple');
  assert.equal(sig.bodyCanon, 'simple');
  assert.deepEqual(sig.queryMethods, ['dns/txt']);
  assert.equal(sig.identity, 'joe@football.example.com');
  assert.equal(sig.identityDomain, 'football.example.com');
  assert.deepEqual(sig.headers, ['Received', 'From', 'To', 'Subject', 'Date', 'Message-ID']);
  assert.equal(Buffer.from(sig.bodyHash).toString('base64'), '2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=');
  assert.equal(sig.bodyHash.length, 32);
  assert.equal(sig.signature.length, 128);
  assert.equal(
    Buffer.from(sig.signature).toString('base64'),
    'AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut' +
      'KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV4bmp/YzhwvcubU4=',
  );
  assert.equal(sig.bodyLength, undefined);
  assert.equal(sig.timestamp, undefined);
  assert.equal(sig.expiration, undefined);
  assert.equal(sig.copiedHeaders, undefined);
  assert.equal(sig.raw, RFC6376_A2);
  assert.equal(keyLookupName(sig), 'brisbane._domainkey.example.com');
});

test('the b= offsets let a verifier blank the signature value (§3.5)', () => {
  const sig = sigOf(RFC6376_A2);
  const b = sig.tags.get('b');
  assert.ok(b);
  const blanked = sig.raw.slice(0, b.valueStart) + sig.raw.slice(b.valueEnd);
  assert.ok(blanked.endsWith('bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n     b=;'));
});

test('RFC 8463 Appendix A signatures parse (ed25519-sha256 and rsa-sha256)', () => {
  const ed = sigOf(RFC8463_ED25519);
  assert.equal(ed.algorithm, 'ed25519-sha256');
  assert.equal(ed.signature.length, 64);
  assert.equal(ed.headerCanon, 'relaxed');
  assert.equal(ed.bodyCanon, 'relaxed');
  assert.equal(ed.timestamp, 1528637909);
  assert.equal(ed.identity, '@football.example.com');
  assert.deepEqual(ed.headers, ['from', 'to', 'subject', 'date', 'message-id', 'from', 'subject', 'date']);
  assert.equal(keyLookupName(ed), 'brisbane._domainkey.football.example.com');
  const rsa = sigOf(RFC8463_RSA);
  assert.equal(rsa.algorithm, 'rsa-sha256');
  assert.equal(rsa.signature.length, 128);
  assert.equal(rsa.selector, 'test');
});

test('RFC 6376 §3.5 example: c=simple, t=, x= and z= copied fields', () => {
  const sig = sigOf(RFC6376_Z_EXAMPLE);
  assert.equal(sig.headerCanon, 'simple');
  assert.equal(sig.bodyCanon, 'simple');
  assert.equal(sig.timestamp, 1117574938);
  assert.equal(sig.expiration, 1118006938);
  assert.equal(sig.identityDomain, 'eng.example.net');
  assert.deepEqual(sig.copiedHeaders, [
    'From:foo@eng.example.net',
    'To:joe@example.com',
    'Subject:demo run',
    'Date:July 5, 2005 3:44:08 PM -0700',
  ]);
});

test('defaults: c=simple/simple, q=dns/txt, i=@d', () => {
  const sig = sigOf(BASE);
  assert.equal(sig.headerCanon, 'simple');
  assert.equal(sig.bodyCanon, 'simple');
  assert.deepEqual(sig.queryMethods, ['dns/txt']);
  assert.equal(sig.identity, '@example.com');
  assert.equal(sig.identityDomain, 'example.com');
  assert.deepEqual([...sig.signature], [1, 2, 3]);
  assert.deepEqual([...sig.bodyHash], [0, 0, 0]);
});

test('v= is required and must be 1, but need not come first', () => {
  assert.equal(sigOf('a=rsa-sha256; v=1; d=example.com; s=sel; h=from; bh=AAAA; b=AQID').version, 1);
  const missing = errorOf(withTag('v', null));
  assert.equal(missing.code, 'missing-tag');
  assert.equal(missing.tag, 'v');
  for (const version of ['2', '01', '1.0', '', 'one']) {
    const error = errorOf(withTag('v', version));
    assert.equal(error.code, 'incompatible-version', version);
    assert.equal(error.tag, 'v');
    assert.equal(error.position, 0);
  }
});

test('every required tag must be present (§6.1.1)', () => {
  for (const tag of ['a', 'b', 'bh', 'd', 'h', 's']) {
    const error = errorOf(withTag(tag, null));
    assert.equal(error.code, 'missing-tag', tag);
    assert.equal(error.tag, tag);
    assert.match(error.reason, new RegExp(`missing required tag ${tag}=`));
  }
});

test('a= accepts the three algorithms; an unknown one keeps its value for the verifier', () => {
  assert.equal(sigOf(withTag('a', 'rsa-sha1')).algorithm, 'rsa-sha1');
  assert.equal(sigOf(withTag('a', 'ed25519-sha256')).algorithm, 'ed25519-sha256');
  // ABNF literals are case-insensitive (RFC 5234 §2.3).
  assert.equal(sigOf(withTag('a', 'RSA-SHA256')).algorithm, 'rsa-sha256');
  const unknown = errorOf(withTag('a', 'rsa-sha512'));
  assert.equal(unknown.code, 'unsupported');
  assert.equal(unknown.tag, 'a');
  assert.equal(unknown.algorithm, 'rsa-sha512');
  assert.equal(unknown.domain, 'example.com');
  assert.equal(unknown.selector, 'sel');
  assert.match(unknown.reason, /unsupported signature algorithm a="rsa-sha512"/);
  assert.equal(errorOf(withTag('a', 'ed448-sha256')).code, 'unsupported');
  for (const bad of ['rsa', 'rsa-', '-sha256', 'rsa_sha256', 'rsa-sha-256', '', 'rsa sha256']) {
    const error = errorOf(withTag('a', bad));
    assert.equal(error.code, 'syntax', bad);
    assert.equal(error.tag, 'a');
  }
});

test('an unknown a= is reported only when nothing else is wrong', () => {
  const both = errorOf(withTag('a', 'foo-bar').replace('d=example.com', 'd=example'));
  assert.equal(both.code, 'syntax');
  assert.equal(both.tag, 'd');
  assert.equal(both.algorithm, 'foo-bar');
});

test('b= and bh= are strict base64 with FWS removed', () => {
  const folded = sigOf(withTag('b', 'AQ\r\n ID\tBA\r\n  U=').replace('bh=AAAA', 'bh= AA\r\n AA'));
  assert.deepEqual([...folded.signature], [1, 2, 3, 4, 5]);
  assert.deepEqual([...folded.bodyHash], [0, 0, 0]);
  for (const [tag, value, pattern] of [
    ['b', 'AQ*D', /malformed base64 in b=: invalid character "\*"/],
    ['b', 'AQI', /malformed base64 in b=: .*multiple of 4/],
    ['b', 'AQ=D', /malformed base64 in b=: data after "="/],
    ['b', 'A===', /malformed base64 in b=/],
    ['b', '', /empty b=/],
    ['bh', 'AA-_', /malformed base64 in bh=/],
    ['bh', 'AAA', /malformed base64 in bh=/],
    ['bh', '', /empty bh=/],
  ] as const) {
    const error = errorOf(withTag(tag, value));
    assert.equal(error.code, 'syntax', `${tag}=${value}`);
    assert.equal(error.tag, tag);
    assert.match(error.reason, pattern);
  }
});

test('c= names header and body canonicalization', () => {
  const canon = (value: string) => {
    const sig = sigOf(withTag('c', value));
    return `${sig.headerCanon}/${sig.bodyCanon}`;
  };
  assert.equal(canon('relaxed/relaxed'), 'relaxed/relaxed');
  assert.equal(canon('simple/relaxed'), 'simple/relaxed');
  assert.equal(canon('relaxed'), 'relaxed/simple');
  assert.equal(canon('simple'), 'simple/simple');
  assert.equal(canon('Relaxed/SIMPLE'), 'relaxed/simple');
  assert.equal(errorOf(withTag('c', 'relaxed/fancy')).code, 'unsupported');
  assert.equal(errorOf(withTag('c', 'nowsp')).code, 'unsupported');
  for (const bad of ['relaxed/', '/simple', 'a/b/c', 'relaxed / simple', '']) {
    const error = errorOf(withTag('c', bad));
    assert.equal(error.code, 'syntax', bad);
    assert.equal(error.tag, 'c');
  }
});

test('d= must be a domain name; compared lowercased, kept as written', () => {
  const sig = sigOf(BASE.replace('d=example.com', 'd=Mail.Example.COM'));
  assert.equal(sig.domain, 'Mail.Example.COM');
  assert.equal(sig.normalizedDomain, 'mail.example.com');
  assert.equal(sig.identity, '@Mail.Example.COM');
  assert.equal(sig.identityDomain, 'mail.example.com');
  assert.equal(sigOf(BASE.replace('d=example.com', 'd=123.example')).domain, '123.example');
  for (const bad of ['example', 'example.com.', '.example.com', 'exa_mple.com', '-a.example.com', 'a-.example.com']) {
    const error = errorOf(BASE.replace('d=example.com', `d=${bad}`));
    assert.equal(error.code, 'syntax', bad);
    assert.equal(error.tag, 'd');
  }
  assert.equal(errorOf(BASE.replace('d=example.com', 'd=')).tag, 'd');
  assert.equal(errorOf(BASE.replace('d=example.com', `d=${'a'.repeat(64)}.com`)).tag, 'd');
  assert.match(errorOf(BASE.replace('d=example.com', `d=${'a.'.repeat(130)}com`)).reason, /at most 253/);
});

test('s= must be a selector', () => {
  assert.equal(sigOf(withTag('s', 'march2005.reykjavik')).selector, 'march2005.reykjavik');
  assert.equal(sigOf(withTag('s', 's_2024-01')).selector, 's_2024-01');
  assert.equal(keyLookupName({ selector: 'foo.bar', domain: 'example.com' }), 'foo.bar._domainkey.example.com');
  for (const bad of ['', 'a..b', 'a b', '-a', 'a.', 'a/b', `${'s'.repeat(64)}`, `${'s.'.repeat(120)}s`]) {
    const error = errorOf(withTag('s', bad));
    assert.equal(error.code, 'syntax', bad);
    assert.equal(error.tag, 's');
  }
});

test('h= lists the signed fields and must include From (§6.1.1)', () => {
  assert.deepEqual(sigOf(withTag('h', 'To :\r\n FROM: subject')).headers, ['To', 'FROM', 'subject']);
  assert.deepEqual(sigOf(withTag('h', 'from')).headers, ['from']);
  const noFrom = errorOf(withTag('h', 'to:subject:from-x'));
  assert.equal(noFrom.code, 'from-not-signed');
  assert.equal(noFrom.tag, 'h');
  for (const bad of ['from::to', 'from:to:', ':from', '', 'from:x y', 'from:to\r\n x']) {
    const error = errorOf(withTag('h', bad));
    assert.equal(error.code, 'syntax', JSON.stringify(bad));
    assert.equal(error.tag, 'h');
  }
});

test('i= must be in d= or below it (§6.1.1)', () => {
  assert.equal(sigOf(withTag('i', 'user@example.com')).identity, 'user@example.com');
  assert.equal(sigOf(withTag('i', '@example.com')).identityDomain, 'example.com');
  assert.equal(sigOf(withTag('i', 'u@Sub.EXAMPLE.com')).identityDomain, 'sub.example.com');
  // dkim-quoted-printable (§2.11): decoded before the checks, and reported decoded.
  assert.equal(sigOf(withTag('i', 'a=3Db@deep.sub.example.com')).identity, 'a=b@deep.sub.example.com');
  assert.equal(sigOf(withTag('i', 'jlong=40example.com')).identity, 'jlong@example.com');
  assert.equal(sigOf(withTag('i', 'j=C3=A9@example.com')).identity, 'j\u00e9@example.com');
  assert.equal(errorOf(withTag('i', 'jlong=40example.org')).code, 'domain-mismatch');
  assert.match(errorOf(withTag('i', 'a=4@example.com')).reason, /malformed quoted-printable/);
  assert.equal(sigOf(withTag('i', 'us\r\n er@example.com')).identity, 'user@example.com');
  assert.equal(sigOf(withTag('i', '"a@b"@example.com')).identityDomain, 'example.com');
  for (const other of ['u@example.org', 'u@notexample.com', 'u@com', 'u@example.com.evil.org']) {
    const error = errorOf(withTag('i', other));
    assert.ok(error.code === 'domain-mismatch' || error.code === 'syntax', other);
    assert.equal(error.tag, 'i');
  }
  const mismatch = errorOf(withTag('i', 'u@notexample.com'));
  assert.equal(mismatch.code, 'domain-mismatch');
  assert.match(mismatch.reason, /not d= or below it/);
  assert.equal(errorOf(withTag('i', 'u@example.org')).code, 'domain-mismatch');
  for (const bad of ['', 'example.com', 'u@', 'u@example..com', 'a=ZZb@example.com']) {
    const error = errorOf(withTag('i', bad));
    assert.equal(error.code, 'syntax', bad);
    assert.equal(error.tag, 'i');
  }
});

test('l= is 1 to 76 digits and must fit a safe integer', () => {
  assert.equal(sigOf(withTag('l', '0')).bodyLength, 0);
  assert.equal(sigOf(withTag('l', '1234')).bodyLength, 1234);
  assert.equal(sigOf(withTag('l', '0012')).bodyLength, 12);
  assert.equal(sigOf(withTag('l', '0'.repeat(76))).bodyLength, 0);
  assert.equal(sigOf(withTag('l', `${'0'.repeat(60)}9007199254740991`)).bodyLength, Number.MAX_SAFE_INTEGER);
  for (const big of ['9007199254740992', '9'.repeat(76), '1'.padEnd(17, '0')]) {
    const error = errorOf(withTag('l', big));
    assert.equal(error.code, 'unsupported', big);
    assert.equal(error.tag, 'l');
    assert.match(error.reason, /larger than 9007199254740991/);
  }
  for (const bad of ['0'.repeat(77), '', '-1', '+1', '1.5', '1 2', 'ten', '0x10']) {
    const error = errorOf(withTag('l', bad));
    assert.equal(error.code, 'syntax', bad);
    assert.equal(error.tag, 'l');
  }
});

test('q= must include dns/txt', () => {
  assert.deepEqual(sigOf(withTag('q', 'dns/txt')).queryMethods, ['dns/txt']);
  assert.deepEqual(sigOf(withTag('q', 'DNS/TXT')).queryMethods, ['DNS/TXT']);
  assert.deepEqual(sigOf(withTag('q', 'http/well-known : dns/txt')).queryMethods, ['http/well-known', 'dns/txt']);
  for (const unsupported of ['dns', 'dns/srv', 'http/x']) {
    const error = errorOf(withTag('q', unsupported));
    assert.equal(error.code, 'unsupported', unsupported);
    assert.equal(error.tag, 'q');
  }
  for (const bad of ['dns/txt:', '', ':dns/txt', '1dns/txt', 'dns/txt:/x']) {
    const error = errorOf(withTag('q', bad));
    assert.equal(error.code, 'syntax', bad);
    assert.equal(error.tag, 'q');
  }
});

test('t= and x= are 1 to 12 digits, and x= may not be before t=', () => {
  const sig = sigOf(`${BASE}; t=1000; x=2000`);
  assert.equal(sig.timestamp, 1000);
  assert.equal(sig.expiration, 2000);
  assert.equal(sigOf(`${BASE}; t=999999999999`).timestamp, 999_999_999_999);
  assert.equal(sigOf(`${BASE}; x=5`).expiration, 5);
  // Equal is let through (see signature.ts); before is an error.
  assert.equal(sigOf(`${BASE}; t=1000; x=1000`).expiration, 1000);
  const before = errorOf(`${BASE}; t=2000; x=1999`);
  assert.equal(before.code, 'syntax');
  assert.equal(before.tag, 'x');
  assert.match(before.reason, /x=1999 is before t=2000/);
  for (const tag of ['t', 'x']) {
    for (const bad of ['1'.repeat(13), '', '-1', '12a', '1 2']) {
      const error = errorOf(`${BASE}; ${tag}=${bad}`);
      assert.equal(error.code, 'syntax', `${tag}=${bad}`);
      assert.equal(error.tag, tag);
    }
  }
});

test('z= is optional; malformed copies are errors', () => {
  assert.deepEqual(sigOf(`${BASE}; z=From:a=40b|To:c`).copiedHeaders, ['From:a@b', 'To:c']);
  assert.deepEqual(sigOf(`${BASE}; z=Subject:`).copiedHeaders, ['Subject:']);
  // FWS inside z= is folding, not content (§3.5).
  assert.deepEqual(sigOf(`${BASE}; z=Sub\r\n ject:a=20b`).copiedHeaders, ['Subject:a b']);
  for (const bad of ['', 'From', ':value', 'From:a|', 'From:a=4', 'From:a=GG']) {
    const error = errorOf(`${BASE}; z=${bad}`);
    assert.equal(error.code, 'syntax', bad);
    assert.equal(error.tag, 'z');
  }
});

test('unknown tags are ignored but kept; tag names are case-sensitive', () => {
  const sig = sigOf(`${BASE}; foo=bar; A=whatever`);
  assert.equal(sig.tags.get('foo')?.value, 'bar');
  assert.equal(sig.algorithm, 'rsa-sha256');
  // "D=" is not "d=": the required d= is then missing.
  assert.equal(errorOf(BASE.replace('d=', 'D=')).code, 'missing-tag');
});

test('tag-list errors and duplicates are syntax errors with a position', () => {
  const duplicate = errorOf(`${BASE}; d=example.org`);
  assert.equal(duplicate.code, 'syntax');
  assert.match(duplicate.reason, /duplicate tag "d"/);
  assert.equal(duplicate.position, BASE.length + 2);
  const folded = errorOf('v=1;\r\na=rsa-sha256');
  assert.equal(folded.code, 'syntax');
  assert.equal(folded.position, 4);
  assert.match(folded.reason, /tag-list syntax error at offset 4: line break/);
});

test('a value passed with its terminating line break still parses', () => {
  assert.equal(sigOf(`${RFC6376_A2}\r\n`).raw, `${RFC6376_A2}\r\n`);
  assert.ok(parseSignature(`${BASE}\n`).ok);
  assert.equal(parseSignature(`${BASE}\r\n\r\n`).ok, false);
});

test('hostile: 10,000 tags in one header', () => {
  const many = `${BASE}; ${Array.from({ length: 10_000 }, (_, i) => `x${i}=${i}`).join('; ')}`;
  const sig = quickly(() => sigOf(many));
  assert.equal(sig.tags.size, 10_007);
  const duplicates = quickly(() => errorOf(`${BASE}; ${Array.from({ length: 10_000 }, () => 'x=1').join('; ')}`));
  assert.match(duplicates.reason, /duplicate tag "x"/);
  const headers = quickly(() => sigOf(withTag('h', Array.from({ length: 10_000 }, () => 'from').join(':'))));
  assert.equal(headers.headers.length, 10_000);
});

test('hostile: 1 MB header values end in a result quickly', () => {
  const mb = 1 << 20;
  const bigB = quickly(() => sigOf(withTag('b', 'AQID'.repeat(mb / 4))));
  assert.equal(bigB.signature.length, (mb / 4) * 3);
  const foldedB = quickly(() => sigOf(withTag('b', 'AQID\r\n '.repeat(mb / 7))));
  assert.ok(foldedB.signature.length > 0);
  const cases = [
    withTag('b', `${'AQID'.repeat(mb / 4)}*`),
    withTag('d', `${'a'.repeat(mb)}.com`),
    withTag('s', 'a.'.repeat(mb / 2)),
    withTag('a', 'x'.repeat(mb)),
    withTag('h', 'to:'.repeat(mb / 3)),
    withTag('l', '9'.repeat(mb)),
    withTag('i', `${'u'.repeat(mb)}@example.org`),
    withTag('z', 'From:x=4'.repeat(mb / 8)),
    `${BASE}; ${'x'.repeat(mb)}`,
    ';'.repeat(mb),
    `${BASE}; n=${'\x01'.repeat(mb)}`,
  ];
  for (const text of cases) {
    const error = quickly(() => errorOf(text));
    assert.ok(error.reason.length > 0 && error.reason.length < 300, error.reason.slice(0, 100));
  }
});
