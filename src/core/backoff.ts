import { assertNumber } from './assert';
import { PatchbayError } from './errors';
import type { RandomSource } from './random';

/**
 * Exponential backoff settings. The ceiling for attempt `n` (counting from 0) is
 * `min(maxMs, initialMs * factor ** n)`; full jitter picks the delay uniformly below it.
 *
 * @example
 * ```ts
 * const options: BackoffOptions = { initialMs: 100, maxMs: 30_000, factor: 2 };
 * ```
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. Default 100. */
  initialMs?: number;
  /** The largest ceiling any delay may have, in ms. Default 30 000. */
  maxMs?: number;
  /** Growth of the ceiling per attempt, at least 1. Default 2. */
  factor?: number;
  /** Source of randomness; pass `seededRandom(n)` for reproducible tests. Default `Math.random`. */
  random?: RandomSource;
}

/**
 * A backoff policy: `delay(attempt)` gives the wait before retry number `attempt` (0-based).
 *
 * @example
 * ```ts
 * const policy: Backoff = backoff({ initialMs: 50 });
 * await sleep(policy.delay(0));
 * ```
 */
export interface Backoff {
  /** The jittered delay in ms before retry `attempt` (0-based). */
  delay(attempt: number): number;
  /** The ceiling for `attempt` before jitter, in ms. */
  ceiling(attempt: number): number;
}

/**
 * Creates an exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
 * and Jitter"): each delay is uniform in `[0, ceiling)`, which spreads reconnecting clients
 * apart instead of letting them retry in lockstep. Throws `ERR_BACKOFF_OPTIONS` on bad options.
 *
 * @example
 * ```ts
 * const policy = backoff({ initialMs: 100, maxMs: 10_000, factor: 2 });
 * for (let attempt = 0; attempt < 5; attempt++) {
 *   try {
 *     return await connect();
 *   } catch {
 *     await sleep(policy.delay(attempt));
 *   }
 * }
 * ```
 */
export function backoff(options: BackoffOptions = {}): Backoff {
  const { initialMs = 100, maxMs = 30_000, factor = 2, random = Math.random } = options;
  const code = 'ERR_BACKOFF_OPTIONS';
  assertNumber(initialMs, 'backoff initialMs', code, { min: 0, exclusiveMin: true });
  assertNumber(maxMs, 'backoff maxMs', code, { min: initialMs });
  assertNumber(factor, 'backoff factor', code, { min: 1 });
  if (typeof random !== 'function') {
    throw new PatchbayError(code, 'backoff random must be a function returning numbers in [0, 1)');
  }
  const ceiling = (attempt: number): number => {
    assertNumber(attempt, 'backoff attempt', code, { min: 0, integer: true });
    // Computed in log space so huge attempt numbers cannot overflow to Infinity * 0 = NaN.
    const exponent = Math.log(maxMs / initialMs) / Math.log(factor);
    return attempt >= exponent ? maxMs : Math.min(maxMs, initialMs * factor ** attempt);
  };
  return {
    ceiling,
    delay: (attempt) => Math.floor(random() * ceiling(attempt)),
  };
}
