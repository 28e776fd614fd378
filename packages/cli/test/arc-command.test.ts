import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgramEnvironment } from '../src/program.js';
import { runProgram } from '../src/program.js';

const MESSAGE =
  'Authentication-Results: mx.list.example; dkim=pass header.d=example.com;\r\n spf=pass smtp.mailfrom=example.com\r\n' +
  'From: Joe <joe@example.com>\r\nTo: list@list.example\r\nSubject: ARC test\r\n\r\nHello.\r\n';

function envWith(stdin: string | Uint8Array = ''): ProgramEnvironment {
  const bytes = typeof stdin === 'string' ? Buffer.from(stdin, 'latin1') : stdin;
  return { hostname: 'mx.test', readStdin: () => Promise.resolve(bytes) };
}

test('arc seal then arc verify through the CLI: two hops, then a broken chain', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-arc-cli-'));
  try {
    const keyFile = join(dir, 'k.pem');
    const keygen = await runProgram(
      ['keygen', '--domain', 'list.example', '--selector', 'arc', '--type', 'ed25519', '--out', keyFile, '--json'],
      envWith(),
    );
    assert.equal(keygen.exitCode, 0, keygen.stderr);
    const record = (JSON.parse(keygen.stdout) as { record: { name: string; value: string } }).record;
    const fixture = join(dir, 'zone.json');
    await writeFile(fixture, JSON.stringify({ [record.name]: [{ TXT: record.value }] }));
    const sealArgs = [
      'arc',
      'seal',
      '--key',
      keyFile,
      '--domain',
      'list.example',
      '--selector',
      'arc',
      '--dns-fixture',
      fixture,
    ];

    const hop1 = await runProgram([...sealArgs, '--authserv-id', 'mx.list.example'], envWith(MESSAGE));
    assert.equal(hop1.exitCode, 0, hop1.stderr);
    assert.match(hop1.stderr, /added ARC set i=1 \(incoming chain: arc=none\)/);
    const sealed1 = Buffer.from(hop1.stdoutBytes ?? new Uint8Array()).toString('latin1');
    assert.match(sealed1, /^ARC-Seal: a=ed25519-sha256;\r\n\tb=/);
    assert.match(
      sealed1,
      /ARC-Authentication-Results: i=1; mx\.list\.example; dkim=pass header\.d=example\.com;\r\n\tspf=pass/,
    );

    // A long AAR: the text output must show it whole (its last methods matter as much as its first).
    const longResults = `mx2.example; arc=pass; ${Array.from({ length: 8 }, (_, i) => `dkim=pass header.d=signer${i}.example header.s=sel${i}`).join('; ')}; dmarc=pass header.from=example.com`;
    const hop2 = await runProgram(
      [...sealArgs, '--authserv-id', 'mx2.example', '--auth-results', longResults],
      envWith(sealed1),
    );
    assert.equal(hop2.exitCode, 0, hop2.stderr);
    const file = join(dir, 'sealed.eml');
    await writeFile(file, hop2.stdoutBytes ?? new Uint8Array());
    const verified = await runProgram(['arc', 'verify', file, '--json', '--dns-fixture', fixture], envWith());
    assert.equal(verified.exitCode, 0, verified.stderr);
    const json = JSON.parse(verified.stdout) as {
      result: string;
      instances: number;
      oldestPass: number;
      sets: { cv: string }[];
    };
    assert.deepEqual([json.result, json.instances, json.oldestPass], ['pass', 2, 0]);
    assert.deepEqual(
      json.sets.map((s) => s.cv),
      ['none', 'pass'],
    );
    const whole = await runProgram(['arc', 'verify', file, '--dns-fixture', fixture], envWith());
    assert.match(
      whole.stdout,
      /dkim=pass header\.d=signer7\.example header\.s=sel7; dmarc=pass header\.from=example\.com\n/,
    );

    const broken = Buffer.from(hop2.stdoutBytes ?? new Uint8Array())
      .toString('latin1')
      .replace('Hello.', 'Hi.');
    const text = await runProgram(['arc', 'verify', '--dns-fixture', fixture], envWith(broken));
    assert.equal(text.exitCode, 0);
    assert.match(text.stdout, /^arc=fail \(ARC-Message-Signature 2: body hash did not verify\)/);

    const missing = await runProgram([...sealArgs, '--authserv-id', 'nobody.example'], envWith(MESSAGE));
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /no Authentication-Results from nobody\.example/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('arc seal refuses a message without header fields, and a header list that signs nothing (no empty h=)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailward-arc-cli-'));
  try {
    const keyFile = join(dir, 'k.pem');
    await runProgram(
      ['keygen', '--domain', 'list.example', '--selector', 'arc', '--type', 'ed25519', '--out', keyFile],
      envWith(),
    );
    const fixture = join(dir, 'zone.json');
    await writeFile(fixture, '{}');
    const args = ['arc', 'seal', '--key', keyFile, '--domain', 'list.example', '--selector', 'arc'];
    const common = [
      '--dns-fixture',
      fixture,
      '--authserv-id',
      'mx.list.example',
      '--auth-results',
      'mx.list.example; none',
    ];
    const bare = await runProgram([...args, ...common], envWith('\r\nHello.\r\n'));
    assert.equal(bare.exitCode, 1);
    assert.equal(bare.stdoutBytes, undefined);
    assert.match(bare.stderr, /^mailward arc seal: the message has no header fields/);
    const nothing = await runProgram([...args, ...common, '--headers', 'x-absent'], envWith(MESSAGE));
    assert.equal(nothing.exitCode, 1);
    assert.match(nothing.stderr, /none of the header fields to sign \(x-absent\) is in the message/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the README example: docs/examples/arc-sealed.eml validates against docs/examples/zone.yaml', async () => {
  const { fileURLToPath } = await import('node:url');
  const examples = fileURLToPath(new URL('../../../../docs/examples/', import.meta.url));
  const out = await runProgram(
    ['arc', 'verify', join(examples, 'arc-sealed.eml'), '--dns-fixture', join(examples, 'zone.yaml')],
    envWith(),
  );
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(out.stdout, /^arc=pass \(chain of 2 set\(s\) validates; last sealed by list\.example \(s=arc\)\)\n/);
});
