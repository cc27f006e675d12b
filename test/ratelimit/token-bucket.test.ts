import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/ratelimit/stores/memory';
import { tokenBucket } from '../../src/ratelimit/token-bucket';
import { manualClock } from '../support/clock';

describe('tokenBucket (memory store)', () => {
  it('admits a burst of capacity, then the refill rate', async () => {
    const clock = manualClock();
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 2, store: memoryStore({ clock }) });
    for (let i = 0; i < 5; i++) expect((await limiter.consume('k')).allowed).toBe(true);
    const empty = await limiter.consume('k');
    expect(empty).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 500 });
    // steady state: exactly 2 a second over the next 10 s
    let admitted = 0;
    for (let ms = 0; ms < 10_000; ms += 50) {
      clock.advance(50);
      if ((await limiter.consume('k')).allowed) admitted++;
    }
    expect(admitted).toBe(20);
  });

  it('refills continuously and never above capacity', async () => {
    const clock = manualClock();
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: 4, store: memoryStore({ clock }) });
    await limiter.consume('k', { cost: 10 });
    clock.advance(750); // 3 tokens
    expect(await limiter.peek('k')).toMatchObject({ remaining: 3 });
    clock.advance(60_000);
    const full = await limiter.peek('k');
    expect(full.remaining).toBe(10);
    expect(full.resetAt).toBe(clock.now());
  });

  it('takes cost > 1, says how long until that cost is available, and never goes negative', async () => {
    const clock = manualClock();
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: 1, store: memoryStore({ clock }) });
    expect(await limiter.consume('k', { cost: 7 })).toMatchObject({ allowed: true, remaining: 3 });
    const denied = await limiter.consume('k', { cost: 5 });
    expect(denied).toMatchObject({ allowed: false, remaining: 3, retryAfterMs: 2_000 });
    expect(denied.resetAt).toBe(clock.now() + 7_000);
    clock.advance(1_999);
    expect((await limiter.consume('k', { cost: 5 })).allowed).toBe(false);
    clock.advance(1);
    expect(await limiter.consume('k', { cost: 5 })).toMatchObject({ allowed: true, remaining: 0 });
    for (let i = 0; i < 5; i++) expect((await limiter.consume('k', { cost: 0.5 })).remaining).toBe(0);
  });

  it('keeps fractional refill rates exact enough to admit on time', async () => {
    const clock = manualClock();
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 3, store: memoryStore({ clock }) });
    let admitted = 0;
    for (let i = 0; i <= 3_000; i++) {
      if ((await limiter.consume('k')).allowed) admitted++;
      clock.advance(1);
    }
    // 2 to start plus 3 a second for 3 s; the last one is due at exactly t = 3000, where the
    // accumulated 0.003-per-ms refill must not round to just under a whole token
    expect(admitted).toBe(11);
  });

  it('denies a cost above capacity with retryAfterMs Infinity, not an exception', async () => {
    const limiter = tokenBucket({ capacity: 3, refillPerSecond: 1 });
    expect(await limiter.consume('k', { cost: 4 })).toMatchObject({
      allowed: false,
      limit: 3,
      remaining: 3,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
  });

  it('does not drain the bucket when the clock steps backwards', async () => {
    const clock = manualClock();
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1, store: memoryStore({ clock }) });
    await limiter.consume('k');
    clock.advance(-5_000);
    expect((await limiter.peek('k')).remaining).toBe(1);
  });

  it('reports a policy whose window is the time to refill an empty bucket', () => {
    expect(tokenBucket({ capacity: 10, refillPerSecond: 4 }).policy).toEqual({
      name: 'default',
      limit: 10,
      windowMs: 2_500,
    });
  });
});
