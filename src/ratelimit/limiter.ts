import { assertNonEmptyString, assertNumber, describe } from '../core/assert';
import { PatchbayError } from '../core/errors';
import type { ConsumeOptions, Decision, RateLimitAlgorithm, RateLimiter, RateLimitStore } from './types';

const OPTIONS = 'ERR_RATELIMIT_OPTIONS';
const INPUT = 'ERR_RATELIMIT_INPUT';

/** Validates a limiter's `name` option: it becomes part of store keys and of header values. */
export function checkName(name: unknown): void {
  assertNonEmptyString(name, 'name', OPTIONS);
  // braces would change the Redis Cluster hash tag; quotes and control characters would need
  // escaping in every header and log line
  if (!/^[\x21\x23-\x5b\x5d-\x7a\x7c\x7e]+$/.test(name)) {
    throw new PatchbayError(
      OPTIONS,
      `name must be printable ASCII without spaces, quotes, backslashes or braces, got ${describe(name)}`,
    );
  }
}

/** Validates a positive integer option such as `limit`, `windowMs` or `capacity`. */
export function checkPositiveInteger(value: unknown, name: string): asserts value is number {
  assertNumber(value, name, OPTIONS, { min: 1, integer: true });
}

/** Validates the `store` option: anything with `decide` and `reset` methods. */
export function checkStore(store: unknown): asserts store is RateLimitStore {
  const candidate = store as Partial<RateLimitStore> | null;
  if (typeof candidate?.decide !== 'function' || typeof candidate.reset !== 'function') {
    throw new PatchbayError(OPTIONS, 'store must be a RateLimitStore such as memoryStore() or redisStore(redis)');
  }
}

function badKey(key: unknown): PatchbayError {
  return new PatchbayError(INPUT, `key must be a non-empty string, got ${describe(key)}`);
}

function badCost(cost: unknown): PatchbayError {
  return new PatchbayError(INPUT, `cost must be a finite number >= 0, got ${describe(cost)}`);
}

/**
 * Builds the {@link RateLimiter} facade every algorithm shares: validation of the key and cost
 * at the call, then one store decision. Bad input rejects the returned promise. The checks are
 * written out inline because they run on every request.
 */
export function createLimiter(
  algorithm: RateLimitAlgorithm,
  policy: RateLimiter['policy'],
  store: RateLimitStore,
): RateLimiter {
  return {
    policy,
    consume(key: string, options?: ConsumeOptions): Promise<Decision> {
      if (typeof key !== 'string' || key.length === 0) return Promise.reject(badKey(key));
      const cost = options?.cost ?? 1;
      // NaN fails both comparisons
      if (typeof cost !== 'number' || !(cost >= 0 && cost < Number.POSITIVE_INFINITY)) {
        return Promise.reject(badCost(cost));
      }
      try {
        return store.decide(algorithm, key, cost, true);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    peek(key: string): Promise<Decision> {
      if (typeof key !== 'string' || key.length === 0) return Promise.reject(badKey(key));
      try {
        return store.decide(algorithm, key, 1, false);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    reset(key: string): Promise<void> {
      if (typeof key !== 'string' || key.length === 0) return Promise.reject(badKey(key));
      try {
        return store.reset(algorithm, key);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}
