/** Domains given on the command line: host names in A-label form, or a usage error naming the problem. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mailDomainOf } from '../src/commands/mail-domain.js';
import { runProgram } from '../src/program.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

test('mail domains: lower case, trailing dot dropped, IDNA applied; spaces, single labels and empty refused', () => {
  assert.deepEqual(mailDomainOf('Example.COM.'), { domain: 'example.com' });
  assert.deepEqual(mailDomainOf('münchen.de'), { domain: 'xn--mnchen-3ya.de' });
  assert.deepEqual(mailDomainOf('_dmarc.example.com'), { domain: '_dmarc.example.com' });
  for (const bad of ['not a domain', 'localhost', '', 'a..b', 'exa$mple.com', `${'a'.repeat(64)}.com`]) {
    assert.ok('reason' in mailDomainOf(bad), bad);
  }
});

test('keygen, dmarc and reports --domain refuse what is not a domain name (exit 2), before any work', async () => {
  for (const [argv, pattern] of [
    [['keygen', '--domain', 'not a domain'], /^mailward keygen: --domain "not a domain": not a domain name\n$/],
    [['dmarc', 'bad domain'], /^mailward dmarc: "bad domain": not a domain name\n$/],
    [
      ['reports', 'summary', '--domain', 'x y', '--store', 'sqlite:/nonexistent.db'],
      /--domain "x y": not a domain name/,
    ],
  ] as const) {
    const result = await runProgram([...argv], env);
    assert.equal(result.exitCode, 2, argv.join(' '));
    assert.match(result.stderr, pattern);
  }
});
