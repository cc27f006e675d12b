import { PatchbayError } from '../core/errors';
import { assertKey, type IdempotencyStore } from './idempotency/store';

/**
 * What {@link processOnce} did: `processed` (this call ran `fn`; `result` is its value),
 * `duplicate` (an earlier call finished; `result` is the value it stored) or `in-flight`
 * (another call is running `fn` right now; nothing ran here). When `fn` succeeded but its result
 * could not be recorded, `storeError` holds why: a redelivery after the lock expires would run again.
 *
 * @example
 * ```ts
 * const outcome: ProcessOnceResult<string> = await processOnce(store, 'evt_1', async () => 'sent');
 * if (outcome.status === 'in-flight') res.statusCode = 503; // ask the sender to retry later
 * ```
 */
export interface ProcessOnceResult<T> {
  status: 'processed' | 'duplicate' | 'in-flight';
  result?: T | undefined;
  storeError?: unknown;
}

/**
 * Runs `fn` at most once for `key` across every caller sharing `store`. The first caller claims
 * the key and runs `fn`; callers that arrive meanwhile get `in-flight`; once `fn` resolves its
 * result is stored and later callers get `duplicate`. When `fn` throws, the claim is released
 * and the error rethrown, so a retry can process the key. A caller that dies mid-run holds the
 * key only until the store's `lockTtlMs` passes. Throws `ERR_WEBHOOK_INPUT` on a bad key or `fn`.
 *
 * @example
 * ```ts
 * import { memoryIdempotencyStore, processOnce } from 'patchbay/webhooks';
 *
 * const store = memoryIdempotencyStore();
 * const outcome = await processOnce(store, event.id, async () => chargeCustomer(event));
 * show(outcome.status); // 'processed', then 'duplicate' for every redelivery
 * ```
 */
export async function processOnce<T>(
  store: IdempotencyStore,
  key: string,
  fn: () => Promise<T> | T,
): Promise<ProcessOnceResult<T>> {
  if (typeof store?.claim !== 'function') {
    throw new PatchbayError('ERR_WEBHOOK_INPUT', 'processOnce needs an IdempotencyStore');
  }
  assertKey(key);
  if (typeof fn !== 'function') throw new PatchbayError('ERR_WEBHOOK_INPUT', 'processOnce needs a function to run');

  const claim = await store.claim(key);
  if (claim.status === 'duplicate') return { status: 'duplicate', result: claim.result as T };
  if (claim.status === 'in-flight') return { status: 'in-flight' };

  let result: T;
  try {
    result = await fn();
  } catch (error) {
    // Releasing can fail too (Redis down); the lock then expires by itself, and fn's error is the one that matters.
    await store.release(key, claim.token).catch(() => undefined);
    throw error;
  }
  try {
    if (await store.complete(key, claim.token, result)) return { status: 'processed', result };
    const lost = 'the claim expired before fn finished (raise lockTtlMs); another caller may have run it too';
    return { status: 'processed', result, storeError: new PatchbayError('ERR_WEBHOOK_STORE', lost) };
  } catch (storeError) {
    return { status: 'processed', result, storeError };
  }
}
