import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../core/clock';
import { PatchbayError } from '../../core/errors';
import { assertKey, type IdempotencyStore, type IdempotencyTtlOptions, ttlOptions } from './store';

/**
 * Options for {@link memoryIdempotencyStore}.
 *
 * @example
 * ```ts
 * const options: MemoryIdempotencyStoreOptions = { lockTtlMs: 30_000, clock: { now: () => Date.now() } };
 * ```
 */
export interface MemoryIdempotencyStoreOptions extends IdempotencyTtlOptions {
  /** Source of the current time. Default the system clock. */
  clock?: Clock;
}

type Entry = { token: string; expiresAt: number } | { token: undefined; result: unknown; expiresAt: number };

/**
 * An in-process idempotency store: right for one process (tests, a single instance, a worker).
 * Several processes need {@link redisIdempotencyStore}. Results are kept as the same objects, not
 * copies. Expired entries are swept as the store grows, with no timer, so it never keeps a
 * process alive. Throws `ERR_WEBHOOK_OPTIONS` on bad options.
 *
 * @example
 * ```ts
 * import { memoryIdempotencyStore, processOnce } from 'patchbay/webhooks';
 *
 * const store = memoryIdempotencyStore();
 * await processOnce(store, 'evt_1', () => sendEmail()); // { status: 'processed' }
 * await processOnce(store, 'evt_1', () => sendEmail()); // { status: 'duplicate' }
 * ```
 */
export function memoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const { lockTtlMs, resultTtlMs } = ttlOptions(options);
  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== 'function') {
    throw new PatchbayError('ERR_WEBHOOK_OPTIONS', 'clock must be an object with a now() method');
  }
  const entries = new Map<string, Entry>();
  let sweepAbove = 1_024;

  const live = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= now) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  // A full sweep each time the map doubles keeps the cost amortised O(1) per claim.
  const sweep = (now: number): void => {
    if (entries.size < sweepAbove) return;
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
    sweepAbove = Math.max(1_024, entries.size * 2);
  };

  return {
    async claim(key) {
      assertKey(key);
      const now = clock.now();
      sweep(now);
      const entry = live(key, now);
      if (entry)
        return entry.token === undefined ? { status: 'duplicate', result: entry.result } : { status: 'in-flight' };
      const token = randomUUID();
      entries.set(key, { token, expiresAt: now + lockTtlMs });
      return { status: 'claimed', token };
    },
    async complete(key, token, result) {
      assertKey(key);
      const now = clock.now();
      const entry = live(key, now);
      if (entry && entry.token !== token) return false;
      entries.set(key, { token: undefined, result, expiresAt: now + resultTtlMs });
      return true;
    },
    async release(key, token) {
      assertKey(key);
      const entry = live(key, clock.now());
      if (!entry || entry.token !== token) return false;
      entries.delete(key);
      return true;
    },
  };
}
