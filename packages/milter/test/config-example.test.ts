// docs/examples/mailward.yaml, the documented example with every key, must parse to exactly these
// settings; and the resolved settings, written back as YAML, must be a valid file that parses to
// the same settings (the file's shape and settings.ts's stay one shape).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { formatConfigError, parseConfig } from '../src/index.js';
import type { MailwardConfig } from '../src/index.js';

const EXAMPLE = fileURLToPath(new URL('../../../../docs/examples/mailward.yaml', import.meta.url));
const OPTIONS = { baseDir: '/etc/mailward', hostname: 'unused.test' };

function parsed(text: string): MailwardConfig {
  const result = parseConfig(text, 'mailward.yaml', OPTIONS);
  assert.ok(result.ok, result.ok ? '' : result.errors.map(formatConfigError).join('\n'));
  return result.config;
}

const SHARED_LOCAL_POLICY = {
  trustedArcSealers: ['google.com'],
  trustedForwarders: { ips: ['192.0.2.0/24'], domains: ['forwarder.example'] },
  mailingLists: ['dev.lists.example.org', { listId: 'announce.example.net', domain: 'lists.example.net' }],
  actions: { reject: 'quarantine' },
};

// sha256 of "example-token-do-not-use", the example's token.
const EXAMPLE_TOKEN_SHA256 = '3690a4a2ed3b26b46a696e9ab873a300d9da3ae56bc84352e2bf724885c91dfd';

const EXPECTED: MailwardConfig = {
  milter: {
    listen: 'inet:127.0.0.1:8894',
    authservId: 'mx.example.com',
    dns: { servers: ['127.0.0.1:53', '[::1]:53'], timeoutMs: 2000 },
    internalHosts: ['127.0.0.0/8', '::1/128', '10.0.0.0/8'],
    outboundDaemons: ['ORIGINATING'],
    signing: {
      keys: [
        { domain: 'example.com', selector: 's2026', keyFile: '/etc/mailward/keys/example.com.s2026.pem' },
        { domain: 'example.com', selector: 'ed2026', keyFile: '/etc/mailward/keys/example.com.ed2026.pem' },
        { domain: 'example.org', selector: 'mail', keyFile: '/etc/mailward/keys/example.org.pem' },
      ],
      rules: [
        { from: 'example.com', keys: ['example.com:s2026', 'example.com:ed2026'] },
        { from: '*.example.com', keys: ['example.com:s2026'] },
        { from: 'example.org', keys: ['example.org:mail'] },
      ],
    },
    inbound: {
      enforce: true,
      onDnsFailure: 'tempfail',
      quarantine: 'hold',
      domains: { 'partner.example': { enforce: false }, 'bank.example': { quarantine: 'header' } },
      localPolicy: SHARED_LOCAL_POLICY,
    },
    arcSeal: { domain: 'example.com', selector: 'arc2026', keyFile: '/etc/mailward/keys/example.com.arc2026.pem' },
    store: '/etc/mailward/verdicts.sqlite',
    metrics: '127.0.0.1:9894',
    metricsTokenSha256: EXAMPLE_TOKEN_SHA256,
  },
  policy: {
    listen: 'inet:127.0.0.1:10040',
    receiver: 'mx.example.com',
    dns: { servers: ['127.0.0.1:53'], timeoutMs: 3000 },
    helo: true,
    actions: {
      fail: 'reject',
      softfail: 'prepend',
      neutral: 'prepend',
      none: 'prepend',
      pass: 'prepend',
      temperror: 'defer',
      permerror: 'prepend',
    },
    skipHosts: ['127.0.0.0/8', '::1/128', '192.0.2.25'],
    skipAuthenticated: true,
    cache: { ttlSeconds: 60, maxEntries: 10000 },
    metrics: '127.0.0.1:9895',
    metricsTokenSha256: EXAMPLE_TOKEN_SHA256,
  },
  exim: {
    listen: 'inet:127.0.0.1:11333',
    authservId: 'mx.example.com',
    dns: { servers: ['127.0.0.1:53', '[::1]:53'], timeoutMs: 2500 },
    inbound: {
      enforce: false,
      onDnsFailure: 'accept',
      quarantine: 'header',
      domains: {},
      localPolicy: { trustedForwarders: { ips: ['2001:db8::/32'] } },
    },
    store: 'postgres://mailward@127.0.0.1/mailward',
    metrics: '[::1]:9896',
    metricsTokenSha256: EXAMPLE_TOKEN_SHA256,
  },
};

test('the documented example parses to the expected settings', () => {
  assert.deepEqual(parsed(readFileSync(EXAMPLE, 'utf8')), EXPECTED);
});

test('resolved settings written back as YAML are a valid file with the same settings', () => {
  const settings = parsed(readFileSync(EXAMPLE, 'utf8'));
  assert.deepEqual(parsed(stringify(settings)), settings);
});

test('every top-level key of the example has a comment above it', () => {
  const lines = readFileSync(EXAMPLE, 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (/^(milter|policy|exim|authservId|localPolicy|dns):/.test(line)) {
      assert.match(lines[i - 1] ?? '', /^#/, `line ${i + 1} (${line}) has no comment above it`);
    }
  }
});
