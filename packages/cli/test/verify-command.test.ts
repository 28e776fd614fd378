import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProgram } from '../src/program.js';

const examples = (name: string): string => fileURLToPath(new URL(`../../../../docs/examples/${name}`, import.meta.url));
const fixture = examples('zone.yaml');
const env = (stdin: Uint8Array = new Uint8Array()) => ({
  hostname: 'mx.test',
  readStdin: () => Promise.resolve(stdin),
});
const base = ['--mail-from', 'joe@example.com', '--authserv-id', 'mx.receiver.example', '--dns-fixture', fixture];

test('mailward verify: the example message passes SPF, both DKIM signatures and DMARC', async () => {
  const out = await runProgram(
    ['verify', examples('signed.eml'), '--ip', '198.51.100.7', '--helo', 'mx.example.org', ...base],
    env(),
  );
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(out.stdout, /^SPF {3}pass \(MAIL FROM example\.com\)/);
  assert.match(
    out.stdout,
    /DMARC pass, disposition none \(From domain example\.com, policy from _dmarc\.example\.com\)/,
  );
  assert.match(out.stdout, /^Authentication-Results: mx\.receiver\.example;$/m);
  assert.match(out.stdout, /^Received-SPF: pass$/m);
});

test('mailward verify --json: a changed message from a foreign IP fails DMARC with disposition reject', async () => {
  const changed = Buffer.from((await readFile(examples('signed.eml'), 'latin1')).replace('Friday', 'Monday'), 'latin1');
  const out = await runProgram(['verify', '--ip', '203.0.113.5', '--json', ...base], env(changed));
  assert.equal(out.exitCode, 0, out.stderr);
  const json = JSON.parse(out.stdout) as {
    spf: { result: string };
    dkim: { result: string }[];
    arc: { result: string };
    dmarc: { result: string; disposition: string; policyDomain: string; reasons: string[] };
    headers: { authenticationResults: string; receivedSpf: string };
  };
  assert.equal(json.spf.result, 'softfail');
  assert.deepEqual(
    json.dkim.map((d) => d.result),
    ['fail', 'fail'],
  );
  assert.equal(json.arc.result, 'none');
  assert.deepEqual(
    [json.dmarc.result, json.dmarc.disposition, json.dmarc.policyDomain],
    ['fail', 'reject', 'example.com'],
  );
  assert.match(json.headers.authenticationResults, /dmarc=fail \(p=reject dis=reject\)/);
});

test('mailward verify: bad --ip and a null MAIL FROM without --helo are usage errors', async () => {
  assert.equal((await runProgram(['verify', examples('signed.eml'), '--ip', 'nope', ...base], env())).exitCode, 2);
  const nullPath = await runProgram(
    ['verify', examples('signed.eml'), '--ip', '192.0.2.1', '--mail-from', '', '--dns-fixture', fixture],
    env(),
  );
  assert.equal(nullPath.exitCode, 2);
  assert.match(nullPath.stderr, /give --helo/);
});

test('mailward verify --local-policy: a trusted forwarder is delivered, other failures are quarantined', async () => {
  const changed = Buffer.from((await readFile(examples('signed.eml'), 'latin1')).replace('Friday', 'Monday'), 'latin1');
  const policy = ['--local-policy', examples('local-policy.yaml')];
  const forwarded = await runProgram(['verify', '--ip', '203.0.113.5', '--json', ...policy, ...base], env(changed));
  assert.equal(forwarded.exitCode, 0, forwarded.stderr);
  const json = JSON.parse(forwarded.stdout) as {
    dmarc: { result: string; disposition: string; action: string; overrides: { type: string; comment: string }[] };
  };
  assert.deepEqual([json.dmarc.result, json.dmarc.disposition, json.dmarc.action], ['fail', 'reject', 'none']);
  assert.deepEqual(json.dmarc.overrides, [
    { type: 'trusted_forwarder', comment: 'client 203.0.113.5 is in 203.0.113.0/24' },
  ]);
  const spoof = await runProgram(['verify', '--ip', '192.0.2.99', ...policy, ...base], env(changed));
  assert.equal(spoof.exitCode, 0, spoof.stderr);
  assert.match(spoof.stdout, /DMARC fail, disposition reject .*\n {6}action quarantine \(local policy\)\n/);
  assert.match(spoof.stdout, /local policy: site policy applies quarantine instead of reject/);
});

test('mailward verify --local-policy: a broken policy file is a usage error naming the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-policy-'));
  const file = join(dir, 'policy.yaml');
  await writeFile(file, 'trustedForwarders:\n  ips: [192.0.2.0/40]\n');
  const out = await runProgram(
    ['verify', examples('signed.eml'), '--ip', '192.0.2.1', '--local-policy', file, ...base],
    env(),
  );
  assert.equal(out.exitCode, 2);
  assert.match(
    out.stderr,
    /policy\.yaml: trustedForwarders\.ips\[0\]: "192\.0\.2\.0\/40" has a prefix outside 0\.\.32/,
  );
  await writeFile(file, 'a: &x [1]\nb: *x\n');
  const aliased = await runProgram(
    ['verify', examples('signed.eml'), '--ip', '192.0.2.1', '--local-policy', file, ...base],
    env(),
  );
  assert.equal(aliased.exitCode, 2);
  assert.match(aliased.stderr, /not valid YAML or JSON/);
});
