import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { rateLimitHeaders } from '../../src/ratelimit/headers';
import { slidingWindow } from '../../src/ratelimit/sliding-window';
import { memoryStore } from '../../src/ratelimit/stores/memory';
import { type RedisStoreEvent, redisStore } from '../../src/ratelimit/stores/redis';
import { tokenBucket } from '../../src/ratelimit/token-bucket';
import type { RateLimiter } from '../../src/ratelimit/types';
import { manualClock } from '../support/clock';
import { recordFaults } from '../support/faults';
import { roundTrips } from '../support/monitor';
import { connectRedis, testPrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';
import { maxInAnyWindow } from './support';

const prefix = testPrefix(import.meta.url);
let redis: Redis;
let observer: Redis;

beforeAll(async () => {
  redis = await connectRedis();
  observer = await connectRedis();
});

afterAll(async () => {
  await redis?.quit();
  await observer?.quit();
});

const store = () => redisStore(redis, { prefix });

async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

describe('redisStore: sliding window (exact log)', () => {
  it('admits exactly limit, then denies with the time until the oldest request leaves', async () => {
    const limiter = slidingWindow({ limit: 3, windowMs: 2_000, store: store() });
    const before = await redisNow();
    for (let i = 0; i < 3; i++)
      expect(await limiter.consume('basic')).toMatchObject({ allowed: true, remaining: 2 - i });
    const denied = await limiter.consume('basic');
    expect(denied).toMatchObject({ allowed: false, limit: 3, remaining: 0 });
    expect(denied.retryAfterMs).toBeGreaterThan(1_800);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(2_000);
    expect(denied.resetAt).toBeGreaterThanOrEqual(before + 2_000);
    expect(denied.resetAt).toBeLessThan(before + 2_200);
  });

  it('never admits more than limit in any window, with real time and bursty traffic', async () => {
    const limit = 10;
    const windowMs = 300;
    const limiter = slidingWindow({ limit, windowMs, store: store() });
    // every admission is in the list right after its burst: its entry holds its server time in µs
    const entries = new Set<string>();
    let allowed = 0;
    let denied = 0;
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline) {
      const burst = await Promise.all(Array.from({ length: 8 }, () => limiter.consume('real-time')));
      for (const d of burst) {
        if (d.allowed) allowed++;
        else denied++;
      }
      for (const entry of await redis.lrange(`${prefix}sw:${limit}:${windowMs}:{real-time}`, 0, -1)) entries.add(entry);
      await sleep(Math.floor(Math.random() * 40));
    }
    const admitted = [...entries].map((entry) => ({ at: Number(entry.slice(0, 16)) / 1_000, cost: 1 }));
    admitted.sort((a, b) => a.at - b.at);
    expect(admitted.length).toBe(allowed);
    expect(maxInAnyWindow(admitted, windowMs)).toBeLessThanOrEqual(limit);
    expect(admitted.length).toBeGreaterThan(limit * 3);
    expect(denied).toBeGreaterThan(0);
  });

  it('evicts entries that left the window, however many, and keeps the rest', async () => {
    const limiter = slidingWindow({ limit: 400, windowMs: 1_000, store: store(), name: 'evict' });
    const key = `${prefix}sw:evict:{many}`;
    await Promise.all(Array.from({ length: 150 }, () => limiter.consume('many'))); // three pages of 64
    await sleep(400);
    await Promise.all(Array.from({ length: 10 }, () => limiter.consume('many')));
    expect(await redis.llen(key)).toBe(160);
    await sleep(700); // the 150 have left the window, the 10 have not
    expect(await limiter.consume('many')).toMatchObject({ allowed: true, remaining: 400 - 11 });
    expect(await redis.llen(key)).toBe(11);
  });

  it('keeps the key at least a window past its newest entry, and at most two', async () => {
    // PEXPIRE runs once per window-long epoch, not per admission: check it across several epochs
    const windowMs = 500;
    const limiter = slidingWindow({ limit: 100, windowMs, store: store(), name: 'ttl' });
    for (let i = 0; i < 8; i++) {
      await limiter.consume('epochs');
      const ttl = await redis.pttl(`${prefix}sw:ttl:{epochs}`);
      expect(ttl).toBeGreaterThan(windowMs - 50);
      expect(ttl).toBeLessThanOrEqual(2 * windowMs);
      await sleep(170);
    }
  });

  it('counts cost and denies a cost above the limit with retryAfterMs Infinity', async () => {
    const limiter = slidingWindow({ limit: 10, windowMs: 10_000, store: store() });
    expect(await limiter.consume('cost', { cost: 4 })).toMatchObject({ allowed: true, remaining: 6 });
    expect(await limiter.consume('cost', { cost: 2.5 })).toMatchObject({ allowed: true, remaining: 3 });
    expect(await limiter.consume('cost', { cost: 4 })).toMatchObject({ allowed: false, remaining: 3 });
    expect(await limiter.consume('cost', { cost: 11 })).toMatchObject({
      allowed: false,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
    expect(await limiter.consume('cost', { cost: 3.5 })).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('decides fractional costs as the memory store does, admitting costs that add up to the limit', async () => {
    // in floating point the running total reaches 1.0000000000000002, then 2.0000000000000004
    const costs = [0.2, 0.4, 0.3, 0.1, 0.8, 0.2, 0.1];
    const decide = async (limiter: RateLimiter) => {
      const decisions = [];
      for (const cost of costs) decisions.push(await limiter.consume('fractions', { cost }));
      return decisions.map(({ allowed, remaining }) => ({ allowed, remaining }));
    };
    const expected = [
      ...Array.from({ length: 4 }, () => ({ allowed: true, remaining: 1 })),
      { allowed: true, remaining: 0 },
      { allowed: true, remaining: 0 },
      { allowed: false, remaining: 0 },
    ];
    expect(await decide(slidingWindow({ limit: 2, windowMs: 60_000, store: store() }))).toEqual(expected);
    expect(await decide(slidingWindow({ limit: 2, windowMs: 60_000, store: memoryStore() }))).toEqual(expected);
  });

  it('peek takes nothing; reset forgets the key', async () => {
    const limiter = slidingWindow({ limit: 2, windowMs: 10_000, store: store() });
    await limiter.consume('peek');
    for (let i = 0; i < 3; i++) expect(await limiter.peek('peek')).toMatchObject({ allowed: true, remaining: 1 });
    await limiter.consume('peek');
    expect(await limiter.peek('peek')).toMatchObject({ allowed: false, remaining: 0 });
    await limiter.reset('peek');
    expect(await limiter.peek('peek')).toMatchObject({ allowed: true, remaining: 2 });
  });
});

describe('redisStore: approximate sliding window', () => {
  it('admits limit per window, then denies until the previous window has slid out enough', async () => {
    const limiter = slidingWindow({ limit: 5, windowMs: 500, approximate: true, store: store() });
    let admitted = 0;
    for (let i = 0; i < 8; i++) if ((await limiter.consume('approx')).allowed) admitted++;
    expect(admitted).toBe(5);
    const denied = await limiter.consume('approx');
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(1_000);
    await sleep(denied.retryAfterMs + 5);
    expect((await limiter.consume('approx')).allowed).toBe(true);
  });

  it('keeps counting in the newest window it has seen when the server clock steps back, as the memory store does', async () => {
    // what a server one window ahead leaves behind, for an NTP step back or a failover to a
    // replica whose clock is behind: its full window must not be read as empty
    const windowMs = 60_000;
    const limiter = slidingWindow({ limit: 5, windowMs, approximate: true, store: store(), name: 'stepped-back' });
    const index = Math.floor((await redisNow()) / windowMs);
    await redis.set(`${prefix}swc:stepped-back:{ahead}`, `${index + 1}:5:0`, 'PX', 3 * windowMs);
    const denied = await limiter.consume('ahead');
    expect(denied).toMatchObject({ allowed: false, remaining: 0 });
    expect(denied.retryAfterMs).toBeGreaterThan(windowMs);
    expect(await redis.get(`${prefix}swc:stepped-back:{ahead}`)).toBe(`${index + 1}:5:0`);

    const clock = manualClock((index + 1) * windowMs + 1_000);
    const memory = slidingWindow({ limit: 5, windowMs, approximate: true, store: memoryStore({ clock }) });
    for (let i = 0; i < 5; i++) await memory.consume('ahead');
    clock.advance(-windowMs);
    expect(await memory.consume('ahead')).toMatchObject({ allowed: false, remaining: 0 });
  });
});

describe('redisStore: token bucket', () => {
  it('admits a burst of capacity, then refills continuously', async () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 20, store: store() });
    const burst = await Promise.all(Array.from({ length: 8 }, () => limiter.consume('bucket')));
    expect(burst.filter((d) => d.allowed)).toHaveLength(5);
    const denied = burst.find((d) => !d.allowed)!;
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(50);
    await sleep(260); // about 5 tokens
    const after = await limiter.peek('bucket');
    expect(after.remaining).toBeGreaterThanOrEqual(4);
    expect(after.remaining).toBeLessThanOrEqual(5);
  });

  it('reads the refill back from the key TTL: tokens return at the refill rate', async () => {
    const limiter = tokenBucket({ capacity: 100, refillPerSecond: 100, store: store() });
    const before = performance.now();
    expect(await limiter.consume('bucket-ttl', { cost: 100 })).toMatchObject({ allowed: true, remaining: 0 });
    const drained = performance.now();
    await sleep(500);
    const start = performance.now();
    const half = await limiter.peek('bucket-ttl');
    const end = performance.now();
    // one token per 10 ms since the bucket was drained, to within the TTL's 1 ms resolution
    expect(half.remaining).toBeGreaterThanOrEqual(Math.floor((start - drained - 1) / 10));
    expect(half.remaining).toBeLessThanOrEqual(Math.ceil((end - before + 1) / 10));
    expect(half.resetAt - Date.now()).toBeLessThanOrEqual(1_000 - (start - drained) + 5);
    expect(await redis.pttl(`${prefix}tb:100:100:{bucket-ttl}`)).toBeLessThanOrEqual(1_000 - (start - drained) + 1);
  });

  it('with sub-millisecond token intervals, never admits more than capacity plus the refill so far', async () => {
    const capacity = 200;
    const perMs = 10; // 10 000 tokens a second: 0.1 ms per token
    const limiter = tokenBucket({ capacity, refillPerSecond: perMs * 1000, store: store() });
    const started = performance.now();
    const burst = await Promise.all(Array.from({ length: 3_000 }, () => limiter.consume('bucket-fast')));
    const elapsed = performance.now() - started;
    const admitted = burst.filter((d) => d.allowed).length;
    expect(admitted).toBeGreaterThanOrEqual(capacity);
    expect(admitted).toBeLessThanOrEqual(capacity + Math.ceil((elapsed + 1) * perMs));
    expect(burst.filter((d) => !d.allowed).length).toBeGreaterThan(0);
    for (const d of burst) expect(d.remaining).toBeGreaterThanOrEqual(0);
    await sleep(30);
    expect((await limiter.peek('bucket-fast')).remaining).toBe(capacity);
  });

  it('takes cost > 1 and denies a cost above capacity with retryAfterMs Infinity', async () => {
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: 1, store: store() });
    expect(await limiter.consume('bucket-cost', { cost: 7 })).toMatchObject({ allowed: true, remaining: 3 });
    const denied = await limiter.consume('bucket-cost', { cost: 5 });
    expect(denied).toMatchObject({ allowed: false, remaining: 3 });
    expect(denied.retryAfterMs).toBeGreaterThan(1_900);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(2_000);
    expect(await limiter.consume('bucket-cost', { cost: 11 })).toMatchObject({
      allowed: false,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
  });
});

describe('redisStore: keys, round trips, time', () => {
  const limiters = (): [string, RateLimiter][] => [
    ['sliding log', slidingWindow({ limit: 100, windowMs: 5_000, store: store(), name: 'rt-log' })],
    [
      'sliding counter',
      slidingWindow({ limit: 100, windowMs: 5_000, approximate: true, store: store(), name: 'rt-ctr' }),
    ],
    ['token bucket', tokenBucket({ capacity: 100, refillPerSecond: 10, store: store(), name: 'rt-tb' })],
  ];

  it.each([0, 1, 2])('makes exactly one EVALSHA round trip per decision (%i)', async (index) => {
    const [, limiter] = limiters()[index]!;
    await limiter.consume('warm-up'); // the first call may load the script
    const commands = await roundTrips(redis, observer, async () => {
      for (let i = 0; i < 10; i++) await limiter.consume(`rt:${i % 3}`);
      await limiter.peek('rt:0');
    });
    expect(commands).toEqual(Array(11).fill('evalsha'));
  });

  it.each([0, 1, 2])(
    'sends the decisions of one event-loop turn as one EVALSHA, each answered as if alone (%i)',
    async (index) => {
      const [name, limiter] = limiters()[index]!;
      await limiter.consume('warm-up');
      let decisions: Awaited<ReturnType<RateLimiter['consume']>>[] = [];
      const commands = await roundTrips(redis, observer, async () => {
        // one key many times and other keys between: 120 on `batch` against a limit of 100
        decisions = await Promise.all(
          Array.from({ length: 150 }, (_, i) => limiter.consume(i % 5 === 4 ? `other:${i}` : `batch:${name}`)),
        );
      });
      // at most 16 decisions per call: 150 in one turn take ten calls, not 150
      expect(commands).toEqual(Array(10).fill('evalsha'));
      const onKey = decisions.filter((_, i) => i % 5 !== 4);
      expect(onKey.filter((d) => d.allowed)).toHaveLength(100);
      // in issue order, as if each had been sent alone: remaining counts down, then denials
      expect(onKey.slice(0, 100).map((d) => d.remaining)).toEqual(Array.from({ length: 100 }, (_, i) => 99 - i));
      expect(onKey.slice(100).every((d) => !d.allowed && d.retryAfterMs > 0)).toBe(true);
      expect(decisions.filter((_, i) => i % 5 === 4).every((d) => d.allowed && d.remaining === 99)).toBe(true);
    },
  );

  it('sends every decision on its own with maxBatch 1', async () => {
    const limiter = slidingWindow({ limit: 100, windowMs: 5_000, store: redisStore(redis, { prefix, maxBatch: 1 }) });
    await limiter.consume('warm-up');
    const commands = await roundTrips(redis, observer, () =>
      Promise.all(Array.from({ length: 10 }, () => limiter.consume('unbatched'))),
    );
    expect(commands).toEqual(Array(10).fill('evalsha'));
  });

  it('resets after the decisions made before the reset, in the same turn', async () => {
    const limiter = slidingWindow({ limit: 3, windowMs: 60_000, store: store() });
    const consumed = [limiter.consume('reset-order'), limiter.consume('reset-order')];
    await limiter.reset('reset-order');
    await Promise.all(consumed);
    // the two consumes happened before the reset, so the key starts over
    expect(await limiter.peek('reset-order')).toMatchObject({ allowed: true, remaining: 3 });
  });

  it('orders a key decided many times in one call by admission, past 9 → 10 and 99 → 100', async () => {
    // one TIME for the whole call: equal timestamps must not let "9:1" sort after "10:1"
    const limiter = slidingWindow({ limit: 120, windowMs: 60_000, store: store() });
    const first = await Promise.all(Array.from({ length: 60 }, () => limiter.consume('tie')));
    const second = await Promise.all(Array.from({ length: 64 }, () => limiter.consume('tie')));
    expect([...first, ...second].filter((d) => d.allowed)).toHaveLength(120);
    expect(await limiter.peek('tie')).toMatchObject({ allowed: false, remaining: 0 });
  });

  it('keeps one key per limiter and caller key, hash-tagged on the caller key, each with a TTL', async () => {
    const ttlPrefix = `${prefix}ttl:`;
    const ttlStore = redisStore(redis, { prefix: ttlPrefix });
    await slidingWindow({ limit: 5, windowMs: 60_000, store: ttlStore }).consume('user:1');
    await slidingWindow({ limit: 5, windowMs: 60_000, store: ttlStore, approximate: true }).consume('user:1');
    await tokenBucket({ capacity: 5, refillPerSecond: 1, store: ttlStore }).consume('user:1');
    const keys = await redis.keys(`${ttlPrefix}*`);
    expect(keys.sort()).toEqual(
      [`${ttlPrefix}sw:5:60000:{user:1}`, `${ttlPrefix}swc:5:60000:{user:1}`, `${ttlPrefix}tb:5:1:{user:1}`].sort(),
    );
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(120_000);
    }
  });

  it('reports resetAt on the app clock, so headers are right on an app server whose clock is off', async () => {
    // the decision is timed by Redis; resetAt is compared with the app's clock (the headers' t=)
    const now = Date.now;
    const ahead = vi.spyOn(Date, 'now').mockImplementation(() => now() + 3_600_000);
    try {
      const log = slidingWindow({ limit: 5, windowMs: 60_000, store: store(), name: 'skewed-log' });
      const logged = await log.consume('skewed');
      expect(logged.resetAt - Date.now()).toBeGreaterThan(59_000);
      expect(logged.resetAt - Date.now()).toBeLessThanOrEqual(60_000);
      expect(rateLimitHeaders(logged, { policyName: 'log' }).RateLimit).toBe('"log";r=4;t=60');
      const counter = slidingWindow({ limit: 5, windowMs: 60_000, approximate: true, store: store() });
      const counted = await counter.consume('skewed');
      // one count in the current fixed window: restored once it has slid out, at the end of the next
      expect(counted.resetAt - Date.now()).toBeGreaterThan(60_000);
      expect(counted.resetAt - Date.now()).toBeLessThanOrEqual(120_000);
    } finally {
      ahead.mockRestore();
    }
  });

  it('takes time from the Redis server, not from the app', async () => {
    const limiter = slidingWindow({ limit: 5, windowMs: 60_000, store: store() });
    const decision = await limiter.consume('server-time');
    const serverNow = await redisNow();
    expect(Math.abs(decision.resetAt - 60_000 - serverNow)).toBeLessThan(1_000);
  });

  // on a server the test owns: SCRIPT FLUSH on the shared Redis would disturb other files
  async function withFlushedScripts(run: (limiter: RateLimiter) => Promise<void>): Promise<void> {
    const server = await startRedisServer();
    const own = new Redis(server.url, { lazyConnect: true });
    try {
      await own.connect();
      const limiter = slidingWindow({ limit: 5, windowMs: 60_000, store: redisStore(own) });
      await limiter.consume('flush');
      await own.script('FLUSH');
      await run(limiter);
    } finally {
      own.disconnect();
      await server.stop();
    }
  }

  it('keeps working when Redis has lost its script cache', () =>
    withFlushedScripts(async (limiter) => {
      expect(await limiter.consume('flush')).toMatchObject({ allowed: true, remaining: 3 });
    }));

  it('applies a decision sent again after NOSCRIPT before a reset made after it', () =>
    withFlushedScripts(async (limiter) => {
      const before = limiter.consume('flush', { cost: 4 });
      await limiter.reset('flush');
      await before;
      expect(await limiter.peek('flush')).toMatchObject({ allowed: true, remaining: 5 });
    }));

  it('decides from Redis with a client made with stringNumbers, whose integer replies are strings', async () => {
    const client = await connectRedis({ stringNumbers: true });
    try {
      const events: RedisStoreEvent[] = [];
      const store = redisStore(client, {
        prefix: `${prefix}strings:`,
        onError: 'deny',
        onEvent: (e) => events.push(e),
      });
      const log = slidingWindow({ limit: 2, windowMs: 60_000, store });
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 0.001, store });
      for (const limiter of [log, bucket]) {
        const decisions = await Promise.all([1, 2, 3].map(() => limiter.consume('caller')));
        expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
          [true, 1],
          [true, 0],
          [false, 0],
        ]);
        expect(decisions[2]!.retryAfterMs).toBeGreaterThan(1_000);
      }
      expect(events).toEqual([]);
    } finally {
      await client.quit();
    }
  });

  it('fails only the decision whose key Redis refuses, not the others sent with it', async () => {
    const events: RedisStoreEvent[] = [];
    const batchStore = redisStore(redis, {
      prefix: `${prefix}poison:`,
      onError: 'deny',
      onEvent: (e) => events.push(e),
    });
    const limiter = slidingWindow({ limit: 5, windowMs: 60_000, store: batchStore });
    await limiter.consume('poisoned');
    const [key] = await redis.keys(`${prefix}poison:*{poisoned}`);
    if (!key) throw new Error('no key for the poisoned caller');
    await redis.set(key, 'not a list', 'PX', 60_000); // WRONGTYPE for the exact log's list commands
    const decisions = await Promise.all(['alice', 'poisoned', 'carol'].map((k) => limiter.consume(k)));
    expect(decisions.map((d) => d.allowed)).toEqual([true, false, true]);
    expect(decisions[0]).toMatchObject({ remaining: 4 });
    // the refused decision is answered per onError and reported as the key's, not as an outage
    expect(events).toEqual([
      {
        type: 'key-refused',
        key: 'poisoned',
        mode: 'deny',
        error: expect.objectContaining({
          code: 'ERR_RATELIMIT_STORE',
          cause: expect.objectContaining({ message: expect.stringContaining('WRONGTYPE') }),
        }),
      },
    ]);
    expect(await limiter.peek('alice')).toMatchObject({ remaining: 4 });
  });

  it.each([
    ['null', (): unknown => null],
    ['a string', (): unknown => 'OK'],
    ['an array of the wrong length', (reply: unknown) => (reply as unknown[]).slice(1)],
    ['an array holding no numbers', (reply: unknown) => (reply as unknown[]).map(() => null)],
  ])('answers every decision of a batch per onError when a client wrapper replies with %s', async (_, mangle) => {
    const faults = recordFaults();
    try {
      // a wrapper (instrumentation, a proxy client) in front of the real client, answering oddly
      const wrapper = {
        evalsha: (...args: Parameters<Redis['evalsha']>) => (redis.evalsha(...args) as Promise<unknown>).then(mangle),
        eval: (...args: Parameters<Redis['eval']>) => (redis.eval(...args) as Promise<unknown>).then(mangle),
        del: (...keys: string[]) => redis.del(...keys),
      };
      const events: string[] = [];
      const limiter = slidingWindow({
        limit: 5,
        windowMs: 60_000,
        store: redisStore(wrapper, {
          prefix: `${prefix}mangled:`,
          onError: 'deny',
          onEvent: (e) => events.push(e.type),
        }),
      });
      const decisions = await Promise.all(['a', 'b', 'c'].map((k) => limiter.consume(k)));
      expect(decisions).toMatchObject([
        { allowed: false, retryAfterMs: 1_000 },
        { allowed: false, retryAfterMs: 1_000 },
        { allowed: false, retryAfterMs: 1_000 },
      ]);
      expect(events).toEqual(['store-unavailable']);
      await sleep(20);
      expect(faults.faults).toEqual([]);
    } finally {
      faults.stop();
    }
  });

  it('sends the first decisions of a client made with lazyConnect to Redis, which connects it', async () => {
    const lazy = new Redis(redis.options.port ?? 6379, redis.options.host ?? '127.0.0.1', { lazyConnect: true });
    const events: string[] = [];
    try {
      expect(lazy.status).toBe('wait');
      const limiter = slidingWindow({
        limit: 2,
        windowMs: 60_000,
        store: redisStore(lazy, { prefix: `${prefix}lazy:`, onError: 'deny', onEvent: (e) => events.push(e.type) }),
      });
      expect(await limiter.consume('lazy')).toMatchObject({ allowed: true, remaining: 1 });
      expect(await limiter.consume('lazy')).toMatchObject({ allowed: true, remaining: 0 });
      expect(lazy.status).toBe('ready');
      expect(events).toEqual([]);
    } finally {
      await lazy.quit();
    }
  });
});
