import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgramEnvironment } from '../src/program.js';
import { runProgram } from '../src/program.js';

const MESSAGE =
  'From: Joe <joe@example.com>\nTo: sue@example.net\nSubject: CLI test\nDate: Sat, 28 Nov 2026 12:00:00 +0000\n\nHello  there.\n';

function envWith(stdin: string | Uint8Array = ''): ProgramEnvironment {
  const bytes = typeof stdin === 'string' ? Buffer.from(stdin, 'latin1') : stdin;
  return { hostname: 'mx.test', readStdin: (max) => Promise.resolve(bytes.length > max ? undefined : bytes) };
}

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-dkim-cli-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** keygen for one key type; returns the key file and a fixture file publishing its record. */
async function keyAndFixture(
  dir: string,
  type: 'rsa' | 'ed25519',
  selector: string,
  extra: Record<string, unknown> = {},
) {
  const keyFile = join(dir, `${selector}.pem`);
  const out = await runProgram(
    ['keygen', '--domain', 'example.com', '--selector', selector, '--type', type, '--out', keyFile, '--json'],
    envWith(),
  );
  assert.equal(out.exitCode, 0, out.stderr);
  const json = JSON.parse(out.stdout) as { record: { name: string; value: string; strings: string[] } };
  const fixture = join(dir, `${selector}.json`);
  await writeFile(fixture, JSON.stringify({ [json.record.name]: [{ TXT: json.record.strings }], ...extra }));
  return { keyFile, fixture, record: json.record };
}

test('keygen writes a 0600 key, prints the record, and refuses to overwrite', () =>
  withDir(async (dir) => {
    const keyFile = join(dir, 'k.pem');
    const out = await runProgram(
      ['keygen', '--domain', 'Example.com.', '--selector', 'sel', '--out', keyFile],
      envWith(),
    );
    assert.equal(out.exitCode, 0, out.stderr);
    assert.match(out.stdout, /Private key \(RSA 2048 bits\) written to .*k\.pem \(mode 0600\)/);
    assert.match(
      out.stdout,
      /^sel\._domainkey\.example\.com\. IN TXT \( "v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{237}"\n\t"[A-Za-z0-9+/=]+" \)$/m,
    );
    assert.match(out.stdout, /mailward dkim key-check --domain example\.com --selector sel/);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const before = await readFile(keyFile);
    const again = await runProgram(
      ['keygen', '--domain', 'example.com', '--selector', 'sel', '--out', keyFile],
      envWith(),
    );
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /already exists; it was left unchanged/);
    assert.deepEqual(await readFile(keyFile), before);
  }));

test('keygen: a dated default selector, ed25519, and usage errors', () =>
  withDir(async (dir) => {
    const out = await runProgram(
      ['keygen', '--domain', 'example.com', '--type', 'ed25519', '--out', join(dir, 'e.pem'), '--json'],
      envWith(),
    );
    const json = JSON.parse(out.stdout) as { selector: string; record: { value: string; strings: string[] } };
    assert.match(json.selector, /^ed-\d{8}$/);
    assert.match(json.record.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    assert.equal(json.record.strings.length, 1);
    const bad = await runProgram(
      ['keygen', '--domain', 'example.com', '--bits', '512', '--out', join(dir, 'x.pem')],
      envWith(),
    );
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /1024 to 4096/);
    const badType = await runProgram(['keygen', '--domain', 'example.com', '--type', 'dsa'], envWith());
    assert.equal(badType.exitCode, 2);
  }));

test('sign from stdin then verify: RSA and Ed25519 in one run, JSON shape', () =>
  withDir(async (dir) => {
    const rsa = await keyAndFixture(dir, 'rsa', 'rsa1');
    const ed = await keyAndFixture(dir, 'ed25519', 'ed1');
    const fixture = join(dir, 'both.json');
    await writeFile(
      fixture,
      JSON.stringify({
        [rsa.record.name]: [{ TXT: rsa.record.strings }],
        [ed.record.name]: [{ TXT: ed.record.strings }],
      }),
    );
    const signed = await runProgram(
      [
        'dkim',
        'sign',
        '--key',
        rsa.keyFile,
        '--domain',
        'example.com',
        '--selector',
        'rsa1',
        '--sign',
        `example.com:ed1:${ed.keyFile}`,
      ],
      envWith(MESSAGE),
    );
    assert.equal(signed.exitCode, 0, signed.stderr);
    assert.ok(signed.stdoutBytes !== undefined);
    const text = Buffer.from(signed.stdoutBytes).toString('latin1');
    assert.equal(text.match(/^DKIM-Signature:/gm)?.length, 2);
    assert.ok(text.endsWith(MESSAGE.replace(/\n/g, '\r\n')), 'the message follows unchanged, with CRLF line endings');
    const file = join(dir, 'signed.eml');
    await writeFile(file, signed.stdoutBytes);
    const verified = await runProgram(['dkim', 'verify', file, '--json', '--dns-fixture', fixture], envWith());
    assert.equal(verified.exitCode, 0, verified.stderr);
    const json = JSON.parse(verified.stdout) as { signatures: Record<string, unknown>[] };
    assert.deepEqual(
      json.signatures.map((s) => [s['result'], s['domain'], s['selector'], s['algorithm'], s['keyType']]),
      [
        ['pass', 'example.com', 'rsa1', 'rsa-sha256', 'rsa'],
        ['pass', 'example.com', 'ed1', 'ed25519-sha256', 'ed25519'],
      ],
    );
    for (const s of json.signatures) assert.equal(typeof s['reason'], 'string');
    // Text output, and a tampered message: still exit 0, the result says fail.
    const tampered = join(dir, 'tampered.eml');
    await writeFile(tampered, Buffer.from(text.replace('Hello', 'Jello'), 'latin1'));
    const text2 = await runProgram(['dkim', 'verify', tampered, '--dns-fixture', fixture], envWith());
    assert.equal(text2.exitCode, 0);
    assert.match(
      text2.stdout,
      /#1 dkim=fail d=example\.com s=rsa1 a=rsa-sha256 \(rsa 2048-bit key\)\n {4}body hash did not verify/,
    );
  }));

test('sign options reach the signature: canonicalization, l=, x=, i=, headers, no oversigning', () =>
  withDir(async (dir) => {
    const ed = await keyAndFixture(dir, 'ed25519', 'ed2');
    const signed = await runProgram(
      [
        'dkim',
        'sign',
        '--key',
        ed.keyFile,
        '--domain',
        'example.com',
        '--selector',
        'ed2',
        '--canonicalization',
        'simple',
        '--body-length',
        '--expire',
        '3600',
        '--identity',
        '@example.com',
        '--headers',
        'From, Subject',
        '--no-oversign',
      ],
      envWith(MESSAGE),
    );
    assert.equal(signed.exitCode, 0, signed.stderr);
    const field =
      Buffer.from(signed.stdoutBytes ?? new Uint8Array())
        .toString('latin1')
        .split('\r\nFrom:')[0] ?? '';
    const unfolded = field.replace(/\r\n\t/g, ' ');
    assert.match(unfolded, /c=simple\/simple;/);
    assert.match(unfolded, /i=@example\.com;/);
    assert.match(unfolded, /t=\d+; x=\d+;/);
    assert.match(unfolded, /l=\d+;/);
    assert.match(unfolded, /h=from:subject;/);
    const file = join(dir, 'signed.eml');
    await writeFile(file, signed.stdoutBytes ?? new Uint8Array());
    const verified = await runProgram(['dkim', 'verify', file, '--dns-fixture', ed.fixture], envWith());
    assert.match(verified.stdout, /dkim=pass/);
  }));

test('dkim sign and verify: usage errors exit 2, unusable input exits 1', () =>
  withDir(async (dir) => {
    const ed = await keyAndFixture(dir, 'ed25519', 'ed3');
    const base = ['dkim', 'sign', '--key', ed.keyFile, '--domain', 'example.com', '--selector', 'ed3'];
    const badCanon = await runProgram([...base, '--canonicalization', 'loose/relaxed'], envWith(MESSAGE));
    assert.equal(badCanon.exitCode, 2);
    assert.match(badCanon.stderr, /--canonicalization "loose\/relaxed"/);
    const wrongAlgorithm = await runProgram([...base, '--algorithm', 'rsa-sha256'], envWith(MESSAGE));
    assert.equal(wrongAlgorithm.exitCode, 2);
    assert.match(wrongAlgorithm.stderr, /needs a rsa key/);
    const sha1 = await runProgram([...base, '--algorithm', 'rsa-sha1'], envWith(MESSAGE));
    assert.equal(sha1.exitCode, 2);
    const partial = await runProgram(['dkim', 'sign', '--key', ed.keyFile], envWith(MESSAGE));
    assert.equal(partial.exitCode, 2);
    assert.match(partial.stderr, /go together/);
    await writeFile(join(dir, 'junk.pem'), 'not a key');
    const junk = await runProgram(
      ['dkim', 'sign', '--key', join(dir, 'junk.pem'), '--domain', 'example.com', '--selector', 's'],
      envWith(MESSAGE),
    );
    assert.equal(junk.exitCode, 1);
    assert.match(junk.stderr, /is not a private key/);
    const missing = await runProgram(['dkim', 'verify', join(dir, 'nope.eml'), '--dns-fixture', ed.fixture], envWith());
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /cannot open .*nope\.eml: no such file or directory \(ENOENT\)/);
    const lowBits = await runProgram(
      ['dkim', 'verify', '--min-rsa-bits', '512', '--dns-fixture', ed.fixture],
      envWith(MESSAGE),
    );
    assert.equal(lowBits.exitCode, 2);
    const noSignature = await runProgram(['dkim', 'verify', '--dns-fixture', ed.fixture], envWith(MESSAGE));
    assert.equal(noSignature.exitCode, 0);
    assert.match(noSignature.stdout, /no DKIM-Signature fields: dkim=none/);
  }));

test('dkim key-check: match, mismatch, revoked and missing keys', () =>
  withDir(async (dir) => {
    const rsa = await keyAndFixture(dir, 'rsa', 'rsa4', {
      'old._domainkey.example.com': [{ TXT: 'v=DKIM1; k=rsa; p=' }],
    });
    const other = await keyAndFixture(dir, 'rsa', 'rsa5');
    const check = (selector: string, key: string, json = false) =>
      runProgram(
        [
          'dkim',
          'key-check',
          '--domain',
          'example.com',
          '--selector',
          selector,
          '--key',
          key,
          '--dns-fixture',
          rsa.fixture,
          ...(json ? ['--json'] : []),
        ],
        envWith(),
      );
    const ok = await check('rsa4', rsa.keyFile);
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
    assert.match(
      ok.stdout,
      /^OK: rsa4\._domainkey\.example\.com: the published key matches .*\n {2}key: rsa, 2048 bits\n$/,
    );
    const mismatch = await check('rsa4', other.keyFile, true);
    assert.equal(mismatch.exitCode, 1);
    const json = JSON.parse(mismatch.stdout) as { matches: boolean; reason: string; published: { bits: number } };
    assert.equal(json.matches, false);
    assert.match(json.reason, /different key/);
    assert.equal(json.published.bits, 2048);
    const revoked = await check('old', rsa.keyFile);
    assert.equal(revoked.exitCode, 1);
    assert.match(revoked.stdout, /MISMATCH: .*revoked/);
    const missing = await check('nothing', rsa.keyFile);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stdout, /NXDOMAIN/);
  }));

test('dkim key-check: a failed lookup is no mismatch: LOOKUP FAILED, exit 3, JSON matches null', () =>
  withDir(async (dir) => {
    const rsa = await keyAndFixture(dir, 'ed25519', 'ed1', { 'down._domainkey.example.com': ['REFUSED'] });
    const args = ['dkim', 'key-check', '--domain', 'example.com', '--selector', 'down', '--key', rsa.keyFile];
    const text = await runProgram([...args, '--dns-fixture', rsa.fixture], envWith());
    assert.equal(text.exitCode, 3);
    assert.match(text.stdout, /^LOOKUP FAILED: down\._domainkey\.example\.com: key lookup for .* failed: refused/);
    assert.doesNotMatch(text.stdout, /MISMATCH/);
    const json = await runProgram([...args, '--dns-fixture', rsa.fixture, '--json'], envWith());
    assert.equal((JSON.parse(json.stdout) as { matches: unknown }).matches, null);
  }));

test('keygen: when the key file of a selector exists, the error suggests a new selector', async () => {
  const { keygenCommand, newSelectorName } = await import('../src/commands/keygen.js');
  const clock = { now: () => Date.UTC(2026, 11, 1) };
  const out = await keygenCommand(
    { domain: 'example.com', selector: 's1', type: 'ed25519', bits: 2048, testing: false, json: false },
    { clock, writeKeyFile: (path) => Promise.resolve({ ok: false, reason: `${path} already exists`, exists: true }) },
  );
  assert.equal(out.exitCode, 1);
  assert.match(out.stderr, /s1\.example\.com\.pem already exists .*choose a new selector: --selector ed-20261201$/m);
  assert.deepEqual(
    [
      newSelectorName('s1', 'ed-20261201'),
      newSelectorName('ed-20261201', 'ed-20261201'),
      newSelectorName('ed-20261201b', 'ed-20261201'),
    ],
    ['ed-20261201', 'ed-20261201b', 'ed-20261201c'],
  );
});
