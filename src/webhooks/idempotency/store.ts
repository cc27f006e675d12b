import { assertNumber, assertOptionsObject } from '../../core/assert';
import { PatchbayError } from '../../core/errors';

/**
 * The outcome of {@link IdempotencyStore.claim}: `claimed` (the caller owns the key until it
 * completes or releases it with `token`, or the lock expires), `in-flight` (another caller owns
 * it now) or `duplicate` (already processed; `result` is what that processing returned).
 *
 * @example
 * ```ts
 * const claim: IdempotencyClaim = await store.claim('evt_1');
 * if (claim.status === 'duplicate') return claim.result;
 * ```
 */
export type IdempotencyClaim =
  | { status: 'claimed'; token: string }
  | { status: 'in-flight' }
  | { status: 'duplicate'; result: unknown };

/**
 * Where {@link processOnce} records which keys are being processed and which are done. A key is
 * claimed for `lockTtlMs`, then either completed (its result kept for `resultTtlMs`) or released.
 * Only the owner's token can complete or release a claim.
 *
 * @example
 * ```ts
 * const store: IdempotencyStore = memoryIdempotencyStore();
 * const claim = await store.claim('evt_1');
 * if (claim.status === 'claimed') await store.complete('evt_1', claim.token, { ok: true });
 * ```
 */
export interface IdempotencyStore {
  /** Claims `key` unless it is in flight or done. */
  claim(key: string): Promise<IdempotencyClaim>;
  /** Marks the claim done and keeps `result`; false when the claim was lost (its lock expired and another caller took it). */
  complete(key: string, token: string, result: unknown): Promise<boolean>;
  /** Gives up the claim so the next caller may process the key; false when it was no longer held. */
  release(key: string, token: string): Promise<boolean>;
}

/**
 * Lock and result lifetimes shared by the idempotency stores.
 *
 * @example
 * ```ts
 * const ttl: IdempotencyTtlOptions = { lockTtlMs: 30_000, resultTtlMs: 24 * 3_600_000 };
 * ```
 */
export interface IdempotencyTtlOptions {
  /**
   * How long a claim lasts if its owner neither completes nor releases it (a crashed process),
   * in ms. Choose it above the longest processing time. Default 60 000.
   */
  lockTtlMs?: number;
  /**
   * How long a completed key answers `duplicate`, in ms: cover the sender's whole retry window
   * (Stripe retries for up to 3 days). Default 259 200 000 (72 hours).
   */
  resultTtlMs?: number;
}

/** The longest key a store accepts; longer keys are almost certainly a body passed by mistake. */
export const MAX_KEY_LENGTH = 512;

/** Validated TTLs with their defaults. */
export function ttlOptions(options: IdempotencyTtlOptions): Required<IdempotencyTtlOptions> {
  // undefined has become the default `{}` by now; null is a mistake
  assertOptionsObject(options, 'options', 'ERR_WEBHOOK_OPTIONS');
  const { lockTtlMs = 60_000, resultTtlMs = 259_200_000 } = options;
  assertNumber(lockTtlMs, 'lockTtlMs', 'ERR_WEBHOOK_OPTIONS', { min: 1, integer: true });
  assertNumber(resultTtlMs, 'resultTtlMs', 'ERR_WEBHOOK_OPTIONS', { min: 1, integer: true });
  return { lockTtlMs, resultTtlMs };
}

/** Throws `ERR_WEBHOOK_INPUT` unless `key` is a usable idempotency key. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new PatchbayError(
      'ERR_WEBHOOK_INPUT',
      `idempotency key must be a string of 1 to ${MAX_KEY_LENGTH} characters`,
    );
  }
}
