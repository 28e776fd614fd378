/** `mailward check`: text and JSON output, exit codes by severity, bad arguments. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../src/program.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };
const dir = mkdtempSync(join(tmpdir(), 'mailward-check-'));
const fixture = join(dir, 'zone.yaml');
writeFileSync(
  fixture,
  `
clean.example:
  - TXT: 'v=spf1 ip4:192.0.2.0/24 -all'
  - MX: [10, mx.clean.example]
mx.clean.example:
  - A: 192.0.2.25
25.2.0.192.in-addr.arpa:
  - PTR: mx.clean.example
google._domainkey.clean.example:
  - TXT: 'v=DKIM1; k=ed25519; p=EMBqiwzrIKd+uFFVtTrFV7lthOLp31IGqYTGc7Yb/5w='
_dmarc.clean.example:
  - TXT: 'v=DMARC1; p=reject; rua=mailto:dmarc@clean.example'
weak.example:
  - TXT: 'v=spf1 mx ?all'
  - MX: [10, mx.clean.example]
_dmarc.weak.example:
  - TXT: 'v=DMARC1; p=none; rua=mailto:dmarc@weak.example'
open.example:
  - TXT: 'v=spf1 +all'
  - MX: [10, mx.clean.example]
refusing.example:
  - REFUSED
sender.example:
  - TXT: 'v=spf1 ip4:192.0.2.1 -all'
old._domainkey.sender.example:
  - TXT: 'v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJhFIUAYPGXQB5e+nCHZdENO2UIIPz9KgpJnsfxF1RChZgXlAJGvzTxtMr5k88t/Olj32askzSF98aj0oi30LKECAwEAAQ=='
`,
);

test('mailward check: a clean domain exits 0 with grade A', async () => {
  const out = await runProgram(['check', 'clean.example', '--dns-fixture', fixture], env);
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(out.stdout, /^clean\.example: grade A\n\nSPF \(grade A\)\n {2}ok {4}spf-ok: /);
  assert.ok(!out.stdout.includes('\x1b['), 'no colour codes when not on a terminal');
});

test('mailward check: warnings exit 1; each finding has its fix', async () => {
  const out = await runProgram(['check', 'weak.example', '--dns-fixture', fixture], env);
  assert.equal(out.exitCode, 1);
  assert.match(out.stdout, /WARN {2}spf-neutral-all: .*\n {8}fix: end the record with -all/);
  assert.match(out.stdout, /WARN {2}dmarc-p-none: /);
  assert.match(out.stdout, /^weak\.example: grade B/);
});

test('mailward check --json: errors exit 2; the documented schema', async () => {
  const out = await runProgram(['check', 'open.example', '--json', '--dns-fixture', fixture], env);
  assert.equal(out.exitCode, 2);
  const json = JSON.parse(out.stdout) as {
    domain: string;
    grade: string;
    grades: Record<string, string>;
    findings: { code: string; severity: string; area: string; message: string; fix?: string; rfc?: string }[];
  };
  assert.equal(json.domain, 'open.example');
  assert.equal(json.grade, 'F');
  assert.deepEqual(json.grades, {
    spf: 'F',
    dkim: 'B',
    dmarc: 'F',
    mx: 'A',
    'mta-sts': 'A',
    'tls-rpt': 'A',
    bimi: 'A',
    dnssec: 'A',
  });
  const serious = json.findings.filter((f) => f.severity === 'error' || f.severity === 'warning');
  assert.deepEqual(serious.map((f) => `${f.area}:${f.code}:${f.severity}`).sort(), [
    'dkim:dkim-no-key-found:warning',
    'dmarc:dmarc-missing:error',
    'spf:spf-pass-all:error',
  ]);
  assert.ok(serious.every((f) => f.message.length > 0 && f.fix !== undefined));
  assert.ok(json.findings.some((f) => f.code === 'mta-sts-missing' && f.severity === 'info'));
});

test('mailward check: colour on a terminal; a bad domain is a usage error', async () => {
  const coloured = await runProgram(['check', 'clean.example', '--dns-fixture', fixture], { ...env, colour: true });
  assert.ok(coloured.stdout.includes('\x1b[32mok   \x1b[0m spf-ok'), coloured.stdout);
  const bad = await runProgram(['check', 'not a domain', '--dns-fixture', fixture], env);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /"not a domain" is not a domain name/);
});

test('mailward check --smtp: each MX host probed on the given port, graded in the smtp area', async () => {
  const { SMTPServer } = await import('smtp-server');
  const server = new SMTPServer({ logger: false, hideSTARTTLS: true, disabledCommands: ['AUTH'] });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  const smtpFixture = join(dir, 'smtp.yaml');
  writeFileSync(
    smtpFixture,
    `
plain.example:
  - TXT: 'v=spf1 mx -all'
  - MX: [10, mx.plain.example]
mx.plain.example:
  - A: 127.0.0.1
_dmarc.plain.example:
  - TXT: 'v=DMARC1; p=reject; rua=mailto:dmarc@plain.example'
`,
  );
  try {
    const args = ['check', 'plain.example', '--json', '--dns-fixture', smtpFixture];
    const out = await runProgram([...args, '--smtp', '--smtp-port', String(port)], env);
    const json = JSON.parse(out.stdout) as {
      grades: Record<string, string>;
      findings: { code: string; area: string }[];
    };
    assert.deepEqual(
      json.findings.filter((f) => f.area === 'smtp').map((f) => f.code),
      ['smtp-no-starttls'],
    );
    assert.equal(json.grades['smtp'], 'B');
    const without = JSON.parse((await runProgram(args, env)).stdout) as { grades: Record<string, string> };
    assert.equal(without.grades['smtp'], undefined);
  } finally {
    server.close();
  }
});

test('mailward check: DNS failures are "could not check", exit 3, JSON grade null, no advice to fix the domain', async () => {
  const text = await runProgram(['check', 'refusing.example', '--dns-fixture', fixture], env);
  assert.equal(text.exitCode, 3);
  assert.match(text.stdout, /^refusing\.example: no grade: SPF, MX, DNSSEC could not be checked/);
  assert.match(
    text.stdout,
    /\nSPF \(could not check: a DNS lookup failed\)\n {2}info {2}spf-lookup-failed: could not check .*refused/,
  );
  const json = JSON.parse(
    (await runProgram(['check', 'refusing.example', '--json', '--dns-fixture', fixture], env)).stdout,
  ) as {
    status: string;
    grade: unknown;
    grades: Record<string, string>;
  };
  assert.equal(json.grade, null);
  assert.equal(json.status, 'dns-failed');
  assert.equal(json.grades['spf'], 'could-not-check');
  const help = await runProgram(['check', '--help'], env);
  assert.match(help.stdout, /3 {2}could not check: DNS lookups failed/);
});

test('mailward check: a domain that does not exist is one error with a fix, exit 2, no grade', async () => {
  const out = await runProgram(['check', 'nowhere.example', '--dns-fixture', fixture], env);
  assert.equal(out.exitCode, 2);
  assert.equal(
    out.stdout,
    'nowhere.example: does not exist (NXDOMAIN), not audited\n\nDOMAIN\n  ERROR domain-nxdomain: nowhere.example does not exist: the DNS answers NXDOMAIN for it, so it has no records to audit [RFC 8020 §2]\n        fix: check the spelling, or register nowhere.example\n',
  );
  const json = JSON.parse(
    (await runProgram(['check', 'nowhere.example', '--json', '--dns-fixture', fixture], env)).stdout,
  ) as {
    grade: unknown;
    findings: unknown[];
  };
  assert.equal(json.grade, null);
  assert.equal(json.findings.length, 1);
});

test('mailward check: without MX, DKIM is still audited (a 512-bit key is F) and unaudited areas say "not checked"', async () => {
  const out = await runProgram(['check', 'sender.example', '--selectors', 'old', '--dns-fixture', fixture], env);
  assert.match(
    out.stdout,
    /\nDKIM \(grade F\)\n {2}ERROR dkim-key-too-short: old\._domainkey\.sender\.example: RSA key of 512 bits/,
  );
  assert.match(out.stdout, /\nMTA-STS \(not checked\)\n {2}info {2}mta-sts-not-checked: /);
  assert.doesNotMatch(out.stdout, /(MTA-STS|TLS-RPT|BIMI) \(grade A\)/);
});
