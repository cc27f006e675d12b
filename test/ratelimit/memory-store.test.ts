import { describe, expect, it } from 'vitest';
import { slidingWindow } from '../../src/ratelimit/sliding-window';
import { memoryStore } from '../../src/ratelimit/stores/memory';
import type { RateLimitAlgorithm } from '../../src/ratelimit/types';
import { manualClock } from '../support/clock';

/** How many keys a store holds, read through its own decisions: a held key has used its quota. */
async function held(
  store: ReturnType<typeof memoryStore>,
  algorithm: RateLimitAlgorithm,
  keys: string[],
): Promise<number> {
  let count = 0;
  for (const key of keys) if (!(await store.decide(algorithm, key, 1, false)).allowed) count++;
  return count;
}

describe('memoryStore', () => {
  const algorithm: RateLimitAlgorithm = { kind: 'sliding-log', id: 'test', limit: 1, windowMs: 3_600_000 };

  it('stays under maxKeys with 1M distinct keys', async () => {
    const gc = globalThis.gc;
    if (!gc)
      throw new Error('this test measures the heap: run vitest with execArgv --expose-gc (see vitest.config.ts)');
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const store = memoryStore({ maxKeys: 10_000 });
    for (let i = 0; i < 1_000_000; i++) await store.decide(algorithm, `key:${i}`, 1, true);
    const recent = Array.from({ length: 10_000 }, (_, i) => `key:${999_999 - i}`);
    expect(await held(store, algorithm, recent)).toBe(10_000);
    const early = Array.from({ length: 1_000 }, (_, i) => `key:${i * 97}`);
    expect(await held(store, algorithm, early)).toBe(0);
    // 1M keys' worth of state would be hundreds of MB; 10k keys is a few MB
    gc();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(16 * 1024 * 1024);
  });

  it('evicts the least recently used key, not a key in use', async () => {
    const store = memoryStore({ maxKeys: 4 });
    for (const key of ['a', 'b', 'c', 'd']) await store.decide(algorithm, key, 1, true);
    // keep "a" in use while new keys arrive
    for (const key of ['e', 'f', 'g']) {
      await store.decide(algorithm, 'a', 1, true);
      await store.decide(algorithm, key, 1, true);
    }
    expect(await held(store, algorithm, ['a'])).toBe(1);
    expect(await held(store, algorithm, ['b', 'c', 'd'])).toBe(0);
    expect(await held(store, algorithm, ['e', 'f', 'g'])).toBe(3);
  });

  it.each([2, 3, 4, 8])('never evicts a key used just before each new key arrives (maxKeys %i)', async (maxKeys) => {
    const store = memoryStore({ maxKeys });
    for (let i = 0; i < 100; i++) {
      await store.decide(algorithm, 'hot', 1, true);
      await store.decide(algorithm, `new:${i}`, 1, true);
      expect(await held(store, algorithm, ['hot'])).toBe(1);
    }
  });

  it('reclaims expired state as new keys arrive, without timers', async () => {
    const clock = manualClock();
    const store = memoryStore({ maxKeys: 1_000, clock });
    const limiter = slidingWindow({ limit: 1, windowMs: 1_000, store });
    for (let i = 0; i < 500; i++) await limiter.consume(`old:${i}`);
    clock.advance(1_000);
    // the store is half full: each new key reclaims expired ones, so 1 000 new keys all fit
    for (let i = 0; i < 1_000; i++) await limiter.consume(`new:${i}`);
    let denied = 0;
    for (let i = 0; i < 1_000; i++) if (!(await limiter.peek(`new:${i}`)).allowed) denied++;
    expect(denied).toBe(1_000);
  });

  it('does not store anything for peeks, denials or zero-cost requests', async () => {
    const store = memoryStore({ maxKeys: 2 });
    await store.decide(algorithm, 'kept', 1, true);
    await store.decide(algorithm, 'kept2', 1, true);
    for (let i = 0; i < 100; i++) {
      await store.decide(algorithm, `peek:${i}`, 1, false);
      await store.decide(algorithm, `zero:${i}`, 0, true);
      await store.decide(algorithm, `huge:${i}`, 5, true);
    }
    expect(await held(store, algorithm, ['kept', 'kept2'])).toBe(2);
  });
});
