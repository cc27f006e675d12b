import { randomUUID } from 'node:crypto';
import { assertNumber, describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import { defineScript, integerReply, type RedisArg, type RedisScriptClient, redisKey } from '../../core/redis-script';
import { withTimeout } from '../../core/timeout';
import { assertKey, type IdempotencyStore, type IdempotencyTtlOptions, ttlOptions } from './store';

/**
 * The two commands of an ioredis client (`Redis` or `Cluster`) the store uses, declared
 * structurally so patchbay does not load ioredis.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: IdempotencyRedisClient = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * ```
 */
export interface IdempotencyRedisClient extends RedisScriptClient {
  /** Runs a cached Lua script by its SHA1. */
  evalsha(sha: string, numKeys: number, ...keysAndArgs: RedisArg[]): Promise<unknown>;
  /** Runs a Lua script by its source, caching it on the server. */
  eval(script: string, numKeys: number, ...keysAndArgs: RedisArg[]): Promise<unknown>;
}

/**
 * Options for {@link redisIdempotencyStore}.
 *
 * @example
 * ```ts
 * const options: RedisIdempotencyStoreOptions = { prefix: 'myapp:idem:', lockTtlMs: 30_000, timeoutMs: 1_000 };
 * ```
 */
export interface RedisIdempotencyStoreOptions extends IdempotencyTtlOptions {
  /** Prefix of every key, without braces; the idempotency key becomes the hash tag: `${prefix}{${key}}`. Default `pb:idem:`. */
  prefix?: string;
  /**
   * Longest wait for one Redis call, in ms; past it the call rejects with `ERR_WEBHOOK_STORE`.
   * Default 2 000.
   */
  timeoutMs?: number;
}

// One key per idempotency key. Its value is 'L' + owner token while claimed (TTL lockTtlMs),
// then 'D' + JSON result once done (TTL resultTtlMs).
const claimScript = defineScript({
  name: 'idempotency-claim',
  keys: 1,
  lua: `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return redis.call('GET', KEYS[1])`,
});

// A lock that expired with nobody else claiming is completed too: the work did happen.
const completeScript = defineScript({
  name: 'idempotency-complete',
  keys: 1,
  lua: `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or not v then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`,
});

const releaseScript = defineScript({
  name: 'idempotency-release',
  keys: 1,
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
});

/**
 * An idempotency store in Redis, shared by every process that uses the same Redis: claims are
 * `SET NX PX` and completion and release are Lua scripts that act only for the owner's token, one
 * round trip each. Results are stored as JSON, so they must be JSON-serialisable. Keys are
 * `${prefix}{${key}}` (Cluster-safe) and always carry a TTL. Redis failures, and calls Redis does
 * not answer within `timeoutMs`, reject with `ERR_WEBHOOK_STORE` (cause: the Redis error or the
 * timeout); bad options throw `ERR_WEBHOOK_OPTIONS`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { processOnce, redisIdempotencyStore } from 'patchbay/webhooks';
 *
 * const store = redisIdempotencyStore(new Redis(), { lockTtlMs: 30_000 });
 * const outcome = await processOnce(store, event.id, () => fulfil(event));
 * ```
 */
export function redisIdempotencyStore(
  redis: IdempotencyRedisClient,
  options: RedisIdempotencyStoreOptions = {},
): IdempotencyStore {
  if (typeof redis?.evalsha !== 'function' || typeof redis.eval !== 'function') {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'redisIdempotencyStore needs an ioredis client (Redis or Cluster)');
  }
  const { lockTtlMs, resultTtlMs } = ttlOptions(options);
  const { prefix = 'pb:idem:', timeoutMs = 2_000 } = options;
  assertNumber(timeoutMs, 'timeoutMs', 'ERR_WEBHOOK_OPTIONS', { min: 1 });
  // a brace in the prefix would become the hash tag, putting every key in one Cluster slot
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', `prefix must be a string without braces, got ${describe(prefix)}`);
  }

  const run = async (script: typeof claimScript, key: string, args: (string | number)[]): Promise<unknown> => {
    try {
      // ioredis queues commands while disconnected and waits for ever on a server that does not
      // answer: without a bound, every delivery would hang until the sender gave up
      return await withTimeout(script.run(redis, [redisKey(prefix, key)], args), timeoutMs, {
        message: `Redis did not answer within ${timeoutMs} ms`,
      });
    } catch (error) {
      throw new PatchbayError('ERR_WEBHOOK_STORE', `Redis ${script.name} failed for an idempotency key`, {
        cause: error,
      });
    }
  };

  return {
    async claim(key) {
      assertKey(key);
      const token = randomUUID();
      const reply = await run(claimScript, key, [`L${token}`, lockTtlMs]);
      if (integerReply(reply) === 1) return { status: 'claimed', token };
      const value = String(reply);
      if (value.startsWith('D')) return { status: 'duplicate', result: decode(value) };
      return { status: 'in-flight' };
    },
    async complete(key, token, result) {
      assertKey(key);
      let encoded: string;
      try {
        encoded = `D${JSON.stringify(result) ?? ''}`;
      } catch (error) {
        throw new PatchbayError('ERR_WEBHOOK_STORE', 'the result cannot be stored: it is not JSON-serialisable', {
          cause: error,
        });
      }
      return integerReply(await run(completeScript, key, [`L${token}`, encoded, resultTtlMs])) === 1;
    },
    async release(key, token) {
      assertKey(key);
      return integerReply(await run(releaseScript, key, [`L${token}`])) === 1;
    },
  };
}

function decode(value: string): unknown {
  if (value.length === 1) return undefined;
  try {
    return JSON.parse(value.slice(1));
  } catch {
    // written by something other than this store; the key is still done
    return undefined;
  }
}
