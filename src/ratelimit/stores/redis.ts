import { assertFunction, assertNumber, assertOptionsObject, describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import { notify } from '../../core/notify';
import { defineScript, type RedisScriptClient, redisKey } from '../../core/redis-script';
import { withTimeout } from '../../core/timeout';
import type { Decision, RateLimitAlgorithm, RateLimitStore } from '../types';
import { memoryStore } from './memory';
import { decisionBatcher, KeyRefusedError, type Reply } from './redis-batch';
import batchLua from './scripts/batch.lua';
import slidingCounterLua from './scripts/sliding-counter.lua';
import slidingLogLua from './scripts/sliding-log.lua';
import tokenBucketLua from './scripts/token-bucket.lua';

// each algorithm defines decide(); batch.lua runs it for every key of a call, so the decisions of
// one event-loop turn go together
const batched = (name: string, lua: string) =>
  defineScript({ name: `ratelimit:${name}`, lua: `${lua}\n${batchLua}`, keys: 'any' });
const slidingLog = batched('sliding-log', slidingLogLua);
const slidingCounter = batched('sliding-counter', slidingCounterLua);
const tokenBucketScript = batched('token-bucket', tokenBucketLua);

/**
 * What a Redis store does while Redis is unreachable, slow or failing.
 *
 * @example
 * ```ts
 * const mode: RedisErrorMode = 'insurance';
 * ```
 */
export type RedisErrorMode = 'allow' | 'deny' | 'insurance';

/**
 * An event from a {@link redisStore}: Redis became unusable, or usable again.
 *
 * @example
 * ```ts
 * const onEvent = (event: RedisStoreEvent) => {
 *   if (event.type === 'store-unavailable') logger.warn({ err: event.error }, 'rate limiting degraded');
 * };
 * ```
 */
export type RedisStoreEvent =
  | { type: 'store-unavailable'; error: PatchbayError; mode: RedisErrorMode }
  | { type: 'store-recovered' }
  /**
   * Redis answered but refused one key's decision (a key of another type under the store's
   * prefix, say). That decision was answered per `mode`; Redis is not counted as unavailable.
   */
  | { type: 'key-refused'; key: string; error: PatchbayError; mode: RedisErrorMode };

/**
 * A Redis client the store can use: ioredis `Redis` or `Cluster`. `status` is read, when present,
 * to fail fast instead of queueing commands while disconnected.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: RateLimitRedis = new Redis(process.env.REDIS_URL);
 * ```
 */
export interface RateLimitRedis extends RedisScriptClient {
  /** Deletes keys (used by `reset`). */
  del(...keys: string[]): Promise<number>;
  /**
   * ioredis's connection state. Once it has been `ready`, anything else makes the store fail fast;
   * before, `wait`, `connecting` and `connect` (a first connection) are given the calls.
   */
  readonly status?: string;
}

/**
 * Options of {@link redisStore}.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = { prefix: 'myapp:rl:', onError: 'deny', timeoutMs: 250 };
 * ```
 */
export interface RedisStoreOptions {
  /** Prefix of every key. Default `pb:rl:`. */
  prefix?: string;
  /**
   * While Redis fails: `'allow'` admits everything (fail open), `'deny'` refuses everything (fail
   * closed, `retryAfterMs` 1 s), `'insurance'` (default) decides with a per-process memory store
   * of the same quota until Redis answers again.
   */
  onError?: RedisErrorMode;
  /** Longest wait for one decision before it counts as a Redis failure, in ms. Default 500. */
  timeoutMs?: number;
  /**
   * Called when Redis becomes unusable and when it recovers (once per transition). What it throws,
   * or rejects with if async, is dropped: the decision is made as if it were absent.
   */
  onEvent?: (event: RedisStoreEvent) => void;
  /**
   * Most decisions of one limiter sent in one script call. Decisions made in the same turn of the
   * event loop travel together, so under load Redis runs one script for many of them; none waits
   * longer than its own round trip. Default 16 (small enough that several batches are in flight
   * at once, so Redis and the app work in parallel), or 1 on an ioredis `Cluster` (whose keys
   * live in different slots; anything else is refused there). Set 1 behind a proxy that routes a
   * script by its first key only.
   */
  maxBatch?: number;
}

// ioredis states of a client that has not connected yet, lazily or for the first time
const STARTING: readonly string[] = ['wait', 'connecting', 'connect'];
const MODES: readonly string[] = ['allow', 'deny', 'insurance'];
const DENY_RETRY_MS = 1_000;

/**
 * A store in Redis, shared by every process that uses the same Redis and prefix. Each decision
 * is made by a Lua script in one round trip: atomic, timed by the Redis server's clock (so app
 * servers with skewed clocks agree), every key with a TTL, and all keys of one decision under one
 * hash tag, so it works on Redis Cluster. Decisions of one limiter made in the same turn of the
 * event loop share script calls of up to `maxBatch` decisions, which is what keeps Redis CPU per
 * decision low under load.
 *
 * A Redis outage never becomes an unhandled rejection or a hang: each call is bounded by
 * `timeoutMs`, calls fail fast while the client is not connected (nothing piles up in ioredis's
 * offline queue), and `onError` decides what the limiter answers meanwhile.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisStore, slidingWindow } from 'patchbay/ratelimit';
 *
 * const redis = new Redis(process.env.REDIS_URL);
 * const limiter = slidingWindow({ limit: 100, windowMs: 60_000, store: redisStore(redis, { onError: 'insurance' }) });
 * ```
 */
export function redisStore(redis: RateLimitRedis, options: RedisStoreOptions = {}): RateLimitStore {
  assertOptionsObject(options, 'redisStore options', 'ERR_RATELIMIT_OPTIONS');
  const { prefix = 'pb:rl:', onError = 'insurance', timeoutMs = 500, onEvent } = options;
  const cluster = (redis as { isCluster?: unknown } | null)?.isCluster === true;
  const maxBatch = options.maxBatch ?? (cluster ? 1 : 16);
  if (typeof redis?.evalsha !== 'function' || typeof redis.eval !== 'function') {
    throw new PatchbayError('ERR_RATELIMIT_OPTIONS', 'redisStore needs an ioredis client (Redis or Cluster)');
  }
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new PatchbayError('ERR_RATELIMIT_OPTIONS', `prefix must be a string without braces, got ${describe(prefix)}`);
  }
  if (!MODES.includes(onError)) {
    throw new PatchbayError(
      'ERR_RATELIMIT_OPTIONS',
      `onError must be 'allow', 'deny' or 'insurance', got ${describe(onError)}`,
    );
  }
  assertNumber(timeoutMs, 'timeoutMs', 'ERR_RATELIMIT_OPTIONS', { min: 1 });
  if (onEvent !== undefined) assertFunction(onEvent, 'onEvent', 'ERR_RATELIMIT_OPTIONS');
  assertNumber(maxBatch, 'maxBatch', 'ERR_RATELIMIT_OPTIONS', { min: 1, integer: true });
  if (cluster && maxBatch !== 1) {
    // one script call may only touch one slot, and a batch's keys hash to many
    throw new PatchbayError('ERR_RATELIMIT_OPTIONS', `maxBatch must be 1 on a Redis Cluster, got ${maxBatch}`);
  }

  const insurance = onError === 'insurance' ? memoryStore() : undefined;
  let healthy = true;

  const timeoutMessage = `Redis did not answer within ${timeoutMs} ms`;
  // every algorithm keeps one key per limiter and caller key, hash-tagged on the caller key
  const keyOf = (algorithm: RateLimitAlgorithm, key: string): string => redisKey(`${prefix}${algorithm.id}:`, key);

  const batcher = decisionBatcher((algorithm, keys, args) => {
    const work =
      algorithm.kind === 'token-bucket'
        ? tokenBucketScript.run(redis, keys, [algorithm.capacity, algorithm.refillPerSecond, ...args])
        : (algorithm.kind === 'sliding-log' ? slidingLog : slidingCounter).run(redis, keys, [
            algorithm.limit,
            algorithm.windowMs,
            ...args,
          ]);
    return withTimeout(work, timeoutMs, { message: timeoutMessage });
  }, maxBatch);

  // Until the client has been seen ready, a client still connecting for the first time (or, made
  // with lazyConnect, waiting for a first command to connect) is given the calls, each bounded by
  // timeoutMs: failing them fast would leave a lazy client unconnected for good. After that, any
  // other state is an outage, and calls fail at once instead of piling up in the offline queue.
  let seenReady = false;
  /** Why a command must not be sent now, or undefined when it may be. */
  const unusable = (): Error | undefined => {
    const status = redis.status;
    if (status === 'ready') seenReady = true;
    else if (status !== undefined && (seenReady || !STARTING.includes(status))) {
      return new Error(`Redis client is ${status}`);
    }
    return undefined;
  };
  const run = (algorithm: RateLimitAlgorithm, key: string, cost: number, commit: boolean): Promise<Reply> => {
    const error = unusable();
    if (error) return Promise.reject(error);
    return batcher.decide(algorithm, keyOf(algorithm, key), cost, commit);
  };

  const answered = (): void => {
    if (!healthy) {
      healthy = true;
      if (onEvent !== undefined) notify(onEvent, { type: 'store-recovered' });
    }
  };

  const fallback = (algorithm: RateLimitAlgorithm, key: string, cost: number, commit: boolean, cause: unknown) => {
    // an observer that throws or rejects must not turn the fallback into a failed decision
    if (cause instanceof KeyRefusedError) {
      // one bad key is a misconfiguration to report, not an outage: Redis answered
      answered();
      const error = new PatchbayError('ERR_RATELIMIT_STORE', `Redis refused rate-limit key ${describe(key)}`, {
        cause,
      });
      if (onEvent !== undefined) notify(onEvent, { type: 'key-refused', key, error, mode: onError });
    } else if (healthy) {
      healthy = false;
      const error = new PatchbayError('ERR_RATELIMIT_STORE', 'Redis rate-limit store unavailable', { cause });
      if (onEvent !== undefined) notify(onEvent, { type: 'store-unavailable', error, mode: onError });
    }
    if (insurance) return insurance.decide(algorithm, key, cost, commit);
    const limit = algorithm.kind === 'token-bucket' ? algorithm.capacity : algorithm.limit;
    const now = Date.now();
    // a cost above the limit is denied for good in every mode, as Redis itself would deny it
    const decision: Decision =
      cost > limit
        ? { allowed: false, limit, remaining: 0, resetAt: now, retryAfterMs: Number.POSITIVE_INFINITY }
        : onError === 'allow'
          ? { allowed: true, limit, remaining: Math.floor(limit - cost), resetAt: now, retryAfterMs: 0 }
          : { allowed: false, limit, remaining: 0, resetAt: now + DENY_RETRY_MS, retryAfterMs: DENY_RETRY_MS };
    return Promise.resolve(decision);
  };

  return {
    async decide(algorithm, key, cost, commit) {
      let reply: Reply;
      try {
        reply = await run(algorithm, key, cost, commit);
      } catch (error) {
        return fallback(algorithm, key, cost, commit, error);
      }
      answered();
      const [allowed, remaining, reset, retry] = reply;
      return {
        allowed: allowed === 1,
        limit: algorithm.kind === 'token-bucket' ? algorithm.capacity : algorithm.limit,
        remaining,
        // The scripts answer the reset in ms from now. resetAt is read against the app's clock
        // (the headers' t=), which may be far from the Redis server's that timed the decision.
        resetAt: Date.now() + reset,
        retryAfterMs: retry === -1 ? Number.POSITIVE_INFINITY : retry,
      };
    },
    async reset(algorithm, key) {
      // decisions made before the reset reach Redis before it, as they would unbatched
      await batcher.drain();
      await insurance?.reset(algorithm, key);
      try {
        // A DEL left in the offline queue would run on reconnect, long after this reset was
        // reported failed, and resets made during an outage would pile up there.
        const error = unusable();
        if (error) throw error;
        await withTimeout(redis.del(keyOf(algorithm, key)), timeoutMs);
      } catch (error) {
        throw new PatchbayError('ERR_RATELIMIT_STORE', `Could not reset rate-limit key ${describe(key)} in Redis`, {
          cause: error,
        });
      }
    },
  };
}
