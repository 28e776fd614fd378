// parseConfig's errors, one kind per test, each with the exact line:column an admin is sent to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfigError, parseConfig } from '../src/index.js';
import type { MailwardConfig } from '../src/index.js';

const OPTIONS = { baseDir: '/etc/mailward', hostname: 'host.test' };

/** The formatted errors of a file that must not parse. */
function errorsOf(text: string): string[] {
  const parsed = parseConfig(text, 'mailward.yaml', OPTIONS);
  assert.equal(parsed.ok, false, 'expected errors');
  return parsed.ok ? [] : parsed.errors.map(formatConfigError);
}

function configOf(text: string): MailwardConfig {
  const parsed = parseConfig(text, 'mailward.yaml', OPTIONS);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.map(formatConfigError).join('\n'));
  return parsed.config;
}

test('a bad enum value names the allowed values and the value written', () => {
  assert.deepEqual(errorsOf('milter:\n  inbound:\n    quarantine: holdd\n'), [
    'mailward.yaml:3:17: milter.inbound.quarantine: expected hold or header, got "holdd"',
  ]);
  assert.deepEqual(errorsOf('policy:\n  actions: { fail: rejct }\n'), [
    'mailward.yaml:2:20: policy.actions.fail: expected reject, defer, prepend or dunno, got "rejct"',
  ]);
});

test('an unknown key is reported at the key, with the closest known key', () => {
  assert.deepEqual(errorsOf('milter:\n  inbound:\n    quarantin: hold\n'), [
    'mailward.yaml:3:5: milter.inbound.quarantin: unknown key (did you mean quarantine?)',
  ]);
  assert.deepEqual(errorsOf('policy:\n  skipHost: []\n'), [
    'mailward.yaml:2:3: policy.skipHost: unknown key (did you mean skipHosts?)',
  ]);
  // Nothing close: the known keys are listed instead.
  assert.deepEqual(errorsOf('exim:\n  colour: blue\n'), [
    'mailward.yaml:2:3: exim.colour: unknown key (expected one of listen, authservId, dns, inbound, store, metrics)',
  ]);
  assert.deepEqual(errorsOf('miltr: {}\n'), ['mailward.yaml:1:1: miltr: unknown key (did you mean milter?)']);
});

test('wrong types say what was expected and what the file has', () => {
  assert.deepEqual(errorsOf('milter:\n  inbound:\n    enforce: "yes"\n'), [
    'mailward.yaml:3:14: milter.inbound.enforce: expected true or false, got "yes"',
  ]);
  assert.deepEqual(errorsOf('milter:\n  internalHosts: 10.0.0.0/8\n'), [
    'mailward.yaml:2:18: milter.internalHosts: expected a list, got "10.0.0.0/8"',
  ]);
  assert.deepEqual(errorsOf('dns:\n  timeoutMs: 2.5\n'), [
    'mailward.yaml:2:14: dns.timeoutMs: expected a whole number, got 2.5',
  ]);
  assert.deepEqual(errorsOf('policy:\n  cache: { ttlSeconds: -1 }\n'), [
    'mailward.yaml:2:24: policy.cache.ttlSeconds: expected 0 or more, got -1',
  ]);
  assert.deepEqual(errorsOf('milter:\n  arcSeal: { domain: example.com, selector: 2026, keyFile: k.pem }\n'), [
    'mailward.yaml:2:45: milter.arcSeal.selector: expected text, got 2026 (write it in quotes: "2026")',
  ]);
  assert.deepEqual(errorsOf('- milter\n'), ['mailward.yaml:1:1: expected a mapping of keys to values, got a list']);
});

test('a missing required key is reported at the entry that lacks it', () => {
  assert.deepEqual(errorsOf('milter:\n  signing:\n    keys:\n      - domain: example.com\n        keyFile: k.pem\n'), [
    'mailward.yaml:4:9: milter.signing.keys[0].selector: missing (expected text)',
  ]);
});

test('the key path of a list entry names its index', () => {
  const text = [
    'milter:',
    '  signing:',
    '    keys:',
    '      - { domain: example.com, selector: s1, keyFile: a.pem }',
    '      - { domain: example.com, selector: "bad selector", keyFile: b.pem }',
    '',
  ].join('\n');
  assert.deepEqual(errorsOf(text), [
    'mailward.yaml:5:42: milter.signing.keys[1].selector: "bad selector" is not a domain name: use letters, digits, hyphens and dots (the xn-- form for international names)',
  ]);
});

test('bad networks: an address core cannot parse, a prefix out of range', () => {
  assert.deepEqual(errorsOf('milter:\n  internalHosts: [10.0.0.0/33, 300.1.1.1, "2001:db8::/129", "::1"]\n'), [
    'mailward.yaml:2:19: milter.internalHosts[0]: "10.0.0.0/33" has a prefix length outside 0..32',
    'mailward.yaml:2:32: milter.internalHosts[1]: "300.1.1.1" is not an IPv4 or IPv6 address or network',
    'mailward.yaml:2:43: milter.internalHosts[2]: "2001:db8::/129" has a prefix length outside 0..128',
  ]);
  assert.deepEqual(errorsOf('policy:\n  skipHosts:\n    - 192.0.2.010\n'), [
    'mailward.yaml:3:7: policy.skipHosts[0]: "192.0.2.010" is not an IPv4 or IPv6 address or network',
  ]);
});

test('bad listen specs and HOST:PORT values', () => {
  assert.deepEqual(errorsOf('milter:\n  listen: inet:127.0.0.1\n'), [
    'mailward.yaml:2:11: milter.listen: "inet:127.0.0.1": no port (use inet:HOST:PORT or unix:PATH)',
  ]);
  assert.deepEqual(errorsOf('policy:\n  listen: tcp:127.0.0.1:10040\n'), [
    'mailward.yaml:2:11: policy.listen: "tcp:127.0.0.1:10040": unknown transport (use inet:HOST:PORT or unix:PATH)',
  ]);
  assert.deepEqual(errorsOf('exim:\n  listen: inet:127.0.0.1:99999\n  metrics: localhost\n'), [
    'mailward.yaml:2:11: exim.listen: "inet:127.0.0.1:99999": port "99999" is not 0-65535 (use inet:HOST:PORT or unix:PATH)',
    'mailward.yaml:3:12: exim.metrics: "localhost" is not HOST:PORT (use [ADDRESS]:PORT for IPv6)',
  ]);
  assert.deepEqual(errorsOf('dns:\n  servers: ["2001:db8::1", "[2001:db8::1]:5353", "ns:x"]\n'), [
    'mailward.yaml:2:50: dns.servers[2]: "ns:x" is not HOST:PORT (use [ADDRESS]:PORT for IPv6)',
  ]);
});

test('a signing rule naming a key that does not exist', () => {
  const text = [
    'milter:',
    '  signing:',
    '    keys:',
    '      - { domain: example.com, selector: s2026, keyFile: a.pem }',
    '    rules:',
    '      - from: example.com',
    '        keys: [example.com:s2026, example.com:s2025]',
    '',
  ].join('\n');
  assert.deepEqual(errorsOf(text), [
    'mailward.yaml:7:35: milter.signing.rules[0].keys[1]: no key "example.com:s2025" in milter.signing.keys (have example.com:s2026)',
  ]);
  assert.deepEqual(errorsOf('milter:\n  signing:\n    rules:\n      - { from: "*", keys: [a.example:s] }\n'), [
    'mailward.yaml:4:29: milter.signing.rules[0].keys[0]: no key "a.example:s" in milter.signing.keys (there are none)',
  ]);
});

test('a key listed twice and rules that can never apply', () => {
  const text = [
    'milter:',
    '  signing:',
    '    keys:',
    '      - { domain: example.com, selector: s1, keyFile: a.pem }',
    '      - { domain: Example.com, selector: S1, keyFile: b.pem }',
    '    rules:',
    '      - { from: "*", keys: [example.com:s1] }',
    '      - { from: example.com, keys: [example.com:s1] }',
    '',
  ].join('\n');
  assert.deepEqual(errorsOf(text), [
    'mailward.yaml:5:9: milter.signing.keys[1]: example.com:s1 is already milter.signing.keys[0]',
    'mailward.yaml:8:17: milter.signing.rules[1].from: never applies: milter.signing.rules[0] ("*") matches every domain first',
  ]);
});

test('duplicate keys: yaml reports them, with the path and the first line', () => {
  assert.deepEqual(errorsOf('milter:\n  listen: inet:127.0.0.1:1\n  listen: inet:127.0.0.1:2\n'), [
    'mailward.yaml:3:3: milter.listen: set twice (first on line 2); YAML keys must be unique',
  ]);
});

test('YAML syntax errors carry their line', () => {
  assert.deepEqual(errorsOf('milter:\n  listen: "inet:127.0.0.1:1\n'), [
    'mailward.yaml:3:1: YAML syntax: Missing closing "quote',
  ]);
  assert.deepEqual(errorsOf('milter:\n  listen: x\n policy: {}\n'), [
    'mailward.yaml:3:1: YAML syntax: All mapping items must start at the same column',
  ]);
  assert.deepEqual(errorsOf('milter:\n  inbound:\n    quarantine: *style\n'), [
    'mailward.yaml:3:17: YAML alias *style has no anchor &style before it',
  ]);
});

test('the embedded local policy is checked by parseLocalPolicy, its reason placed in the file', () => {
  const text = [
    'localPolicy:',
    '  trustedForwarders:',
    '    ips: [192.0.2.0/24, 198.51.100.0/40]',
    'milter: {}',
    'exim: {}',
    '',
  ].join('\n');
  // Shared by both sections, reported once.
  assert.deepEqual(errorsOf(text), [
    'mailward.yaml:3:25: localPolicy.trustedForwarders.ips[1]: "198.51.100.0/40" has a prefix outside 0..32',
  ]);
  assert.deepEqual(errorsOf('exim:\n  inbound:\n    localPolicy:\n      trustedArcSealer: [google.com]\n'), [
    'mailward.yaml:4:7: exim.inbound.localPolicy.trustedArcSealer: unknown key (expected one of trustedArcSealers, trustedForwarders, mailingLists, actions)',
  ]);
  assert.deepEqual(errorsOf('milter:\n  inbound:\n    localPolicy: [a]\n'), [
    'mailward.yaml:3:18: milter.inbound.localPolicy: local policy: expected a mapping of keys to values',
  ]);
});

test('per-domain inbound settings: keys are domain names, compared without case', () => {
  assert.deepEqual(
    errorsOf('milter:\n  inbound:\n    domains:\n      "bad domain": {}\n      A.example: {}\n      a.example.: {}\n'),
    [
      'mailward.yaml:4:7: milter.inbound.domains["bad domain"]: "bad domain" is not a domain name: use letters, digits, hyphens and dots (the xn-- form for international names)',
      'mailward.yaml:6:7: milter.inbound.domains["a.example."]: the same domain as "A.example" (names are compared without case)',
    ],
  );
  assert.deepEqual(
    configOf('milter:\n  inbound:\n    domains:\n      Bank.Example.: { quarantine: header }\n').milter?.inbound
      .domains,
    {
      'bank.example': { quarantine: 'header' },
    },
  );
});

test('an empty file, or one with no section, configures nothing and says so', () => {
  assert.deepEqual(errorsOf(''), ['mailward.yaml:1:1: no service configured: add a milter, policy or exim section']);
  assert.deepEqual(errorsOf('authservId: mx.example.com\n'), [
    'mailward.yaml:1:1: no service configured: add a milter, policy or exim section',
  ]);
});

test('several errors come in the order of the file', () => {
  const errors = errorsOf('policy:\n  helo: 1\nmilter:\n  listen: x\n  store: ""\n');
  assert.deepEqual(
    errors.map((line) => line.split(': ')[0]),
    ['mailward.yaml:2:9', 'mailward.yaml:4:11', 'mailward.yaml:5:10'],
  );
});

test('a section with nothing under it runs with the defaults of settings.ts', () => {
  const config = configOf('milter:\npolicy:\nexim:\n');
  assert.deepEqual(config.milter, {
    listen: 'inet:127.0.0.1:8894',
    authservId: 'host.test',
    dns: { servers: [], timeoutMs: 3000 },
    internalHosts: ['127.0.0.0/8', '::1/128'],
    signing: { keys: [], rules: [] },
    inbound: { enforce: false, onDnsFailure: 'tempfail', quarantine: 'hold', domains: {} },
  });
  assert.deepEqual(config.policy, {
    listen: 'inet:127.0.0.1:10040',
    receiver: 'host.test',
    dns: { servers: [], timeoutMs: 3000 },
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
    skipHosts: ['127.0.0.0/8', '::1/128'],
    skipAuthenticated: true,
    cache: { ttlSeconds: 60, maxEntries: 10000 },
  });
  assert.equal(config.exim?.listen, 'inet:127.0.0.1:11333');
});

test('shared keys apply to every section that does not set its own; dns merges field by field', () => {
  const config = configOf(
    [
      'authservId: mx.example.com',
      'dns: { servers: [127.0.0.1:5353], timeoutMs: 1000 }',
      'milter: { dns: { timeoutMs: 2000 } }',
      'policy: {}',
      'exim: { authservId: exim.example.com, dns: { servers: [] } }',
      '',
    ].join('\n'),
  );
  assert.equal(config.milter?.authservId, 'mx.example.com');
  assert.deepEqual(config.milter?.dns, { servers: ['127.0.0.1:5353'], timeoutMs: 2000 });
  assert.equal(config.policy?.receiver, 'mx.example.com');
  assert.deepEqual(config.policy?.dns, { servers: ['127.0.0.1:5353'], timeoutMs: 1000 });
  assert.equal(config.exim?.authservId, 'exim.example.com');
  assert.deepEqual(config.exim?.dns, { servers: [], timeoutMs: 1000 });
});

test('without a host name or an authservId the milter section says what to set', () => {
  const parsed = parseConfig('milter:\n  listen: inet:127.0.0.1:1\n', 'm.yaml', {});
  assert.equal(parsed.ok, false);
  assert.deepEqual(parsed.ok ? [] : parsed.errors.map(formatConfigError), [
    'm.yaml:2:3: milter: missing authservId: set milter.authservId or the top-level authservId',
  ]);
});

test('paths are relative to the file; absolute paths and store URLs stay', () => {
  const config = configOf(
    [
      'milter:',
      '  signing:',
      '    keys:',
      '      - { domain: a.example, selector: s, keyFile: keys/a.pem }',
      '      - { domain: b.example, selector: s, keyFile: /srv/keys/b.pem }',
      '  arcSeal: { domain: a.example, selector: arc, keyFile: ../arc.pem }',
      '  store: verdicts.sqlite',
      'exim:',
      '  store: postgres://mailward@127.0.0.1/mailward',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    config.milter?.signing.keys.map((key) => key.keyFile),
    ['/etc/mailward/keys/a.pem', '/srv/keys/b.pem'],
  );
  assert.equal(config.milter?.arcSeal?.keyFile, '/etc/arc.pem');
  assert.equal(config.milter?.store, '/etc/mailward/verdicts.sqlite');
  assert.equal(config.exim?.store, 'postgres://mailward@127.0.0.1/mailward');
});

test('the key files named are listed with their place, for the runtime to check', () => {
  const parsed = parseConfig(
    'milter:\n  signing:\n    keys:\n      - domain: a.example\n        selector: s\n        keyFile: a.pem\n',
    'mailward.yaml',
    OPTIONS,
  );
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.keyFiles, [
    { path: 'milter.signing.keys[0].keyFile', file: '/etc/mailward/a.pem', line: 6, column: 18 },
  ]);
});

test('alias expansion is bounded (a "billion laughs" file is an error, not a hang)', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i += 1) {
    const previous = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    lines.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`);
  }
  const errors = errorsOf(`${lines.join('\n')}\n`);
  assert.equal(errors.length, 1);
  assert.match(errors[0] ?? '', /^mailward\.yaml:1:1: .*alias/i);
});
