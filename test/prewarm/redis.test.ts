import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortError } from '../../src/core/errors';
import { createPrewarmer, warmRedis } from '../../src/prewarm/index';
import { redisUrl } from '../support/redis';
import { startRedisServer } from '../support/redis-server';

const clients: Redis[] = [];
afterAll(() => {
  for (const client of clients) client.disconnect();
});

function lazyClient(url: string, options: { enableOfflineQueue?: boolean; retryStrategy?: () => number } = {}): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, ...options });
  client.on('error', () => {}); // connection errors are asserted through the warmer, not the event
  clients.push(client);
  return client;
}

describe('warmRedis', () => {
  it('connects a lazyConnect client and PINGs it on the real Redis', async () => {
    const redis = lazyClient(redisUrl());
    expect(redis.status).toBe('wait');
    const result = await warmRedis(redis)();
    expect(redis.status).toBe('ready');
    expect(result).toEqual({ status: 'ready', pingMs: expect.any(Number) });
    // Warming a connected client again only PINGs.
    await expect(warmRedis(redis)()).resolves.toMatchObject({ status: 'ready' });
  });

  it('fails with ERR_PREWARM_REDIS when the server is down, and succeeds on a retry once it is back', async () => {
    const server = await startRedisServer();
    try {
      await server.stop();
      const redis = lazyClient(server.url, { enableOfflineQueue: false, retryStrategy: () => 20 });
      const once = createPrewarmer().add({ name: 'redis', run: warmRedis(redis), timeoutMs: 2_000 });
      const down = await once.run();
      expect(down.tasks[0]).toMatchObject({ status: 'failed', error: { code: 'ERR_PREWARM_REDIS' } });
      expect(once.readiness()).toMatchObject({ ready: false, failed: ['redis'] });

      // The server comes back while the task is retrying; the client reconnects by itself.
      const retrying = createPrewarmer({ backoff: { initialMs: 20, maxMs: 40 } }).add({
        name: 'redis',
        run: warmRedis(redis),
        timeoutMs: 2_000,
        retries: 100,
      });
      const restart = new Promise((resolve) => setTimeout(resolve, 150)).then(() => server.start());
      const up = await retrying.run();
      await restart;
      expect(up.tasks[0]).toMatchObject({ status: 'ok', result: { status: 'ready' } });
      expect(up.tasks[0]?.attempts).toBeGreaterThan(1);
    } finally {
      await server.stop();
    }
  });

  it('fails with ERR_PREWARM_REDIS for a client that was closed', async () => {
    const redis = lazyClient(redisUrl());
    await redis.connect();
    await redis.quit();
    await expect(warmRedis(redis)()).rejects.toMatchObject({
      code: 'ERR_PREWARM_REDIS',
      message: expect.stringContaining('closed'),
    });
  });

  it('returns at once on abort, and rejects something that is not a client', async () => {
    const redis = lazyClient(redisUrl());
    await expect(warmRedis(redis)(AbortSignal.abort())).rejects.toBeInstanceOf(AbortError);
    expect(redis.status).toBe('wait');
    expect(() => warmRedis({} as never)).toThrow(expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }));
  });
});
