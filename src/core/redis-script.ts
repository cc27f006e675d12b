import { createHash } from 'node:crypto';
import { PatchbayError } from './errors';

/**
 * A Redis command argument.
 *
 * @example
 * ```ts
 * const args: RedisArg[] = ['key', 42, Buffer.from('raw')];
 * ```
 */
export type RedisArg = string | number | Buffer;

/**
 * The part of an ioredis client (`Redis` or `Cluster`) that Lua scripts need. Declared
 * structurally so patchbay's types do not depend on ioredis's.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: RedisScriptClient = new Redis();
 * ```
 */
export interface RedisScriptClient {
  /** Runs a cached script by its SHA1 (EVALSHA). */
  evalsha(sha: string, numKeys: number, ...keysAndArgs: RedisArg[]): Promise<unknown>;
  /** Runs a script from its source (EVAL), caching it on the server. */
  eval(script: string, numKeys: number, ...keysAndArgs: RedisArg[]): Promise<unknown>;
}

/**
 * A Lua script defined once and run by SHA.
 *
 * @example
 * ```ts
 * const incr: RedisScript = defineScript({ name: 'incr', lua: "return redis.call('INCR', KEYS[1])", keys: 1 });
 * ```
 */
export interface RedisScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
  /** Runs the script with EVALSHA; on NOSCRIPT (a restarted or failed-over server) with EVAL, which caches it again. */
  run(redis: RedisScriptClient, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown>;
}

/**
 * Defines a Lua script for {@link RedisScript.run}: one EVALSHA round trip per call in the
 * common case, transparently recovering when the server has lost its script cache. `keys` is the
 * number of keys every call passes, or `'any'` for a script whose key count varies per call.
 *
 * @example
 * ```ts
 * const script = defineScript({ name: 'incr', lua: "return redis.call('INCR', KEYS[1])", keys: 1 });
 * const value = await script.run(redis, ['counter'], []);
 * ```
 */
export function defineScript({ name, lua, keys }: { name: string; lua: string; keys: number | 'any' }): RedisScript {
  const sha = createHash('sha1').update(lua).digest('hex');
  return {
    name,
    lua,
    sha,
    async run(redis, keyList, args) {
      if (keys !== 'any' && keyList.length !== keys) {
        throw new PatchbayError('ERR_REDIS_SCRIPT', `Script ${name} takes ${keys} keys, got ${keyList.length}`);
      }
      try {
        return await redis.evalsha(sha, keyList.length, ...keyList, ...args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return redis.eval(lua, keyList.length, ...keyList, ...args);
      }
    },
  };
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Builds a Redis key whose hash tag is `id`, so every key patchbay derives for one id (a
 * limiter's log and its counters, say) lands in one Redis Cluster slot. With a `suffix`, the key
 * is `${prefix}{${id}}:${suffix}`.
 *
 * @example
 * ```ts
 * redisKey('pb:rl:', 'user:42'); // 'pb:rl:{user:42}'
 * redisKey('pb:rl:', 'user:42', 'tokens'); // 'pb:rl:{user:42}:tokens'
 * ```
 */
export function redisKey(prefix: string, id: string, suffix?: string): string {
  return suffix === undefined ? `${prefix}{${id}}` : `${prefix}{${id}}:${suffix}`;
}

/**
 * A script's integer reply as a number. ioredis clients made with the `stringNumbers` option
 * return integer replies as strings; anything that is not an integer (a bulk string, an array,
 * null) gives NaN, which equals nothing.
 *
 * @example
 * ```ts
 * if (integerReply(await claimScript.run(redis, [key], [token])) === 1) return 'claimed';
 * ```
 */
export function integerReply(reply: unknown): number {
  if (typeof reply === 'number') return reply;
  return typeof reply === 'string' && /^-?\d+$/.test(reply) ? Number(reply) : Number.NaN;
}
