import { test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY_ACTIONS } from '@mailward/milter';
import type { ProgramEnvironment } from '../src/program.js';
import { runProgram } from '../src/program.js';
import { defaultPolicySettings, policySettingsFromFlags } from '../src/policy-program.js';

const env: ProgramEnvironment = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

test('no flags: the base settings unchanged (defaults: policyd-spf actions, HELO on, host name as receiver)', () => {
  const base = defaultPolicySettings('mx.test');
  assert.deepEqual(policySettingsFromFlags({}, base), { ok: true, settings: base });
  assert.equal(base.receiver, 'mx.test');
  assert.equal(base.listen, 'inet:127.0.0.1:10040');
  assert.deepEqual(base.actions, DEFAULT_POLICY_ACTIONS);
});

test('flags override only what they name, over a base from elsewhere (the YAML file)', () => {
  const base = {
    ...defaultPolicySettings('mx.test'),
    skipHosts: ['10.0.0.0/8'],
    dns: { servers: ['192.0.2.53'], timeoutMs: 2000 },
  };
  const built = policySettingsFromFlags(
    {
      listen: 'unix:/run/mailward/policy.sock',
      receiver: 'mx1.example',
      dns: ['127.0.0.1:5353'],
      helo: false,
      softfail: 'REJECT',
      temperror: 'dunno',
      skipHosts: '192.0.2.0/24, 2001:db8::/32,',
      skipAuthenticated: false,
      cacheTtl: 0,
    },
    base,
  );
  assert.ok(built.ok);
  assert.deepEqual(built.settings, {
    ...base,
    listen: 'unix:/run/mailward/policy.sock',
    receiver: 'mx1.example',
    dns: { servers: ['127.0.0.1:5353'], timeoutMs: 2000 },
    helo: false,
    actions: { ...DEFAULT_POLICY_ACTIONS, softfail: 'reject', temperror: 'dunno' },
    skipHosts: ['192.0.2.0/24', '2001:db8::/32'],
    skipAuthenticated: false,
    cache: { ttlSeconds: 0, maxEntries: 10_000 },
  });
  assert.deepEqual(policySettingsFromFlags({ fail: 'drop' }, base), {
    ok: false,
    reason: '--fail drop: use reject, defer, prepend, dunno',
  });
});

test('bad flags are one line with exit code 2, before anything listens', async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['--fail', 'drop'],
      /^mailward: option '--fail <action>' argument 'drop' is invalid\. Allowed choices are reject, defer, prepend, dunno\. \(see --help\)\n$/,
    ],
    [['--skip-hosts', '10/8'], /^mailward policy: skip hosts: "10\/8" is not an IP address or CIDR network\n$/],
    [
      ['--listen', 'tcp:1'],
      /^mailward policy: policy address "tcp:1": unknown transport \(use inet:HOST:PORT or unix:PATH\)\n$/,
    ],
    [
      ['--cache-ttl', '-1'],
      /^mailward: option '--cache-ttl <seconds>' argument '-1' is invalid\. must be a whole number, 0 or more \(see --help\)\n$/,
    ],
    [['--dns', 'not a server'], /^mailward policy: --dns /],
  ];
  for (const [args, expected] of cases) {
    const result = await runProgram(['policy', '--listen', 'inet:127.0.0.1:0', ...args], env);
    assert.equal(result.exitCode, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, expected);
  }
});

test('starts, says where it listens, stops when the stop signal fires', async () => {
  const lines: string[] = [];
  const stop = new AbortController();
  const running = runProgram(['policy', '--listen', 'inet:127.0.0.1:0', '--dns', '127.0.0.1:9'], {
    ...env,
    progress: (line) => {
      lines.push(line);
      if (line.includes('listening on')) stop.abort();
    },
    stopSignal: stop.signal,
  });
  const result = await running;
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(
    lines[0] ?? '',
    /^mailward policy: listening on inet:127\.0\.0\.1:\d+ \(DNS 127\.0\.0\.1:9, receiver mx\.test\)$/,
  );
  assert.equal(lines.at(-1), 'mailward policy: stopped');
});

test('--config: the policy section of mailward.yaml is the base, flags override it; its errors are named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-policy-config-'));
  try {
    const good = join(dir, 'mailward.yaml');
    await writeFile(good, 'policy:\n  receiver: mx.file.example\n  skipHosts: [10.0.0.0/8]\n');
    const lines: string[] = [];
    const stop = new AbortController();
    const result = await runProgram(
      ['policy', '--config', good, '--listen', 'inet:127.0.0.1:0', '--dns', '127.0.0.1:9'],
      {
        ...env,
        progress: (line) => {
          lines.push(line);
          if (line.includes('listening on')) stop.abort();
        },
        stopSignal: stop.signal,
      },
    );
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(
      lines[0] ?? '',
      /^mailward policy: listening on inet:127\.0\.0\.1:\d+ \(DNS 127\.0\.0\.1:9, receiver mx\.file\.example\)$/,
    );

    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'policy:\n  skipHost: [10.0.0.0/8]\n');
    const refused = await runProgram(['policy', '--config', bad], env);
    assert.equal(refused.exitCode, 1);
    assert.match(
      refused.stderr,
      /^mailward policy: .*bad\.yaml:2:3: policy\.skipHost: unknown key \(did you mean skipHosts\?\)\n$/,
    );

    const other = join(dir, 'exim-only.yaml');
    await writeFile(other, 'exim: {}\n');
    const none = await runProgram(['policy', '--config', other], env);
    assert.equal(none.exitCode, 2, none.stderr);
    assert.equal(none.stderr, `mailward policy: ${other} has no policy section\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
