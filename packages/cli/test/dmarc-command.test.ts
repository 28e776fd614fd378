import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runProgram } from '../src/program.js';

const fixture = fileURLToPath(new URL('../../../../docs/examples/zone.yaml', import.meta.url));
const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

test('mailward dmarc explains the policy found by the tree walk (text and JSON)', async () => {
  const text = await runProgram(['dmarc', 'mail.example.com', '--dns-fixture', fixture], env);
  assert.equal(text.exitCode, 0, text.stderr);
  assert.match(text.stdout, /^mail\.example\.com: DMARC policy from its organizational domain, _dmarc\.example\.com\n/);
  assert.match(text.stdout, /mail failing DMARC: quarantine \(sp=\)/);
  assert.match(text.stdout, /warning: pct= was removed by RFC 9989/);
  const json = await runProgram(['dmarc', 'example.com', '--json', '--dns-fixture', fixture], env);
  const body = JSON.parse(json.stdout) as Record<string, unknown> & { queries: unknown[] };
  assert.equal(body['result'], 'found');
  assert.equal(body['policyDomain'], 'example.com');
  assert.equal(body['policy'], 'reject');
  assert.equal(body['pct'], 50);
  assert.deepEqual(body['rua'], ['mailto:dmarc-reports@example.com']);
  assert.equal(body.queries.length, 2);
  assert.deepEqual(body['destinations'], [
    {
      tag: 'rua',
      uri: 'mailto:dmarc-reports@example.com',
      external: false,
      authorized: null,
      reason: "example.com is in the policy domain's organization",
    },
  ]);
});

test('mailward dmarc: no policy is exit 0; a bad --mode is exit 2', async () => {
  const none = await runProgram(['dmarc', 'example.org', '--dns-fixture', fixture], env);
  assert.equal(none.exitCode, 0);
  assert.match(none.stdout, /no DMARC policy/);
  const bad = await runProgram(['dmarc', 'example.org', '--mode', 'rfc0000', '--dns-fixture', fixture], env);
  assert.equal(bad.exitCode, 2);
});
