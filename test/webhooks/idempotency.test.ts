import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IdempotencyStore,
  memoryIdempotencyStore,
  PatchbayError,
  processOnce,
  redisIdempotencyStore,
} from '../../src/webhooks/index';
import { connectRedis, redisUrl, testPrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';

const prefix = testPrefix(import.meta.url);
let redis: Redis;

beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await redis?.quit();
});

type Factory = (ttl: { lockTtlMs?: number; resultTtlMs?: number }) => IdempotencyStore;
let memoryNow = 0;
const factories: [string, Factory][] = [
  ['memory', (ttl) => memoryIdempotencyStore({ ...ttl, clock: { now: () => Date.now() + memoryNow } })],
  ['redis', (ttl) => redisIdempotencyStore(redis, { resultTtlMs: 600_000, ...ttl, prefix })],
];
let n = 0;
const fresh = () => `evt_${++n}_${Math.random().toString(36).slice(2)}`;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(factories)('%s store with processOnce', (_name, create) => {
  it('runs fn for the first caller and answers duplicate, with the stored result, afterwards', async () => {
    const store = create({});
    const key = fresh();
    let runs = 0;
    const first = await processOnce(store, key, async () => ({ charged: ++runs }));
    expect(first).toEqual({ status: 'processed', result: { charged: 1 } });
    const second = await processOnce(store, key, async () => ({ charged: ++runs }));
    expect(second).toEqual({ status: 'duplicate', result: { charged: 1 } });
    expect(runs).toBe(1);
  });

  it('answers in-flight to concurrent callers while the first runs', async () => {
    const store = create({});
    const key = fresh();
    let runs = 0;
    let finish: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let claimed: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      claimed = resolve;
    });
    const first = processOnce(store, key, async () => {
      runs++;
      claimed();
      await gate;
      return 'done';
    });
    await running;
    const others = await Promise.all(Array.from({ length: 50 }, () => processOnce(store, key, async () => runs++)));
    expect(others.every((outcome) => outcome.status === 'in-flight')).toBe(true);
    finish();
    expect(await first).toEqual({ status: 'processed', result: 'done' });
    expect(runs).toBe(1);
  });

  it('releases the claim when fn throws, so a retry processes the key', async () => {
    const store = create({});
    const key = fresh();
    await expect(
      processOnce(store, key, async () => {
        throw new Error('downstream failed');
      }),
    ).rejects.toThrow('downstream failed');
    expect(await processOnce(store, key, async () => 'second try')).toEqual({
      status: 'processed',
      result: 'second try',
    });
  });

  it("lets another caller take over a claim whose owner never finished, after lockTtlMs, and the late owner's completion is reported as lost", async () => {
    const store = create({ lockTtlMs: 100 });
    const key = fresh();
    const claim = await store.claim(key);
    expect(claim.status).toBe('claimed');
    expect((await store.claim(key)).status).toBe('in-flight');
    memoryNow += 150;
    await wait(150);
    const taken = await store.claim(key);
    expect(taken.status).toBe('claimed');
    if (claim.status !== 'claimed' || taken.status !== 'claimed') return;
    expect(await store.complete(key, claim.token, 'late')).toBe(false);
    expect(await store.release(key, claim.token)).toBe(false);
    expect(await store.complete(key, taken.token, 'ok')).toBe(true);
    expect(await store.claim(key)).toEqual({ status: 'duplicate', result: 'ok' });
  });

  it('forgets a completed key after resultTtlMs', async () => {
    const store = create({ resultTtlMs: 100 });
    const key = fresh();
    await processOnce(store, key, async () => 1);
    expect((await store.claim(key)).status).toBe('duplicate');
    memoryNow += 150;
    await wait(150);
    expect((await store.claim(key)).status).toBe('claimed');
  });

  it('stores an undefined result and hands it back as undefined', async () => {
    const store = create({});
    const key = fresh();
    await processOnce(store, key, async () => undefined);
    expect(await processOnce(store, key, async () => 'x')).toEqual({ status: 'duplicate', result: undefined });
  });

  it('rejects bad keys and functions with ERR_WEBHOOK_INPUT at the call', async () => {
    const store = create({});
    for (const key of ['', 'x'.repeat(513), 42 as unknown as string]) {
      await expect(processOnce(store, key, async () => 1)).rejects.toMatchObject({ code: 'ERR_WEBHOOK_INPUT' });
    }
    await expect(processOnce(store, 'k', 'nope' as never)).rejects.toMatchObject({ code: 'ERR_WEBHOOK_INPUT' });
    await expect(processOnce({} as never, 'k', async () => 1)).rejects.toMatchObject({ code: 'ERR_WEBHOOK_INPUT' });
  });

  it('rejects bad TTLs with ERR_WEBHOOK_OPTIONS', () => {
    for (const ttl of [{ lockTtlMs: 0 }, { resultTtlMs: -1 }, { lockTtlMs: 1.5 }, { resultTtlMs: Number.NaN }]) {
      expect(() => create(ttl)).toThrow(PatchbayError);
    }
  });
});

describe('redis idempotency store', () => {
  it('keeps one hash-tagged key per idempotency key, always with a TTL', async () => {
    const store = redisIdempotencyStore(redis, { prefix, lockTtlMs: 5_000, resultTtlMs: 60_000 });
    const key = fresh();
    const claim = await store.claim(key);
    const redisKey = `${prefix}{${key}}`;
    expect(await redis.get(redisKey)).toMatch(/^L/);
    expect(await redis.pttl(redisKey)).toBeGreaterThan(4_000);
    if (claim.status === 'claimed') await store.complete(key, claim.token, { a: 1 });
    expect(await redis.get(redisKey)).toBe('D{"a":1}');
    expect(await redis.pttl(redisKey)).toBeGreaterThan(55_000);
  });

  it('works with a client made with stringNumbers, whose integer replies are strings', async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(redisUrl(), { stringNumbers: true, lazyConnect: true });
    await client.connect();
    try {
      const store = redisIdempotencyStore(client, { prefix, lockTtlMs: 5_000, resultTtlMs: 60_000 });
      const key = fresh();
      let runs = 0;
      expect(await processOnce(store, key, async () => ++runs)).toEqual({ status: 'processed', result: 1 });
      expect(await processOnce(store, key, async () => ++runs)).toEqual({ status: 'duplicate', result: 1 });
      expect(runs).toBe(1);
      const failing = fresh();
      await expect(
        processOnce(store, failing, () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      // released, so the retry runs
      expect((await processOnce(store, failing, async () => 2)).status).toBe('processed');
    } finally {
      await client.quit();
    }
  });

  it('a result that is not JSON-serialisable is reported as a store error, not lost silently', async () => {
    const store = redisIdempotencyStore(redis, { prefix, resultTtlMs: 600_000 });
    const outcome = await processOnce(store, fresh(), async () => 10n);
    expect(outcome.status).toBe('processed');
    expect(outcome.storeError).toMatchObject({ code: 'ERR_WEBHOOK_STORE' });
  });

  it('rejects with ERR_WEBHOOK_STORE when Redis is down, and recovers when it is back', async () => {
    const server = await startRedisServer();
    const { Redis } = await import('ioredis');
    const client = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    client.on('error', () => {});
    await client.connect();
    try {
      const store = redisIdempotencyStore(client, { prefix });
      expect((await processOnce(store, 'k1', async () => 1)).status).toBe('processed');
      await server.stop();
      let ran = false;
      await expect(
        processOnce(store, 'k2', async () => {
          ran = true;
        }),
      ).rejects.toMatchObject({ code: 'ERR_WEBHOOK_STORE' });
      expect(ran).toBe(false);
      await server.start();
      await new Promise<void>((resolve) => client.once('ready', () => resolve()));
      // a fresh server lost its script cache: EVALSHA gets NOSCRIPT and the script is loaded again
      expect((await processOnce(store, 'k2', async () => 2)).status).toBe('processed');
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('rejects a client that is not a Redis client with ERR_WEBHOOK_OPTIONS', () => {
    expect(() => redisIdempotencyStore({} as never)).toThrow(expect.objectContaining({ code: 'ERR_WEBHOOK_OPTIONS' }));
  });

  it('rejects null or non-object options with ERR_WEBHOOK_OPTIONS, and takes undefined as the defaults', () => {
    const client = { evalsha: async () => null, eval: async () => null } as never;
    for (const options of [null, 'x', 5]) {
      expect(() => memoryIdempotencyStore(options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_WEBHOOK_OPTIONS' }),
      );
      expect(() => redisIdempotencyStore(client, options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_WEBHOOK_OPTIONS' }),
      );
    }
    expect(() => memoryIdempotencyStore(undefined)).not.toThrow();
    expect(() => redisIdempotencyStore(client, undefined)).not.toThrow();
  });

  it('rejects a timeoutMs that is not a number >= 1 with ERR_WEBHOOK_OPTIONS', () => {
    const client = { evalsha: async () => null, eval: async () => null } as never;
    for (const timeoutMs of [0, -1, Number.NaN, '500']) {
      expect(() => redisIdempotencyStore(client, { timeoutMs } as never)).toThrow(
        expect.objectContaining({ code: 'ERR_WEBHOOK_OPTIONS' }),
      );
    }
  });

  it('rejects a prefix with braces, which would put every key in one Cluster slot', () => {
    const client = { evalsha: async () => null, eval: async () => null } as never;
    for (const prefix of ['app:{x}:', 'a{', '}']) {
      expect(() => redisIdempotencyStore(client, { prefix })).toThrow(
        expect.objectContaining({ code: 'ERR_WEBHOOK_OPTIONS' }),
      );
    }
  });
});
