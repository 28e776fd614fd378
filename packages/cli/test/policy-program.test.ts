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

test('SIGHUP reads --config again: new requests get the new actions; a broken file keeps the old ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-policy-reload-'));
  try {
    const zone = join(dir, 'zone.yaml');
    await writeFile(zone, 'example.com:\n  - TXT: "v=spf1 ip4:192.0.2.0/24 -all"\n');
    const file = join(dir, 'mailward.yaml');
    const withFail = (action: string) =>
      `policy:\n  listen: inet:127.0.0.1:0\n  receiver: mx.test\n  actions:\n    fail: ${action}\n`;
    await writeFile(file, withFail('reject'));
    const lines: string[] = [];
    const stop = new AbortController();
    let reload: () => void = () => {};
    let listening: (line: string) => void = () => {};
    const started = new Promise<string>((resolve) => (listening = resolve));
    const running = runProgram(['policy', '--config', file, '--dns-fixture', zone], {
      ...env,
      stopSignal: stop.signal,
      onReload: (listener) => (reload = listener),
      log: (line) => {
        lines.push(line);
        if (line.includes('listening on')) listening(line);
      },
    });
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(await started)![1]);
    const ask = async (instance: string) => {
      const { connect } = await import('node:net');
      const request = `request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=203.0.113.5\nhelo_name=h.example\nsender=a@example.com\nrecipient=b@example.org\ninstance=${instance}\n\n`;
      return new Promise<string>((resolve, reject) => {
        let text = '';
        const socket = connect(port, '127.0.0.1', () => socket.end(request));
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
    };
    const settled = async (pattern: RegExp) => {
      for (let i = 0; i < 100 && !lines.some((l) => pattern.test(l)); i++) await new Promise((r) => setTimeout(r, 20));
    };
    assert.match(await ask('1'), /^action=550 5\.7\.23 /);

    await writeFile(file, withFail('dunno'));
    reload();
    await settled(/settings reloaded/);
    assert.match(await ask('2'), /^action=DUNNO\n/);

    await writeFile(file, withFail('maybe'));
    reload();
    await settled(/reload failed/);
    assert.ok(
      lines.some((l) => /reload failed, keeping the previous settings: .*policy\.actions\.fail/.test(l)),
      lines.join('\n'),
    );
    assert.match(await ask('3'), /^action=DUNNO\n/);

    stop.abort();
    assert.equal((await running).exitCode, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
