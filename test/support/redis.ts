import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { REDIS_HINT } from './redis-server';

/** The URL of the Redis for this run; throws, with how to get one, when there is none. */
export function redisUrl(): string {
  const url = inject('redisUrl');
  if (!url) throw new Error(`${inject('redisError') || 'No Redis for this run.'} ${REDIS_HINT}`);
  return url;
}

/** A connected ioredis client on this run's Redis. Close it with `quit()` in afterAll. */
export async function connectRedis(
  options: { enableOfflineQueue?: boolean; maxRetriesPerRequest?: number; stringNumbers?: boolean } = {},
): Promise<Redis> {
  const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1, ...options });
  await redis.connect();
  return redis;
}

/** A key prefix unique to one test file and run, so files can share a Redis in parallel. */
export function testPrefix(fileUrl: string): string {
  return `pbtest:${basename(new URL(fileUrl).pathname, '.test.ts')}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix`: for test files whose keys have no TTL. */
export async function deleteKeys(redis: Redis | undefined, prefix: string): Promise<void> {
  const keys = (await redis?.keys(`${prefix}*`)) ?? [];
  if (keys.length > 0) await redis?.del(...keys);
}
