// A real Exim 4.96 (testkit's harness: Debian's binary, -bh/-bs sessions) asks the built
// `mailward policy` with the ${readsocket} ACL snippet of docs/policy.md, taken from that page
// as it is, so the documented snippet is the tested one. SPF is answered by a real Knot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseZone } from '@mailward/core';
import {
  createEximHarness,
  freePort,
  renderZone,
  startKnot,
  type EximHarness,
  type KnotServer,
} from '@mailward/testkit';
import { startPolicyProcess, type PolicyProcess } from './policy-process.js';

const DOC = readFileSync(new URL('../../../../docs/policy.md', import.meta.url), 'utf8');

/** The first code block after a line of docs/policy.md that starts with `heading`. */
function snippetAfter(heading: string): string {
  const start = DOC.indexOf(`\n${heading}`);
  assert.ok(start >= 0, `docs/policy.md has no line starting "${heading}"`);
  const block = /```\n([\s\S]*?)```/.exec(DOC.slice(start));
  assert.ok(block?.[1], `no code block after "${heading}"`);
  return block[1];
}

function acls(port: number) {
  const withPort = (text: string) => text.replaceAll('inet:127.0.0.1:10040', `inet:127.0.0.1:${port}`);
  return {
    rcpt: `${withPort(snippetAfter('In the RCPT ACL'))}accept`,
    data: `${snippetAfter('and in the DATA ACL')}accept`,
  };
}

let knot: KnotServer;
let policy: PolicyProcess;
let exim: EximHarness;

const parsed = parseZone({
  'pass.test': [{ TXT: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  'fail.test': [{ TXT: 'v=spf1 ip4:198.51.100.0/24 -all' }],
  'mx.fail.test': [{ TXT: 'v=spf1 -all' }],
});

before(async () => {
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
  knot = await startKnot({
    zones: [
      { origin: '.', text: renderZone(parsed.zone, { origin: '.' }) },
      { origin: 'down.test', broken: true },
    ],
  });
  policy = await startPolicyProcess(['--dns', `${knot.host}:${knot.port}`, '--receiver', 'exim.receiver.test']);
  exim = await createEximHarness({ hostname: 'exim.receiver.test', acls: acls(policy.port) });
});

after(async () => {
  await exim?.cleanup();
  await policy?.stop();
  await knot?.stop();
});

const MESSAGE = 'From: <a@pass.test>\r\nTo: <bob@receiver.test>\r\nSubject: policy test\r\n\r\nHello.\r\n';

/** The reply text without the enhanced code Exim repeats on each wrapped line. */
function unwrapped(lines: readonly string[], code: string): string {
  return lines.map((line) => line.replace(new RegExp(`^${code.replaceAll('.', '\\.')} ?`), '')).join(' ');
}

test('an SPF fail is refused at RCPT with 550 5.7.23 and the explanation', async () => {
  const result = await exim.session({
    clientAddress: '192.0.2.10',
    ehlo: 'mx.pass.test',
    from: 'mallory@fail.test',
    to: ['bob@receiver.test'],
    data: MESSAGE,
  });
  assert.equal(result.lastStage, 'rcpt', `${result.last.text}\n${result.stderr}`);
  assert.equal(result.last.code, 550);
  // Exim wraps the text into 550- lines, each starting with the enhanced code.
  assert.ok(
    result.last.lines.every((line) => line.startsWith('5.7.23')),
    result.last.lines.join('\n'),
  );
  assert.equal(
    unwrapped(result.last.lines, '5.7.23'),
    'SPF validation failed for sender mallory@fail.test: fail.test does not designate 192.0.2.10 as permitted sender of mail from mallory@fail.test',
  );
});

test('a temperror (SERVFAIL) is deferred at RCPT with 450 4.7.24', async () => {
  const result = await exim.session({
    clientAddress: '192.0.2.10',
    ehlo: 'mx.pass.test',
    from: 'x@down.test',
    to: ['bob@receiver.test'],
    data: MESSAGE,
  });
  assert.equal(result.lastStage, 'rcpt', result.stderr);
  assert.equal(result.last.code, 450);
  assert.match(
    unwrapped(result.last.lines, '4.7.24'),
    /^SPF could not be checked for sender x@down\.test \(DNS error; try again later\): /,
  );
});

test('the null sender is checked as postmaster@HELO', async () => {
  const result = await exim.session({
    clientAddress: '192.0.2.10',
    ehlo: 'mx.fail.test',
    from: '',
    to: ['bob@receiver.test'],
    data: MESSAGE,
  });
  assert.equal(result.last.code, 550, result.stderr);
  assert.match(
    unwrapped(result.last.lines, '5.7.23'),
    /^SPF validation failed for null sender, checked as postmaster@mx\.fail\.test: /,
  );
});

test('a pass is accepted and spooled with one Received-SPF field for two recipients (-bs)', async () => {
  const result = await exim.session({
    mode: 'bs',
    clientAddress: '192.0.2.10',
    ehlo: 'mx.pass.test',
    from: 'alice@pass.test',
    to: ['bob@receiver.test', 'carol@receiver.test'],
    data: MESSAGE,
  });
  assert.equal(result.eod?.code, 250, `${result.last.text}\n${exim.log()}`);
  const input = join(exim.dir, 'spool', 'input');
  const headerFiles = (await readdir(input, { recursive: true })).filter((name) => String(name).endsWith('-H'));
  assert.equal(headerFiles.length, 1, headerFiles.join(', '));
  const spooled = await readFile(join(input, String(headerFiles[0])), 'latin1');
  // Header lines in a -H file start with their length and a flag (spec: "Format of spool files");
  // the ACL variables stored above them hold the same text and do not count.
  const fields = spooled.split('\n').filter((line) => /^\d{3}[A-Z* ] Received-SPF:/.test(line));
  assert.equal(fields.length, 1, spooled);
  assert.match(
    fields[0] ?? '',
    /^\d{3} {2}Received-SPF: pass \(exim\.receiver\.test: domain of alice@pass\.test designates 192\.0\.2\.10 as permitted sender\) client-ip=192\.0\.2\.10; envelope-from="alice@pass\.test"; helo=mx\.pass\.test; .*identity=mailfrom; receiver=exim\.receiver\.test;$/,
  );
});

test('the service not running: the fail string {action=DUNNO} lets mail through', async () => {
  const down = await createEximHarness({ hostname: 'exim.receiver.test', acls: acls(await freePort()) });
  try {
    const result = await down.session({
      clientAddress: '192.0.2.10',
      ehlo: 'mx.pass.test',
      from: 'mallory@fail.test',
      to: ['bob@receiver.test'],
      data: MESSAGE,
    });
    assert.equal(result.eod?.code, 250, result.stderr);
  } finally {
    await down.cleanup();
  }
});

test('Exim sends no instance: every decision was logged, one per RCPT', () => {
  const lines = policy
    .output()
    .split('\n')
    .filter((line) => line.startsWith('policy: '));
  assert.ok(lines.length >= 5, policy.output());
  assert.ok(
    lines.every((line) => !line.includes(' instance=')),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((line) =>
      /sender=<mallory@fail\.test> recipient=<bob@receiver\.test> result=fail identity=mailfrom/.test(line),
    ),
  );
});
