import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { slidingWindow } from '../../src/ratelimit/sliding-window';
import { type RedisErrorMode, type RedisStoreEvent, redisStore } from '../../src/ratelimit/stores/redis';
import type { Decision } from '../../src/ratelimit/types';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { type RedisServer, startRedisServer } from '../support/redis-server';

let server: RedisServer;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  // a fresh, empty server for the next test, whatever this one did to it
  await server.stop();
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

/** A client with ioredis defaults (offline queue on, 20 retries per request), reconnecting fast. */
async function client(): Promise<Redis> {
  const redis = new Redis(server.url, { retryStrategy: () => 50 });
  redis.on('error', () => {}); // connection errors are expected here; the store must cope
  clients.push(redis);
  await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

async function untilReady(redis: Redis): Promise<void> {
  while (redis.status !== 'ready') await sleep(20);
}

function setup(onError: RedisErrorMode) {
  const events: RedisStoreEvent['type'][] = [];
  return client().then((redis) => ({
    redis,
    events,
    limiter: slidingWindow({
      limit: 3,
      windowMs: 60_000,
      store: redisStore(redis, { onError, timeoutMs: 200, onEvent: (event) => events.push(event.type) }),
    }),
  }));
}

async function timed(work: Promise<Decision>): Promise<Decision & { ms: number }> {
  const started = performance.now();
  const decision = await work;
  return { ...decision, ms: performance.now() - started };
}

describe.each(['stopped', 'hung'] as const)('Redis %s mid-run', (fault) => {
  const inject = async (): Promise<void> => {
    if (fault === 'stopped') await server.stop();
    else server.pause();
  };
  const heal = async (): Promise<void> => {
    if (fault === 'stopped') await server.start();
    else server.resume();
  };

  it("'allow' fails open within the timeout, then decides from Redis again", async () => {
    const { redis, limiter, events } = await setup('allow');
    for (let i = 0; i < 3; i++) await limiter.consume('k');
    expect((await limiter.consume('k')).allowed).toBe(false);
    await inject();
    for (let i = 0; i < 5; i++) {
      const decision = await timed(limiter.consume('k'));
      expect(decision.allowed).toBe(true);
      expect(decision.ms).toBeLessThan(1_000);
    }
    // a cost Redis could never admit is denied as Redis would deny it, not waved through
    expect(await limiter.consume('k', { cost: 4 })).toMatchObject({ allowed: false, retryAfterMs: Infinity });
    await heal();
    await untilReady(redis);
    const back = await limiter.consume('k');
    // a hung server kept its data (3 of 3 used); a restarted one (no persistence) starts empty
    expect(back.allowed).toBe(fault === 'stopped');
    expect(await redis.llen('pb:rl:sw:3:60000:{k}')).toBe(3 - back.remaining);
    expect(events).toEqual(['store-unavailable', 'store-recovered']);
  });

  it("'deny' fails closed within the timeout, with a retry hint", async () => {
    const { redis, limiter, events } = await setup('deny');
    expect((await limiter.consume('k')).allowed).toBe(true);
    await inject();
    for (let i = 0; i < 5; i++) {
      const decision = await timed(limiter.consume('k'));
      expect(decision).toMatchObject({ allowed: false, retryAfterMs: 1_000 });
      expect(decision.ms).toBeLessThan(1_000);
    }
    await heal();
    await untilReady(redis);
    const back = await limiter.consume('k');
    expect(await redis.llen('pb:rl:sw:3:60000:{k}')).toBe(3 - back.remaining);
    // a hung server runs the 5 commands that timed out once it thaws: the key is full
    if (fault === 'hung') expect(back.allowed).toBe(false);
    expect(events).toEqual(['store-unavailable', 'store-recovered']);
  });

  it("'insurance' enforces the quota per process while Redis is away", async () => {
    const { redis, limiter, events } = await setup('insurance');
    expect((await limiter.consume('k')).allowed).toBe(true);
    await inject();
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await timed(limiter.consume('k')));
    expect(during.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    for (const decision of during) expect(decision.ms).toBeLessThan(1_000);
    await heal();
    await untilReady(redis);
    const back = await limiter.consume('k');
    // decided by Redis again: the answer matches what Redis holds. Commands that timed out
    // may still have been applied (all of them, by a hung server once it thaws).
    expect(await redis.llen('pb:rl:sw:3:60000:{k}')).toBe(3 - back.remaining);
    if (fault === 'hung') expect(back.allowed).toBe(false);
    expect(events).toEqual(['store-unavailable', 'store-recovered']);
  });
});

describe('while Redis is down', () => {
  it('does not pile requests up in the ioredis offline queue', async () => {
    const { redis, limiter } = await setup('insurance');
    await server.stop();
    while (redis.status === 'ready') await sleep(10);
    await Promise.all(Array.from({ length: 1_000 }, () => limiter.consume('burst')));
    // ioredis keeps commands issued while disconnected here (internal, but the thing to watch)
    const offline = (redis as unknown as { offlineQueue: { length: number } }).offlineQueue;
    expect(offline.length).toBe(0);
  });

  it.each([
    [
      'throws',
      (): never => {
        throw new Error('observer bug');
      },
    ],
    [
      'rejects',
      async (): Promise<never> => {
        throw new Error('async observer bug');
      },
    ],
  ] as const)('applies the onError fallback and recovers when onEvent %s', async (_, onEvent) => {
    const faults = recordFaults();
    try {
      for (const onError of ['insurance', 'allow'] as const) {
        const redis = await client();
        const seen: string[] = [];
        const limiter = slidingWindow({
          limit: 3,
          windowMs: 60_000,
          store: redisStore(redis, {
            onError,
            timeoutMs: 200,
            prefix: `pb:rl:${onError}:`,
            onEvent: (event) => {
              seen.push(event.type);
              return onEvent();
            },
          }),
        });
        await server.stop();
        await expect(limiter.consume('k')).resolves.toMatchObject({ allowed: true });
        await server.start();
        await untilReady(redis);
        await expect(limiter.consume('k')).resolves.toMatchObject({ allowed: true });
        expect(seen).toEqual(['store-unavailable', 'store-recovered']);
      }
      await sleep(20);
      expect(faults.faults).toEqual([]);
    } finally {
      faults.stop();
    }
  });

  it('reset fails loudly with ERR_RATELIMIT_STORE rather than pretending', async () => {
    const { limiter } = await setup('insurance');
    server.pause();
    await expect(limiter.reset('k')).rejects.toMatchObject({ code: 'ERR_RATELIMIT_STORE' });
  });

  it('reset fails at once while the client is disconnected, not later applied after reporting failure', async () => {
    // a client that stays away for a while, on a server that keeps its data
    const redis = new Redis(server.url, { retryStrategy: () => 600 });
    redis.on('error', () => {});
    clients.push(redis);
    await new Promise((resolve) => redis.once('ready', resolve));
    const admin = new Redis(server.url);
    clients.push(admin);
    const limiter = slidingWindow({ limit: 3, windowMs: 60_000, store: redisStore(redis, { timeoutMs: 200 }) });
    await limiter.consume('k');
    await admin.client('KILL', 'ID', String(await redis.client('ID')));
    while (redis.status === 'ready') await sleep(10);
    const started = performance.now();
    await expect(limiter.reset('k')).rejects.toMatchObject({ code: 'ERR_RATELIMIT_STORE' });
    expect(performance.now() - started).toBeLessThan(100);
    await untilReady(redis);
    await sleep(50);
    // the reset was reported as failed, so the key is as it was
    expect(await admin.llen('pb:rl:sw:3:60000:{k}')).toBe(1);
  });

  it('never leaves an unhandled rejection, a timer or a socket behind', async () => {
    await server.stop();
    const result = await runIsolated(
      `
      import { Redis } from 'ioredis';
      import { redisStore, slidingWindow } from './src/ratelimit/index';
      process.on('unhandledRejection', (e) => { console.error('unhandled', e); process.exitCode = 1; });
      const redis = new Redis(process.env.REDIS_URL, { retryStrategy: () => null, lazyConnect: true });
      redis.on('error', () => {});
      await redis.connect().catch(() => {});
      const limiter = slidingWindow({ limit: 2, windowMs: 60_000, store: redisStore(redis, { timeoutMs: 5_000 }) });
      const decisions = await Promise.all([limiter.consume('a'), limiter.consume('a'), limiter.consume('a')]);
      console.log(JSON.stringify(decisions.map((d) => d.allowed)));
      redis.disconnect();
      `,
      { env: { REDIS_URL: server.url } },
    );
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    expect(JSON.parse(result.stdout)).toEqual([true, true, false]);
    // the 5 s timeouts were cleared: the process did not wait for them
    expect(result.durationMs).toBeLessThan(4_000);
  });
});
