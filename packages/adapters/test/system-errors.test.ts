/** Operating-system errors as one line a user can act on. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { describeSystemError, isClosedPipe } from '../src/index.js';

const caught = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
};

test('file errors name the path, the problem and the fix; a path the error lacks comes from the caller', () => {
  assert.equal(
    describeSystemError(caught(() => readFileSync('/nonexistent-dir/x.pem'))),
    'cannot open /nonexistent-dir/x.pem: no such file or directory (ENOENT); check the path (is the directory there?)',
  );
  assert.equal(
    describeSystemError(
      caught(() => readFileSync(tmpdir())),
      tmpdir(),
    ),
    `cannot read ${tmpdir()}: it is a directory (EISDIR); give a file name, not a directory`,
  );
  assert.equal(describeSystemError(new Error('plain')), undefined);
  assert.equal(describeSystemError('text'), undefined);
  assert.ok(isClosedPipe(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
});

test('a busy port names the address', async () => {
  const first = createServer();
  await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
  const port = (first.address() as { port: number }).port;
  const second = createServer();
  const error = await new Promise<unknown>((resolve) => {
    second.once('error', resolve);
    second.listen(port, '127.0.0.1');
  });
  first.close();
  assert.equal(
    describeSystemError(error),
    `cannot listen on 127.0.0.1:${port}: the address is in use (EADDRINUSE); another server listens there: choose another port, or stop it`,
  );
});
