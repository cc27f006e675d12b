import { Cluster, type Redis } from 'ioredis';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RateLimitRedis } from '../../src/ratelimit/stores/redis';
import { redisStore } from '../../src/ratelimit/stores/redis';

describe('redisStore typing', () => {
  it('accepts ioredis Redis and Cluster clients without casts', () => {
    expectTypeOf<Redis>().toExtend<RateLimitRedis>();
    expectTypeOf<Cluster>().toExtend<RateLimitRedis>();
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(typeof redisStore(cluster).decide).toBe('function');
    cluster.disconnect();
  });
});
