/**
 * A source of the current time in epoch milliseconds. Every patchbay component that reads the
 * time takes one, so tests can drive time by hand instead of sleeping.
 *
 * @example
 * ```ts
 * let now = 0;
 * const clock: Clock = { now: () => now };
 * now += 1_000; // one second passes, instantly
 * ```
 */
export interface Clock {
  /** The current time in milliseconds since the Unix epoch. */
  now(): number;
}

/**
 * The real clock, backed by `Date.now()`.
 *
 * @example
 * ```ts
 * const startedAt = systemClock.now();
 * ```
 */
export const systemClock: Clock = { now: () => Date.now() };
