import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Limiter } from '../src/dns/limiter.js';

describe('Limiter', () => {
  it('holds at most max slots and serves waiters in arrival order', async () => {
    const limiter = new Limiter(2);
    assert.equal(await limiter.acquire(), true);
    assert.equal(await limiter.acquire(), true);
    const order: number[] = [];
    const third = limiter.acquire().then(() => order.push(3));
    const fourth = limiter.acquire().then(() => order.push(4));
    await Promise.resolve();
    assert.deepEqual(order, []);
    assert.equal(limiter.queued, 2);
    limiter.release();
    await third;
    limiter.release();
    await fourth;
    assert.deepEqual(order, [3, 4]);
    assert.equal(limiter.inFlight, 2);
  });

  it('lets an aborted waiter leave the queue without taking a slot', async () => {
    const limiter = new Limiter(1);
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort();
    assert.equal(await waiting, false);
    assert.equal(limiter.queued, 0);
    limiter.release();
    assert.equal(limiter.inFlight, 0);
    assert.equal(await limiter.acquire(AbortSignal.abort()), false);
  });
});
