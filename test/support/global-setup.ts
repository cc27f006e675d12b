import type { TestProject } from 'vitest/node';
import { pingRedis, type RedisServer, startRedisServer } from './redis-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Redis every Redis-backed suite uses, when one could be found or started. */
    redisUrl: string;
    /** Why no Redis is available, when none is. */
    redisError: string;
  }
}

/**
 * Finds a Redis for the run: `REDIS_URL` (default redis://127.0.0.1:6379) when it answers,
 * otherwise a redis-server started from the PATH on a free port for the length of the run.
 * When neither works, the Redis suites fail with `redisError`; the other suites still run.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const wanted = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const port = Number(wanted.port || 6379);
  if (await pingRedis(wanted.hostname, port)) {
    project.provide('redisUrl', wanted.toString());
    project.provide('redisError', '');
    return undefined;
  }
  let server: RedisServer;
  try {
    server = await startRedisServer();
  } catch (error) {
    project.provide('redisUrl', '');
    project.provide(
      'redisError',
      `No Redis answered at ${wanted} and none could be started: ${(error as Error).message}`,
    );
    return undefined;
  }
  project.provide('redisUrl', server.url);
  project.provide('redisError', '');
  return () => server.stop();
}
