import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runProgram } from '../src/program.js';

const fixture = fileURLToPath(new URL('../../../../docs/examples/zone.yaml', import.meta.url));
const env = { hostname: 'mx.receiver.example', readStdin: () => Promise.resolve(new Uint8Array()) };

test('spf --json gives the documented fields, the HELO check and Received-SPF', async () => {
  const out = await runProgram(
    [
      'spf',
      '--ip',
      '198.51.100.7',
      '--mail-from',
      'user@example.com',
      '--helo',
      'mx.example.org',
      '--json',
      '--dns-fixture',
      fixture,
    ],
    env,
  );
  assert.equal(out.exitCode, 0, out.stderr);
  const json = JSON.parse(out.stdout) as Record<string, unknown> & { helo: Record<string, unknown>; trace: unknown[] };
  assert.equal(json['result'], 'pass');
  assert.match(String(json['reason']), /include:_spf\.mailer\.example/);
  assert.equal(json['explanation'], null);
  assert.equal(json['lookups'], 2);
  assert.equal(json['voidLookups'], 0);
  assert.equal(json.trace.length, 4);
  assert.equal(json.helo['result'], 'fail');
  assert.match(String(json['receivedSpf']), /^Received-SPF: pass\r\n\t\(mx\.receiver\.example: /);
});

test('spf text output shows result, reason, explanation and the trace; exit 0 whatever the result', async () => {
  const out = await runProgram(
    ['spf', '--ip', '203.0.113.99', '--mail-from', 'user@example.com', '--dns-fixture', fixture],
    env,
  );
  assert.equal(out.exitCode, 0);
  assert.match(out.stdout, /^SPF for MAIL FROM user@example\.com from 203\.0\.113\.99: softfail$/m);
  assert.match(out.stdout, /lookup trace:/);
  assert.match(out.stdout, /1\. example\.com TXT: 1 record/);
});

test('the null reverse-path is checked as postmaster@HELO', async () => {
  const out = await runProgram(
    ['spf', '--ip', '203.0.113.25', '--mail-from', '', '--helo', 'mx.example.org', '--json', '--dns-fixture', fixture],
    env,
  );
  const json = JSON.parse(out.stdout) as Record<string, unknown>;
  assert.equal(json['result'], 'pass');
  assert.equal(json['domain'], 'mx.example.org');
});

test('a timeout is a temperror result, not a failure of the command', async () => {
  const out = await runProgram(
    ['spf', '--ip', '192.0.2.1', '--mail-from', 'a@slow.example', '--json', '--dns-fixture', fixture],
    env,
  );
  assert.equal(out.exitCode, 0);
  assert.equal((JSON.parse(out.stdout) as Record<string, unknown>)['result'], 'temperror');
});

test('bad arguments exit 2 with a message naming the problem; a missing fixture exits 1', async () => {
  const badIp = await runProgram(['spf', '--ip', '300.1.1.1', '--mail-from', 'a@b.example'], env);
  assert.equal(badIp.exitCode, 2);
  assert.match(badIp.stderr, /--ip "300\.1\.1\.1" is not an IPv4 or IPv6 address/);
  const missing = await runProgram(['spf', '--ip', '192.0.2.1'], env);
  assert.equal(missing.exitCode, 2);
  assert.match(missing.stderr, /--mail-from/);
  const badDns = await runProgram(
    ['spf', '--ip', '192.0.2.1', '--mail-from', 'a@b.example', '--dns', 'resolver.example'],
    env,
  );
  assert.equal(badDns.exitCode, 2);
  assert.match(badDns.stderr, /not an IP address/);
  const noFile = await runProgram(
    ['spf', '--ip', '192.0.2.1', '--mail-from', 'a@b.example', '--dns-fixture', '/nonexistent/zone.yaml'],
    env,
  );
  assert.equal(noFile.exitCode, 1);
  assert.match(noFile.stderr, /cannot open \/nonexistent\/zone\.yaml: no such file or directory \(ENOENT\)/);
  const nullNoHelo = await runProgram(['spf', '--ip', '192.0.2.1', '--mail-from', ''], env);
  assert.equal(nullNoHelo.exitCode, 2);
});
