import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIsolated } from '../support/isolated';
import { connectRedis, redisUrl, testPrefix } from '../support/redis';

const prefix = testPrefix(import.meta.url);
let redis: Redis;

beforeAll(async () => {
  redis = await connectRedis();
});

afterAll(async () => {
  await redis?.quit();
});

/**
 * One worker process: waits for the shared start time, then runs `consumers` concurrent loops
 * that each call `attempt(i)` `perConsumer` times, and prints how many were admitted.
 */
function worker(body: string, { consumers = 64, perConsumer = 20 } = {}): string {
  return `
    import { Redis } from 'ioredis';
    import { redisStore, slidingWindow, tokenBucket } from './src/ratelimit/index';
    const redis = new Redis(process.env.REDIS_URL);
    const store = redisStore(redis, { prefix: process.env.PREFIX, timeoutMs: 10_000, onError: 'deny' });
    ${body}
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(process.env.START_AT) - Date.now())));
    let admitted = 0;
    let calls = 0;
    await Promise.all(Array.from({ length: ${consumers} }, async (_, consumer) => {
      for (let i = 0; i < ${perConsumer}; i++) {
        calls++;
        if ((await attempt(consumer * ${perConsumer} + i)).allowed) admitted++;
      }
    }));
    await redis.quit();
    console.log(JSON.stringify({ admitted, calls }));
  `;
}

async function runWorkers(source: string, count = 4): Promise<{ admitted: number; calls: number }[]> {
  const env = { REDIS_URL: redisUrl(), PREFIX: prefix, START_AT: String(Date.now() + 1_500) };
  const results = await Promise.all(
    Array.from({ length: count }, () => runIsolated(source, { env, exitWithinMs: 60_000 })),
  );
  return results.map((result) => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout);
  });
}

describe('one Redis shared by 4 processes × 64 concurrent consumers', () => {
  it('an exact sliding window admits exactly the limit on one key, not one more', async () => {
    const results = await runWorkers(
      worker(`
        const limiter = slidingWindow({ limit: 1000, windowMs: 600_000, store, name: 'dist-one' });
        const attempt = () => limiter.consume('shared');
      `),
    );
    expect(results.reduce((sum, r) => sum + r.calls, 0)).toBe(4 * 64 * 20);
    expect(results.reduce((sum, r) => sum + r.admitted, 0)).toBe(1000);
    expect(results.every((r) => r.admitted > 0)).toBe(true);
  });

  it('a token bucket admits exactly its capacity on one key when refill is negligible', async () => {
    const results = await runWorkers(
      worker(`
        const limiter = tokenBucket({ capacity: 777, refillPerSecond: 0.0001, store, name: 'dist-tb' });
        const attempt = () => limiter.consume('shared');
      `),
    );
    expect(results.reduce((sum, r) => sum + r.admitted, 0)).toBe(777);
  });

  it('10k distinct keys each admit exactly their limit', async () => {
    // each process makes 64 consumers × 320 calls = 20 480 calls over keys i % 10 000: every
    // key is tried at least twice per process, 8 times overall, and must admit exactly 5
    const results = await runWorkers(
      worker(
        `
        const limiter = slidingWindow({ limit: 5, windowMs: 600_000, store, name: 'dist-many' });
        const attempt = (i) => limiter.consume('k' + (i % 10_000));
      `,
        { perConsumer: 320 },
      ),
    );
    expect(results.reduce((sum, r) => sum + r.admitted, 0)).toBe(10_000 * 5);
    const sample = await redis.llen(`${prefix}sw:dist-many:{k1234}`);
    expect(sample).toBe(5);
  });

  it('app servers with skewed clocks share one exact limit, because time comes from Redis', async () => {
    // one process believes it is an hour ahead; with app time, its view of the window would
    // expire the other process's requests and admit twice the limit
    const skewed = `Date.now = ((now) => () => now() + 3_600_000)(Date.now);`;
    const body = `
      const limiter = slidingWindow({ limit: 300, windowMs: 600_000, store, name: 'dist-skew' });
      const attempt = () => limiter.consume('shared');
    `;
    const env = { REDIS_URL: redisUrl(), PREFIX: prefix, START_AT: String(Date.now() + 1_500) };
    const [normal, ahead] = await Promise.all([
      runIsolated(worker(body, { consumers: 16 }), { env, exitWithinMs: 60_000 }),
      runIsolated(
        skewed +
          worker(body, { consumers: 16 }).replace(
            'Number(process.env.START_AT) - Date.now()',
            'Number(process.env.START_AT) - Date.now() + 3_600_000',
          ),
        {
          env,
          exitWithinMs: 60_000,
        },
      ),
    ]);
    const [a, b] = [JSON.parse(normal.stdout).admitted, JSON.parse(ahead.stdout).admitted];
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(a + b).toBe(300);
  });
});
