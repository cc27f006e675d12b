import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slidingWindow } from '../../src/ratelimit/sliding-window';
import { type RedisStoreEvent, redisStore } from '../../src/ratelimit/stores/redis';
import { tokenBucket } from '../../src/ratelimit/token-bucket';
import type { RateLimiter } from '../../src/ratelimit/types';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster';

let cluster: RedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(cluster.nodes, { lazyConnect: true });
  await client.connect();
}, 30_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

describe('redisStore on a real Redis Cluster (3 masters)', () => {
  const events: RedisStoreEvent[] = [];
  const store = () => redisStore(client, { onEvent: (event) => events.push(event) });
  const limiters = (): [string, RateLimiter][] => [
    ['exact log', slidingWindow({ limit: 5, windowMs: 60_000, store: store(), name: 'c-log' })],
    ['approximate', slidingWindow({ limit: 5, windowMs: 60_000, approximate: true, store: store(), name: 'c-ctr' })],
    ['token bucket', tokenBucket({ capacity: 5, refillPerSecond: 0.01, store: store(), name: 'c-tb' })],
  ];

  it.each([0, 1, 2])('decides keys of every slot in one turn, exactly (%i)', async (index) => {
    const [name, limiter] = limiters()[index]!;
    // 40 keys spread over the slots, 8 requests each, all made in the same turn
    const keys = Array.from({ length: 40 }, (_, i) => `${name}:user:${i}`);
    const decisions = await Promise.all(keys.flatMap((key) => Array.from({ length: 8 }, () => limiter.consume(key))));
    for (let k = 0; k < keys.length; k++) {
      expect(decisions.slice(8 * k, 8 * k + 8).map((d) => d.allowed)).toEqual([
        ...Array(5).fill(true),
        false,
        false,
        false,
      ]);
    }
    expect(events).toEqual([]); // decided by Redis, never by the fallback
  });

  it('spreads limiter keys over the masters by their hash tag', async () => {
    const [, limiter] = limiters()[0]!;
    await Promise.all(Array.from({ length: 30 }, (_, i) => limiter.consume(`spread:${i}`)));
    const holding = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
    expect(holding.filter((count) => count > 0).length).toBeGreaterThan(1);
  });

  it('refuses a batch size above 1, since one script call may touch only one slot', () => {
    expect(() => redisStore(client, { maxBatch: 16 })).toThrow(
      expect.objectContaining({ code: 'ERR_RATELIMIT_OPTIONS' }),
    );
    expect(() => redisStore(client, { maxBatch: 1 })).not.toThrow();
  });
});
