import { assertBoolean, assertOptionsObject } from '../core/assert';
import { checkName, checkPositiveInteger, checkStore, createLimiter } from './limiter';
import { memoryStore } from './stores/memory';
import type { RateLimiter, RateLimitStore } from './types';

/**
 * Options of {@link slidingWindow}.
 *
 * @example
 * ```ts
 * const options: SlidingWindowOptions = { limit: 100, windowMs: 60_000 };
 * ```
 */
export interface SlidingWindowOptions {
  /** Most units admitted in any window of `windowMs`: a positive integer. */
  limit: number;
  /** The window length in ms: a positive integer. */
  windowMs: number;
  /** Where state lives. Default: a new {@link memoryStore}. */
  store?: RateLimitStore;
  /**
   * `false` (default): an exact sliding log, one entry per admitted request. `true`: a two-window
   * weighted counter, constant memory per key, which may admit more than `limit` in a window
   * when traffic is bursty (up to 2× in the worst case; see docs/ratelimit.md). A boolean: the
   * string `'false'` is refused with `ERR_RATELIMIT_OPTIONS`.
   */
  approximate?: boolean;
  /** Names this limiter's state in the store and its policy in headers. Default derived from the quota. */
  name?: string;
}

/**
 * A sliding-window limiter: at most `limit` units in any window of `windowMs`. The default exact
 * log never admits more than `limit` within any `windowMs`, whatever the traffic pattern.
 *
 * @example
 * ```ts
 * import { slidingWindow } from 'patchbay/ratelimit';
 *
 * const login = slidingWindow({ limit: 5, windowMs: 60_000 });
 * const decision = await login.consume(`login:${email}`);
 * if (!decision.allowed) throw new Error(`try again in ${Math.ceil(decision.retryAfterMs / 1000)} s`);
 * ```
 */
export function slidingWindow(options: SlidingWindowOptions): RateLimiter {
  assertOptionsObject(options, 'slidingWindow options', 'ERR_RATELIMIT_OPTIONS');
  const { limit, windowMs, approximate = false, name } = options;
  checkPositiveInteger(limit, 'limit');
  checkPositiveInteger(windowMs, 'windowMs');
  assertBoolean(approximate, 'approximate', 'ERR_RATELIMIT_OPTIONS');
  if (name !== undefined) checkName(name);
  const store = options.store ?? memoryStore();
  checkStore(store);
  const kind = approximate ? 'sliding-counter' : 'sliding-log';
  const id = `${approximate ? 'swc' : 'sw'}:${name ?? `${limit}:${windowMs}`}`;
  return createLimiter({ kind, id, limit, windowMs }, { name: name ?? 'default', limit, windowMs }, store);
}
