import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { ProgramEnvironment } from '../src/program.js';
import { runProgram } from '../src/program.js';
import { defaultEximSettings, eximSettingsFromFlags } from '../src/exim-program.js';

const env: ProgramEnvironment = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

test('eximSettingsFromFlags: the defaults, and a flag wins over the base settings', () => {
  const defaults = defaultEximSettings('mx.test');
  assert.deepEqual(eximSettingsFromFlags({}, defaults), defaults);
  assert.equal(defaults.listen, 'inet:127.0.0.1:11333');
  assert.equal(defaults.inbound.enforce, false);
  const base = { ...defaults, dns: { servers: ['192.0.2.53'], timeoutMs: 1000 }, metrics: '127.0.0.1:9100' };
  const settings = eximSettingsFromFlags(
    {
      listen: 'unix:/run/m.sock',
      authservId: 'mx.example.net',
      dns: ['127.0.0.1:5353'],
      enforce: true,
      quarantine: 'header',
      onDnsFailure: 'accept',
    },
    base,
  );
  assert.deepEqual(settings, {
    listen: 'unix:/run/m.sock',
    authservId: 'mx.example.net',
    dns: { servers: ['127.0.0.1:5353'], timeoutMs: 1000 },
    inbound: { ...defaults.inbound, enforce: true, quarantine: 'header', onDnsFailure: 'accept' },
    metrics: '127.0.0.1:9100',
  });
  // No --dns: the base's servers stay.
  assert.deepEqual(eximSettingsFromFlags({ dns: [] }, base).dns.servers, ['192.0.2.53']);
});

test('mailward exim: bad flags are one-line usage errors (exit 2)', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['--listen', 'inet:127.0.0.1'],
      /^mailward exim: --listen "inet:127\.0\.0\.1" is not inet:HOST:PORT, inet:\[IPv6\]:PORT or unix:\/PATH\n$/,
    ],
    [
      ['--store', 'mysql://root@localhost/mail'],
      /^mailward exim: --store "mysql:\/\/root@localhost\/mail": mysql is not a supported store/,
    ],
    [['--local-policy', '/nonexistent/policy.yaml'], /^mailward exim: --local-policy .*nonexistent\/policy\.yaml.*\n$/],
    [['--quarantine', 'drop'], /^mailward: option '--quarantine <style>' argument 'drop' is invalid/],
    [['--dns', 'not a server'], /^mailward exim: --dns /],
  ];
  for (const [args, expected] of cases) {
    const result = await runProgram(['exim', ...args], env);
    assert.equal(result.exitCode, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, expected);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
  }
});

test('mailward exim: listens, answers, and stops on the stop signal with exit code 0', async () => {
  const lines: string[] = [];
  const stop = new AbortController();
  let listening: (line: string) => void = () => {};
  const started = new Promise<string>((resolve) => (listening = resolve));
  const running = runProgram(['exim', '--listen', 'inet:127.0.0.1:0', '--dns', '127.0.0.1:9'], {
    ...env,
    stopSignal: stop.signal,
    progress: (line) => {
      lines.push(line);
      if (line.startsWith('mailward exim listening on')) listening(line);
    },
  });
  const line = await started;
  assert.match(
    line,
    /^mailward exim listening on 127\.0\.0\.1:\d+ \(authserv-id mx\.test, dry run, DNS 127\.0\.0\.1:9\)$/,
  );
  const port = Number(/127\.0\.0\.1:(\d+) /.exec(line)![1]);
  // A request it cannot read: the reply is one Exim cannot parse (so Exim defers), then close.
  const reply = await new Promise<string>((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write('HELLO\r\n\r\n'));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(reply, /^RSPAMD\/1\.3 400 EX_PROTOCOL\r\n/);
  stop.abort();
  const result = await running;
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(lines.at(-1), 'mailward exim stopped');
  assert.ok(lines.some((l) => /bad request: request line "HELLO" is not "CHECK RSPAMC\/1\.x"$/.test(l)));
});

test('mailward exim --config: the exim section is the base (with its local policy), flags win over it', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'mailward-exim-config-'));
  try {
    const file = join(dir, 'mailward.yaml');
    await writeFile(
      file,
      [
        'authservId: mx.from-file.example',
        'exim:',
        '  listen: inet:127.0.0.1:0',
        '  dns: { servers: ["127.0.0.1:9"] }',
        '  inbound:',
        '    enforce: true',
        '    localPolicy:',
        '      trustedArcSealers: [google.com]',
        '',
      ].join('\n'),
    );
    const stop = new AbortController();
    let listening: (line: string) => void = () => {};
    const started = new Promise<string>((resolve) => (listening = resolve));
    const running = runProgram(['exim', '--config', file, '--authserv-id', 'mx.flag.example'], {
      ...env,
      stopSignal: stop.signal,
      progress: (line) => {
        if (line.startsWith('mailward exim listening on')) listening(line);
      },
    });
    const line = await started;
    assert.match(line, /\(authserv-id mx\.flag\.example, enforcing, DNS 127\.0\.0\.1:9\)$/);
    stop.abort();
    assert.equal((await running).exitCode, 0);

    await writeFile(file, 'exim:\n  inbound:\n    enforce: maybe\n');
    const bad = await runProgram(['exim', '--config', file], env);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /^mailward exim: .*mailward\.yaml:3:14: exim\.inbound\.enforce: expected true or false/);

    await writeFile(file, 'policy: {}\n');
    const none = await runProgram(['exim', '--config', file], env);
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /has no exim section/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
