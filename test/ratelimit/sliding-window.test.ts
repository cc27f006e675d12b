import { describe, expect, it } from 'vitest';
import { slidingWindow } from '../../src/ratelimit/sliding-window';
import { memoryStore } from '../../src/ratelimit/stores/memory';
import { manualClock } from '../support/clock';
import { arrivals, maxInAnyWindow } from './support';

describe('slidingWindow (exact log, memory store)', () => {
  it('admits exactly limit, then denies with the time until the oldest request leaves the window', async () => {
    const clock = manualClock();
    const limiter = slidingWindow({ limit: 3, windowMs: 1_000, store: memoryStore({ clock }) });
    const start = clock.now();
    for (let i = 0; i < 3; i++) {
      const d = await limiter.consume('k');
      expect(d).toEqual({ allowed: true, limit: 3, remaining: 2 - i, resetAt: clock.now() + 1_000, retryAfterMs: 0 });
      clock.advance(100);
    }
    const denied = await limiter.consume('k');
    expect(denied.allowed).toBe(false);
    expect(denied.remaining).toBe(0);
    expect(denied.retryAfterMs).toBe(start + 1_000 - clock.now());
    clock.advance(denied.retryAfterMs - 1);
    expect((await limiter.consume('k')).allowed).toBe(false);
    clock.advance(1);
    expect((await limiter.consume('k')).allowed).toBe(true);
  });

  it.each([
    [10, 1_000, 1],
    [7, 250, 2],
    [20, 60_000, 3],
  ])(
    'never admits more than %i in any window of %i ms, and never denies a request that fits (seed %i)',
    async (limit, windowMs, seed) => {
      const clock = manualClock();
      const limiter = slidingWindow({ limit, windowMs, store: memoryStore({ clock }) });
      const admitted: { at: number; cost: number }[] = [];
      for (const gap of arrivals(5_000, seed, windowMs)) {
        clock.advance(gap);
        const now = clock.now();
        const decision = await limiter.consume('key');
        const inWindow = admitted.filter((a) => a.at > now - windowMs).reduce((sum, a) => sum + a.cost, 0);
        // exact in both directions: admitted iff it fits in (now - windowMs, now]
        expect(decision.allowed).toBe(inWindow + 1 <= limit);
        if (decision.allowed) admitted.push({ at: now, cost: 1 });
        expect(decision.remaining).toBe(limit - inWindow - (decision.allowed ? 1 : 0));
      }
      expect(maxInAnyWindow(admitted, windowMs)).toBe(limit);
      expect(admitted.length).toBeGreaterThan(limit * 3);
    },
  );

  it('counts costs, and says when enough of the window has expired for a big request', async () => {
    const clock = manualClock();
    const limiter = slidingWindow({ limit: 10, windowMs: 1_000, store: memoryStore({ clock }) });
    const t0 = clock.now();
    expect((await limiter.consume('k', { cost: 4 })).remaining).toBe(6);
    clock.advance(200);
    expect((await limiter.consume('k', { cost: 5 })).remaining).toBe(1);
    clock.advance(200);
    const denied = await limiter.consume('k', { cost: 6 });
    expect(denied.allowed).toBe(false);
    // 1 left; 6 needs 5 more: the first entry (4) is not enough, the second (5) is
    expect(denied.retryAfterMs).toBe(t0 + 200 + 1_000 - clock.now());
    expect((await limiter.consume('k', { cost: 1 })).allowed).toBe(true);
    expect((await limiter.consume('k', { cost: 0 })).allowed).toBe(true);
  });

  it('keeps a request in the window until a window after the newest time seen when the clock steps back', async () => {
    // Date.now() steps back when NTP corrects the wall clock
    const clock = manualClock(10_000);
    const store = memoryStore({ clock, maxKeys: 2 });
    const limiter = slidingWindow({ limit: 2, windowMs: 1_000, store });
    await limiter.consume('a');
    clock.set(9_000);
    const second = await limiter.consume('a');
    expect(second).toMatchObject({ allowed: true, remaining: 0 });
    // the request made at 10 000 is in the window until 11 000
    expect(second.resetAt).toBe(11_000);
    clock.set(10_000);
    expect(await limiter.peek('a')).toMatchObject({ allowed: false, retryAfterMs: 1_000 });
    // a new key makes the store reclaim state it believes has expired
    await limiter.consume('b');
    expect(await limiter.consume('a')).toMatchObject({ allowed: false, remaining: 0 });
    clock.set(11_000);
    expect(await limiter.consume('a')).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('denies a cost above the limit with retryAfterMs Infinity instead of throwing', async () => {
    const limiter = slidingWindow({ limit: 5, windowMs: 1_000 });
    const decision = await limiter.consume('k', { cost: 6 });
    expect(decision).toMatchObject({ allowed: false, remaining: 5, retryAfterMs: Number.POSITIVE_INFINITY });
    expect((await limiter.consume('k', { cost: 5 })).allowed).toBe(true);
  });

  it('peek takes nothing and reports what consume would decide', async () => {
    const clock = manualClock();
    const limiter = slidingWindow({ limit: 2, windowMs: 1_000, store: memoryStore({ clock }) });
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 2 });
    await limiter.consume('k');
    await limiter.consume('k');
    for (let i = 0; i < 3; i++) expect(await limiter.peek('k')).toMatchObject({ allowed: false, remaining: 0 });
    clock.advance(1_000);
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('reset restores the full quota of one key only', async () => {
    const limiter = slidingWindow({ limit: 1, windowMs: 60_000 });
    await limiter.consume('a');
    await limiter.consume('b');
    await limiter.reset('a');
    expect((await limiter.consume('a')).allowed).toBe(true);
    expect((await limiter.consume('b')).allowed).toBe(false);
  });

  it('keeps limiters with different quotas apart on a shared store and key', async () => {
    const store = memoryStore();
    const perSecond = slidingWindow({ limit: 2, windowMs: 1_000, store });
    const perMinute = slidingWindow({ limit: 3, windowMs: 60_000, store });
    for (let i = 0; i < 2; i++) {
      expect((await perSecond.consume('u')).allowed).toBe(true);
      expect((await perMinute.consume('u')).allowed).toBe(true);
    }
    expect((await perSecond.consume('u')).allowed).toBe(false);
    expect((await perMinute.consume('u')).remaining).toBe(0);
  });

  it('exposes its policy for headers', () => {
    expect(slidingWindow({ limit: 5, windowMs: 1_000 }).policy).toEqual({ name: 'default', limit: 5, windowMs: 1_000 });
    expect(slidingWindow({ limit: 5, windowMs: 1_000, name: 'login' }).policy.name).toBe('login');
  });
});

describe('slidingWindow approximate (two-window counter, memory store)', () => {
  it('weights the previous window by its overlap with the sliding window', async () => {
    const clock = manualClock(1_000_000); // aligned to the 1 s windows
    const limiter = slidingWindow({ limit: 10, windowMs: 1_000, approximate: true, store: memoryStore({ clock }) });
    for (let i = 0; i < 10; i++) expect((await limiter.consume('k')).allowed).toBe(true);
    expect((await limiter.consume('k')).allowed).toBe(false);
    clock.advance(1_250); // next window, a quarter in: estimate = 10 * 0.75 = 7.5
    const peek = await limiter.peek('k');
    expect(peek.remaining).toBe(2);
    expect((await limiter.consume('k', { cost: 2 })).allowed).toBe(true);
    const denied = await limiter.consume('k', { cost: 1 });
    expect(denied.allowed).toBe(false);
    // 10 * (1 - f) + 2 + 1 <= 10  =>  f >= 0.3, i.e. 50 ms from now
    expect(denied.retryAfterMs).toBe(50);
    clock.advance(50);
    expect((await limiter.consume('k')).allowed).toBe(true);
  });

  it('stays within twice the limit in any window, even for adversarial bursts', async () => {
    const clock = manualClock(1_000_000);
    const limit = 50;
    const windowMs = 1_000;
    const limiter = slidingWindow({ limit, windowMs, approximate: true, store: memoryStore({ clock }) });
    const admitted: { at: number; cost: number }[] = [];
    for (const gap of arrivals(20_000, 9, windowMs)) {
      clock.advance(gap);
      if ((await limiter.consume('k')).allowed) admitted.push({ at: clock.now(), cost: 1 });
    }
    const worst = maxInAnyWindow(admitted, windowMs);
    expect(worst).toBeGreaterThanOrEqual(limit);
    expect(worst).toBeLessThanOrEqual(2 * limit);
  });

  it('admits close to the limit per window under steady traffic', async () => {
    const clock = manualClock(1_000_000);
    const limiter = slidingWindow({ limit: 100, windowMs: 1_000, approximate: true, store: memoryStore({ clock }) });
    let admitted = 0;
    for (let i = 0; i < 10_000; i++) {
      clock.advance(2); // 500 requests a second offered, 100 allowed
      if ((await limiter.consume('k')).allowed && i >= 5_000) admitted++;
    }
    // 5 000 requests over the last 10 s: about 1 000 admitted
    expect(admitted).toBeGreaterThanOrEqual(950);
    expect(admitted).toBeLessThanOrEqual(1_050);
  });
});
