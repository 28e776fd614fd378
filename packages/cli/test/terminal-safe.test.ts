/** Report-derived text on a terminal: escape sequences from strangers are shown, never run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terminalSafe } from '../src/render/terminal-safe.js';
import { runProgram } from '../src/program.js';

const env = { hostname: 'mx.test', readStdin: () => Promise.resolve(new Uint8Array()) };

test('control characters are escaped; tabs stay; newlines stay only where asked', () => {
  assert.equal(terminalSafe('a\x1b[2Jb\x07c\u009bd\te'), 'a\\u{1b}[2Jb\\u{7}c\\u{9b}d\te');
  assert.equal(terminalSafe('line1\r\nline2'), 'line1\\u{d}\\u{a}line2');
  assert.equal(terminalSafe('line1\r\nline2\x1b', true), 'line1\nline2\\u{1b}');
});

test('a reporter name with an escape sequence is printed escaped in lists and details', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailward-terminal-'));
  const input = join(dir, 'in');
  mkdirSync(input);
  writeFileSync(
    join(input, 'tls.json'),
    JSON.stringify({
      'organization-name': 'evil\u001b]0;owned\u0007',
      'date-range': { 'start-datetime': '2026-12-03T00:00:00Z', 'end-datetime': '2026-12-03T23:59:59Z' },
      'contact-info': 'tls@evil.example',
      'report-id': 'evil-1',
      policies: [
        {
          policy: { 'policy-type': 'sts', 'policy-domain': 'example.com' },
          summary: { 'total-successful-session-count': 1, 'total-failure-session-count': 0 },
        },
      ],
    }),
  );
  const store = `sqlite:${join(dir, 's.db')}`;
  assert.equal((await runProgram(['reports', 'ingest', input, '--store', store], env)).exitCode, 0);
  for (const args of [
    ['reports', 'tls', 'list'],
    ['reports', 'tls', 'show', '1'],
  ]) {
    const out = await runProgram([...args, '--store', store], env);
    assert.equal(out.exitCode, 0, out.stderr);
    assert.ok(!out.stdout.includes('\x1b') && !out.stdout.includes('\x07'), 'no raw escape or bell');
    assert.match(out.stdout, /evil\\u\{1b\}\]0;owned\\u\{7\}/);
  }
});
