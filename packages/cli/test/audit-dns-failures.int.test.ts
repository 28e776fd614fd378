/**
 * The built `mailward` binary against real DNS: a Knot server for the domains, a server that
 * answers REFUSED to everything and one that never answers. A failed lookup is "could not check"
 * (exit 3, JSON grade null, the server and the failure named, refused apart from timeout), never
 * the domain's fault; a name Knot answers NXDOMAIN for is one domain-nxdomain finding; a domain
 * without MX is still audited for DKIM; `scan` marks each row with its status.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseZone } from '@mailward/core';
import type { FakeServer, ServedZone } from '@mailward/testkit';
import { respondTo, serveZone, startFakeServer, startSilentServer } from '@mailward/testkit';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const RSA_512 =
  'v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJhFIUAYPGXQB5e+nCHZdENO2UIIPz9KgpJnsfxF1RChZgXlAJGvzTxtMr5k88t/Olj32askzSF98aj0oi30LKECAwEAAQ==';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function mailward(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { timeout: 60_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err }));
  });
}

let dir: string;
let served: ServedZone;
let refusing: FakeServer;
let silent: FakeServer;
const at = (server: { host: string; port: number }) => `${server.host}:${server.port}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailward-dns-failures-'));
  const parsed = parseZone({
    'mx.infra.test': [{ A: '192.0.2.25' }],
    '25.2.0.192.in-addr.arpa': [{ PTR: 'mx.infra.test' }],
    'ok.test': [{ TXT: 'v=spf1 mx -all' }, { MX: [10, 'mx.infra.test'] }],
    '_dmarc.ok.test': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@ok.test' }],
    // Sends, has no MX, and a forgotten 512-bit key at a selector the user names.
    'sender.test': [{ TXT: 'v=spf1 ip4:192.0.2.1 -all' }],
    'old2019._domainkey.sender.test': [{ TXT: RSA_512 }],
    '_dmarc.sender.test': [{ TXT: 'v=DMARC1; p=reject; rua=mailto:d@sender.test' }],
    // Its name servers time out (a proxy in front of Knot drops the queries).
    'slow.test': ['TIMEOUT'],
  });
  assert.ok(parsed.ok);
  served = await serveZone(parsed.zone);
  refusing = await startFakeServer({
    udp: (query) => (query ? [respondTo(query, { rcode: 5 })] : []),
    tcp: (query) => (query ? [respondTo(query, { rcode: 5 })] : []),
  });
  silent = await startSilentServer();
});

after(async () => {
  await served?.stop();
  await refusing?.stop();
  await silent?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface CheckJson {
  status: string;
  grade: string | null;
  grades: Record<string, string>;
  findings: { code: string; severity: string; area: string; message: string; fix?: string }[];
}

test('check against a server that refuses: exit 3, grade null, every finding a refused lookup naming the server', async () => {
  const run = await mailward(['check', 'ok.test', '--json', '--dns', at(refusing)]);
  assert.equal(run.code, 3, run.stderr);
  const json = JSON.parse(run.stdout) as CheckJson;
  assert.equal(json.grade, null);
  assert.equal(json.status, 'dns-failed');
  assert.deepEqual(new Set(Object.values(json.grades)), new Set(['could-not-check']));
  for (const f of json.findings) {
    assert.match(f.code, /-lookup-failed$/);
    assert.match(f.message, new RegExp(`refused the query \\(${at(refusing).replace(/\./g, '\\.')} answered REFUSED`));
    assert.doesNotMatch(f.fix ?? '', /make the name servers/);
  }
  const text = await mailward(['check', 'ok.test', '--dns', at(refusing)]);
  assert.equal(text.code, 3);
  assert.match(
    text.stdout,
    /^ok\.test: no grade: SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT, BIMI, DNSSEC could not be checked/,
  );
});

test('check against a server that never answers: exit 3, grade null, a timeout (not "refused")', async () => {
  const run = await mailward(['check', 'ok.test', '--json', '--dns', at(silent), '--dns-timeout', '150']);
  assert.equal(run.code, 3, run.stderr);
  const json = JSON.parse(run.stdout) as CheckJson;
  assert.equal(json.grade, null);
  const spf = json.findings.find((f) => f.code === 'spf-lookup-failed');
  assert.match(spf?.message ?? '', /no usable answer from the DNS server .*no answer within 150 ms/);
  assert.doesNotMatch(spf?.message ?? '', /refused/);
});

test('check over Knot: a name that does not exist is one finding (exit 2); a clean domain still grades', async () => {
  const gone = await mailward(['check', 'nowhere.test', '--json', '--dns', at(served)]);
  assert.equal(gone.code, 2, gone.stderr);
  const json = JSON.parse(gone.stdout) as CheckJson;
  assert.deepEqual(
    [json.status, json.grade, json.findings.map((f) => [f.code, f.fix])],
    ['nxdomain', null, [['domain-nxdomain', 'check the spelling, or register nowhere.test']]],
  );
  const ok = JSON.parse((await mailward(['check', 'ok.test', '--json', '--dns', at(served)])).stdout) as CheckJson;
  assert.equal(ok.status, 'ok');
  assert.match(ok.grade ?? '', /^[ABC]$/);
});

test('check over Knot: a domain without MX is audited for DKIM; its 512-bit key makes the area F', async () => {
  const run = await mailward(['check', 'sender.test', '--selectors', 'old2019', '--json', '--dns', at(served)]);
  const json = JSON.parse(run.stdout) as CheckJson;
  assert.equal(run.code, 2);
  assert.ok(json.findings.some((f) => f.code === 'dkim-key-too-short'));
  assert.equal(json.grades['dkim'], 'F');
  assert.equal(json.grades['mta-sts'], 'not-checked');
});

test('check over Knot: a domain whose name servers time out has no grade (exit 3)', async () => {
  const run = await mailward(['check', 'slow.test', '--json', '--dns', at(served), '--dns-timeout', '200']);
  assert.equal(run.code, 3, run.stdout);
  const json = JSON.parse(run.stdout) as CheckJson;
  assert.equal(json.grade, null);
  assert.equal(json.grades['spf'], 'could-not-check');
});

test('dkim key-check against a refusing server: LOOKUP FAILED, exit 3, not MISMATCH', async () => {
  const key = join(dir, 'k.pem');
  assert.equal((await mailward(['keygen', '--domain', 'ok.test', '--selector', 'k', '--out', key])).code, 0);
  const run = await mailward([
    'dkim',
    'key-check',
    '--domain',
    'ok.test',
    '--selector',
    'k',
    '--key',
    key,
    '--dns',
    at(refusing),
  ]);
  assert.equal(run.code, 3);
  assert.match(
    run.stdout,
    /^LOOKUP FAILED: k\._domainkey\.ok\.test: key lookup for .* failed: refused .*answered REFUSED/,
  );
});

test('scan over Knot: each row has its status; failed and nonexistent domains are counted apart', async () => {
  const list = join(dir, 'list.txt');
  await writeFile(list, 'ok.test\nsender.test\nnowhere.test\nslow.test\n');
  const db = join(dir, 'scan.db');
  const out = join(dir, 'scan.csv');
  const run = await mailward(['scan', list, '--db', db, '--out', out, '--dns', at(served), '--dns-timeout', '200']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /2 audited, 1 do not exist \(NXDOMAIN\), 1 could not be checked/);
  const rows = (await readFile(out, 'utf8'))
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').slice(0, 3).join(','))
    .sort();
  assert.deepEqual(
    rows.map((r) => r.replace(/,[ABCF]$/, ',graded')),
    ['nowhere.test,nxdomain,', 'ok.test,ok,graded', 'sender.test,ok,graded', 'slow.test,dns-failed,'],
  );
  const report = await mailward(['scan', 'report', db, '--html', join(dir, 'scan.html')]);
  assert.match(report.stdout, /^Survey of 2 domains audited\n/);
});

test('scan first against a refusing server (exit 3), then resumed over Knot: the failed rows retried in place', async () => {
  const list = join(dir, 'retry.txt');
  await writeFile(list, 'ok.test\nnowhere.test\nsender.test\n');
  const db = join(dir, 'retry.db');
  const out = join(dir, 'retry.ndjson');
  const base = ['scan', list, '--db', db, '--out', out, '--concurrency', '1'];
  const lines = async () =>
    (await readFile(out, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { domain: string; status: string; grade: string | null });
  const refused = await mailward([...base, '--dns', at(refusing)]);
  assert.equal(refused.code, 3, refused.stdout + refused.stderr);
  assert.match(refused.stdout, /\n3 domains in .* could not be checked; running the same command again retries them\n/);
  assert.deepEqual(
    (await lines()).map((r) => r.status),
    ['dns-failed', 'dns-failed', 'dns-failed'],
  );
  const resumed = await mailward([...base, '--dns', at(served)]);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(
    resumed.stdout,
    /\nRetried 3 domains that could not be checked before: 3 checked now, 0 still could not be checked\n/,
  );
  assert.deepEqual(
    (await lines()).map((r) => `${r.domain},${r.status},${r.grade === null ? 'no grade' : 'graded'}`),
    ['ok.test,ok,graded', 'nowhere.test,nxdomain,no grade', 'sender.test,ok,graded'],
  );
});
