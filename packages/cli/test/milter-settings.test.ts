// `mailward milter` flags → MilterSettings: one function a configuration file can feed as the
// base, flags overriding it; syntax errors name the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DNS, DEFAULT_INBOUND, type MilterSettings } from '@mailward/milter';
import { milterSettingsFromFlags } from '../src/milter-program.js';
import { runProgram, type ProgramEnvironment } from '../src/program.js';

const base: MilterSettings = {
  listen: 'inet:127.0.0.1:8894',
  authservId: 'mx.base.example',
  dns: DEFAULT_DNS,
  internalHosts: ['127.0.0.0/8'],
  signing: {
    keys: [{ domain: 'base.example', selector: 'b1', keyFile: '/keys/b1.pem' }],
    rules: [{ from: 'base.example', keys: ['base.example:b1'] }],
  },
  inbound: { ...DEFAULT_INBOUND, quarantine: 'header' },
  metrics: '127.0.0.1:9108',
};

test('no flags: the base as it is', () => {
  const result = milterSettingsFromFlags({}, base);
  assert.ok(result.ok);
  assert.deepEqual(result.settings, base);
});

test('--sign adds a key and rules for the domain and its subdomains; several keys for one domain all sign', () => {
  const result = milterSettingsFromFlags(
    { sign: ['example.org:rsa:/k/rsa.pem', 'Example.org:ed:/k/ed.pem', 'other.example:s:/k/C:/odd:name.pem'] },
    base,
  );
  assert.ok(result.ok);
  assert.deepEqual(result.settings.signing, {
    keys: [
      { domain: 'example.org', selector: 'rsa', keyFile: '/k/rsa.pem' },
      { domain: 'Example.org', selector: 'ed', keyFile: '/k/ed.pem' },
      // A key file path may contain colons: everything after the second one.
      { domain: 'other.example', selector: 's', keyFile: '/k/C:/odd:name.pem' },
    ],
    rules: [
      { from: 'example.org', keys: ['example.org:rsa', 'Example.org:ed'] },
      { from: '*.example.org', keys: ['example.org:rsa', 'Example.org:ed'] },
      { from: 'other.example', keys: ['other.example:s'] },
      { from: '*.other.example', keys: ['other.example:s'] },
    ],
  });
});

test('flags override the base, the rest of the base stays', () => {
  const result = milterSettingsFromFlags(
    {
      listen: 'unix:/run/mailward/milter.sock',
      authservId: 'mx.flags.example',
      dns: ['127.0.0.1:5353'],
      dnsTimeout: 1500,
      internalHosts: '10.0.0.0/8, 192.0.2.0/24,',
      enforce: true,
      onDnsFailure: 'accept',
      onError: 'accept',
      localPolicy: { trustedForwarders: [] },
      arcSeal: 'own.example:arc:/k/arc.pem',
    },
    base,
  );
  assert.ok(result.ok);
  const s = result.settings;
  assert.equal(s.listen, 'unix:/run/mailward/milter.sock');
  assert.equal(s.authservId, 'mx.flags.example');
  assert.deepEqual(s.dns, { servers: ['127.0.0.1:5353'], timeoutMs: 1500 });
  assert.deepEqual(s.internalHosts, ['10.0.0.0/8', '192.0.2.0/24']);
  assert.equal(s.inbound.enforce, true);
  assert.equal(s.inbound.onDnsFailure, 'accept');
  assert.equal(s.inbound.quarantine, 'header', 'kept from the base');
  assert.deepEqual(s.inbound.localPolicy, { trustedForwarders: [] });
  assert.equal(s.onError, 'accept');
  assert.deepEqual(s.arcSeal, { domain: 'own.example', selector: 'arc', keyFile: '/k/arc.pem' });
  assert.deepEqual(s.signing, base.signing);
  assert.equal(s.metrics, '127.0.0.1:9108');
});

test('syntax errors name the flag and the value', () => {
  const cases: Array<[Parameters<typeof milterSettingsFromFlags>[0], string, RegExp]> = [
    [{ sign: ['example.org:rsa'] }, '--sign', /"example\.org:rsa" is not DOMAIN:SELECTOR:KEYFILE/],
    [{ sign: ['a.example:s:/1.pem', 'A.example:S:/2.pem'] }, '--sign', /a\.example:s.*twice|A\.example:S.*twice/],
    [{ arcSeal: 'x' }, '--arc-seal', /"x" is not DOMAIN:SELECTOR:KEYFILE/],
    [{ listen: 'inet:host' }, '--listen', /no port/],
  ];
  for (const [flags, flag, reason] of cases) {
    const result = milterSettingsFromFlags(flags, base);
    assert.ok(!result.ok, JSON.stringify(flags));
    assert.equal(result.flag, flag);
    assert.match(result.reason, reason);
  }
});

test('runProgram: a start-up error is a result (exit code, one line), not a crash', async () => {
  const env: ProgramEnvironment = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
  const missing = await runProgram(
    ['milter', '--listen', 'inet:127.0.0.1:0', '--sign', 'own.example:s1:/nonexistent/key.pem'],
    env,
  );
  assert.equal(missing.exitCode, 1);
  assert.match(missing.stderr, /^mailward milter: --sign: signing key own\.example:s1: .*\/nonexistent\/key\.pem/);
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  const bad = await runProgram(['milter', '--internal-hosts', '300.0.0.0/8', '--listen', 'inet:127.0.0.1:0'], env);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /--internal-hosts: .*"300\.0\.0\.0\/8"/);
  // Without a stop signal the command starts, logs, and ends at once (the test environment).
  const runs = await runProgram(['milter', '--listen', 'inet:127.0.0.1:0', '--dns', '127.0.0.1:1'], env);
  assert.equal(runs.exitCode, 0, runs.stderr);
  assert.match(runs.stderr, /milter: listening on inet:127\.0\.0\.1:\d+ /);
  assert.match(runs.stderr, /milter: stopped/);
});

test('--config: the milter section is the base, flags override it; errors name the file, line and key', async () => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'mailward-milter-config-'));
  try {
    const env: ProgramEnvironment = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
    const good = join(dir, 'good.yaml');
    await writeFile(
      good,
      'authservId: mx.file.example\nmilter:\n  listen: inet:127.0.0.1:0\n  inbound:\n    enforce: true\n',
    );
    const runs = await runProgram(['milter', '--config', good, '--quarantine', 'header'], env);
    assert.equal(runs.exitCode, 0, runs.stderr);
    assert.match(runs.stderr, /authserv-id mx\.file\.example; no signing keys; enforce; quarantine header;/);
    const noSection = join(dir, 'policy-only.yaml');
    await writeFile(noSection, 'policy:\n  receiver: mx.test\n');
    const missing = await runProgram(['milter', '--config', noSection], env);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /has no milter section/);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'milter:\n  inbound:\n    quarantine: holdd\n');
    const invalid = await runProgram(['milter', '--config', bad], env);
    assert.equal(invalid.exitCode, 1);
    assert.match(invalid.stderr, /bad\.yaml:3:17: milter\.inbound\.quarantine: expected hold or header/);
    // Several problems: one line each, as `mailward config check` prints them.
    await writeFile(bad, 'milter:\n  inbound:\n    quarantine: holdd\n    enforce: maybe\n');
    const two = await runProgram(['milter', '--config', bad], env);
    assert.deepEqual(
      two.stderr
        .trimEnd()
        .split('\n')
        .map((line) => line.replace(/ .*/, '')),
      ['mailward', 'mailward'],
    );
    assert.match(two.stderr, /^mailward milter: .*:3:17: .*\nmailward milter: .*:4:14: milter\.inbound\.enforce/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
