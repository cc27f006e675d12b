import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError } from '../../src/core/errors';
import { sleep } from '../../src/core/timeout';
import { type CacheKeys, type CacheStore, createPrewarmer, warmCache } from '../../src/prewarm/index';
import { connectRedis, testPrefix } from '../support/redis';

const prefix = testPrefix(import.meta.url);
let redis: Redis;

beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

function redisStore(namespace: string): CacheStore<string, string> {
  return {
    get: (key) => redis.get(`${prefix}${namespace}:${key}`),
    set: (key, value) => redis.set(`${prefix}${namespace}:${key}`, value, 'EX', 300),
  };
}

describe('warmCache', () => {
  it('loads 10,000 keys into Redis with at most 32 loads in flight', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const keys = Array.from({ length: 10_000 }, (_, i) => `product:${i}`);
    const result = await warmCache({
      keys,
      concurrency: 32,
      store: redisStore('big'),
      load: async (key) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // The load is the slow part, as a database read would be, so the pool fills up.
        await sleep(2);
        inFlight--;
        return `value of ${key}`;
      },
    })();

    expect(result).toEqual({ keys: 10_000, hits: 0, misses: 10_000, failures: 0, errors: [] });
    expect(maxInFlight).toBeLessThanOrEqual(32);
    // The bound is used, not just respected: loads really ran side by side.
    expect(maxInFlight).toBeGreaterThan(16);
    expect(await redis.get(`${prefix}big:product:9999`)).toBe('value of product:9999');
    expect((await redis.keys(`${prefix}big:*`)).length).toBe(10_000);
  });

  it('counts keys already in the store as hits without loading them, unless asked to refresh', async () => {
    const store = redisStore('hits');
    await store.set('a', 'cached');
    const loaded: string[] = [];
    const options = {
      keys: ['a', 'b', 'c'],
      store,
      load: async (key: string) => {
        loaded.push(key);
        return `fresh ${key}`;
      },
    };
    expect(await warmCache(options)()).toMatchObject({ keys: 3, hits: 1, misses: 2, failures: 0 });
    expect(loaded.sort()).toEqual(['b', 'c']);

    loaded.length = 0;
    expect(await warmCache({ ...options, refresh: true })()).toMatchObject({ hits: 0, misses: 3 });
    expect(loaded.sort()).toEqual(['a', 'b', 'c']);
    expect(await redis.get(`${prefix}hits:a`)).toBe('fresh a');
  });

  it('reports failed keys, and fails with ERR_PREWARM_CACHE beyond maxFailures', async () => {
    const store = new Map<number, number>();
    const load = async (key: number): Promise<number> => {
      if (key % 10 === 0) throw new Error(`no row ${key}`);
      return key * 2;
    };
    const keys = Array.from({ length: 50 }, (_, i) => i);

    const tolerant = await warmCache({ keys, load, store, maxFailures: 5 })();
    expect(tolerant).toMatchObject({ keys: 50, hits: 0, misses: 45, failures: 5 });
    expect(tolerant.errors.map((e) => e.key).sort((a, b) => Number(a) - Number(b))).toEqual([0, 10, 20, 30, 40]);
    expect(store.get(7)).toBe(14);

    store.clear();
    const error = await warmCache({ keys, load, store })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PREWARM_CACHE', message: expect.stringContaining('5 of 50') });
    expect((error as Error).cause).toMatchObject({ message: expect.stringMatching(/^no row/) });
  });

  it('streams keys from an async generator function, and a failing write counts as a failure', async () => {
    const written: string[] = [];
    const store: CacheStore<string, string> = {
      set: async (key, value) => {
        if (key === 'k3') throw new Error('store full');
        written.push(value);
      },
    };
    const result = await warmCache({
      keys: async function* () {
        for (let i = 0; i < 6; i++) {
          await sleep(1);
          yield `k${i}`;
        }
      },
      load: (key) => key.toUpperCase(),
      store,
      concurrency: 3,
      maxFailures: 1,
    })();
    expect(result).toMatchObject({ keys: 6, misses: 5, failures: 1 });
    expect(written.sort()).toEqual(['K0', 'K1', 'K2', 'K4', 'K5']);
  });

  it('stops starting loads when aborted and passes the signal to each load', async () => {
    const controller = new AbortController();
    let started = 0;
    const signals: AbortSignal[] = [];
    const running = warmCache({
      keys: Array.from({ length: 1_000 }, (_, i) => i),
      store: new Map(),
      concurrency: 4,
      load: async (_key, signal) => {
        started++;
        signals.push(signal);
        await sleep(5);
        return 1;
      },
    })(controller.signal);
    setTimeout(() => controller.abort(), 30);
    await expect(running).rejects.toBeInstanceOf(AbortError);
    const atAbort = started;
    await sleep(30);
    expect(started).toBe(atAbort);
    expect(started).toBeLessThan(1_000);
    expect(signals[0]).toBe(controller.signal);
  });

  it.each(['false', 1, null])('refuses a refresh of %j, which would read as true', (refresh) => {
    const options = { keys: ['user:1'], load: async () => 1, store: new Map(), refresh: refresh as never };
    expect(() => warmCache(options)).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS', message: expect.stringContaining('refresh') }),
    );
  });

  it('refuses a one-shot key iterator at the call; the function that makes it warms every key on a retry', async () => {
    function* hotKeys(): Generator<string> {
      yield 'user:1';
      yield 'user:2';
    }
    async function* asyncHotKeys(): AsyncGenerator<string> {
      yield* hotKeys();
    }
    const load = async (key: string): Promise<string> => `v:${key}`;
    const oneShot = [hotKeys(), asyncHotKeys(), new Map([['user:1', 1]]).keys(), ['user:1'].values()];
    for (const keys of oneShot) {
      expect(() => warmCache({ keys, load, store: new Map() })).toThrow(
        expect.objectContaining({
          code: 'ERR_PREWARM_OPTIONS',
          message: expect.stringContaining('function that returns a fresh iterable'),
        }),
      );
    }

    const store = redisStore('retry');
    let calls = 0;
    const report = await createPrewarmer({ backoff: { initialMs: 1, maxMs: 2 } })
      .add({
        name: 'hot-users',
        retries: 1,
        run: warmCache({
          keys: () => hotKeys(),
          store,
          load: async (key) => {
            calls++;
            if (calls === 1) throw new Error('database blip');
            return load(key);
          },
        }),
      })
      .run();
    expect(report.ready).toBe(true);
    expect(report.tasks[0]).toMatchObject({ status: 'ok', attempts: 2, result: { keys: 2, failures: 0 } });
    expect(await redis.get(`${prefix}retry:user:1`)).toBe('v:user:1');
    expect(await redis.get(`${prefix}retry:user:2`)).toBe('v:user:2');
  });

  it('rejects with ERR_PREWARM_CACHE, the cause kept, when the key source throws', async () => {
    const options = { load: async (key: string) => key, store: new Map<string, string>() };
    const cases: CacheKeys<string>[] = [
      async function* () {
        yield 'a';
        throw new Error('cursor lost');
      },
      async () => {
        throw new Error('cursor lost');
      },
      {
        [Symbol.iterator]: () => ({
          next: (): IteratorResult<string> => {
            throw new Error('cursor lost');
          },
        }),
      },
    ];
    for (const keys of cases) {
      await expect(warmCache({ ...options, keys })()).rejects.toMatchObject({
        code: 'ERR_PREWARM_CACHE',
        cause: expect.objectContaining({ message: 'cursor lost' }),
      });
    }
    // a key source that gives up because the warm-up was aborted is an abort, not a failure
    const controller = new AbortController();
    const aborted = warmCache({
      ...options,
      keys: (signal) =>
        new Promise<string[]>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    })(controller.signal);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
  });

  it('lets the key source clean up (return()) when the warm-up is aborted mid-way', async () => {
    let closed = 0;
    const sources: CacheKeys<number>[] = [
      function* () {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          closed++;
        }
      },
      async function* () {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          closed++;
        }
      },
    ];
    for (const keys of sources) {
      const controller = new AbortController();
      const running = warmCache({
        keys,
        store: new Map(),
        concurrency: 2,
        load: async () => {
          await sleep(2);
          return 1;
        },
      })(controller.signal);
      await sleep(10);
      controller.abort();
      await expect(running).rejects.toBeInstanceOf(AbortError);
    }
    await sleep(5);
    expect(closed).toBe(2);
  });

  it('rejects bad options with ERR_PREWARM_OPTIONS at the call', () => {
    const base = { keys: ['a'], load: async () => 1, store: new Map() };
    const cases: unknown[] = [
      null,
      { ...base, keys: 'abc' },
      { ...base, keys: 42 },
      { ...base, load: 'x' },
      { ...base, store: {} },
      { ...base, concurrency: 0 },
      { ...base, maxFailures: -1 },
    ];
    for (const options of cases) {
      expect(() => warmCache(options as never)).toThrow(expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }));
    }
  });
});
