import { assertNumber, assertOptionsObject } from '../core/assert';
import { checkName, checkPositiveInteger, checkStore, createLimiter } from './limiter';
import { memoryStore } from './stores/memory';
import type { RateLimiter, RateLimitStore } from './types';

/**
 * Options of {@link tokenBucket}.
 *
 * @example
 * ```ts
 * const options: TokenBucketOptions = { capacity: 20, refillPerSecond: 5 };
 * ```
 */
export interface TokenBucketOptions {
  /** Bucket size, the largest burst admitted: a positive integer. */
  capacity: number;
  /** Tokens added per second, continuously: a positive finite number (0.5 = one every 2 s). */
  refillPerSecond: number;
  /** Where state lives. Default: a new {@link memoryStore}. */
  store?: RateLimitStore;
  /** Names this limiter's state in the store and its policy in headers. Default derived from the quota. */
  name?: string;
}

/**
 * A token bucket: bursts up to `capacity`, then a steady `refillPerSecond`. A request of cost `n`
 * takes `n` tokens; tokens never go negative. A cost above `capacity` can never be admitted and
 * is denied with `retryAfterMs: Infinity` rather than thrown.
 *
 * @example
 * ```ts
 * import { tokenBucket } from 'patchbay/ratelimit';
 *
 * const search = tokenBucket({ capacity: 20, refillPerSecond: 2 });
 * const decision = await search.consume(apiKey, { cost: 5 });
 * ```
 */
export function tokenBucket(options: TokenBucketOptions): RateLimiter {
  assertOptionsObject(options, 'tokenBucket options', 'ERR_RATELIMIT_OPTIONS');
  const { capacity, refillPerSecond, name } = options;
  checkPositiveInteger(capacity, 'capacity');
  assertNumber(refillPerSecond, 'refillPerSecond', 'ERR_RATELIMIT_OPTIONS', { min: 0, exclusiveMin: true });
  if (name !== undefined) checkName(name);
  const store = options.store ?? memoryStore();
  checkStore(store);
  const id = `tb:${name ?? `${capacity}:${refillPerSecond}`}`;
  const windowMs = Math.ceil((capacity / refillPerSecond) * 1000);
  return createLimiter(
    { kind: 'token-bucket', id, capacity, refillPerSecond },
    { name: name ?? 'default', limit: capacity, windowMs },
    store,
  );
}
