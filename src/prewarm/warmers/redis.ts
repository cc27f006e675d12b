import { PatchbayError } from '../../core/errors';
import { withTimeout } from '../../core/timeout';
import { textOf } from '../text';
import { never, type Warmer } from './warmer';

/**
 * The part of an ioredis client (`Redis` or `Cluster`) that {@link warmRedis} uses, declared
 * structurally so patchbay needs no ioredis at run time.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: RedisPingClient = new Redis({ lazyConnect: true });
 * ```
 */
export interface RedisPingClient {
  /** Resolves with `PONG`. */
  ping(): Promise<unknown>;
  /** Opens the connection of a client created with `lazyConnect`. */
  connect?(): Promise<unknown>;
  /** ioredis's connection state: `wait` (lazyConnect, not connected yet), `ready`, `end`, ... */
  readonly status?: string;
}

/**
 * What {@link warmRedis} found: the client's state after the PING, and the PING's round trip.
 *
 * @example
 * ```ts
 * const { pingMs }: RedisWarmResult = await warmRedis(redis)();
 * ```
 */
export interface RedisWarmResult {
  status: string | undefined;
  pingMs: number;
}

/**
 * Connects a client created with `lazyConnect` and PINGs it, so the first request finds the
 * connection open (and, for ioredis, its command queue flowing). Rejects with `ERR_PREWARM_REDIS`
 * when the client was closed or the PING fails. ioredis commands cannot be cancelled: on abort
 * the warmer returns at once and the PING settles on its own, within the client's own timeouts.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 *
 * const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true });
 * prewarmer.add({ name: 'redis', run: warmRedis(redis), timeoutMs: 2_000, retries: 3 });
 * ```
 */
export function warmRedis(redis: RedisPingClient): Warmer<RedisWarmResult> {
  if (typeof redis?.ping !== 'function') {
    throw new PatchbayError('ERR_PREWARM_OPTIONS', 'warmRedis needs a Redis client with a ping() method');
  }
  return (signal = never) =>
    withTimeout(
      async () => {
        if (redis.status === 'end') {
          throw new PatchbayError(
            'ERR_PREWARM_REDIS',
            'the Redis client was closed (quit or disconnect); create a new one',
          );
        }
        try {
          if (redis.status === 'wait' && typeof redis.connect === 'function') await redis.connect();
          const started = performance.now();
          const reply = await redis.ping();
          if (reply !== 'PONG') throw new Error(`PING answered ${textOf(reply)}`);
          return { status: redis.status, pingMs: performance.now() - started };
        } catch (error) {
          throw new PatchbayError('ERR_PREWARM_REDIS', `Redis did not answer PING: ${textOf(error)}`, {
            cause: error,
          });
        }
      },
      Number.POSITIVE_INFINITY,
      { signal },
    );
}
