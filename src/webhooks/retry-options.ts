import type { Options as RetryOptions } from 'p-retry';
import { assertAbortSignal, assertBoolean, assertFunction, assertNumber, assertOptionsObject } from '../core/assert';
import { PatchbayError } from '../core/errors';

const CODE = 'ERR_WEBHOOK_OPTIONS';
// Infinity is how p-retry spells "no limit" for these, and nothing else
const NUMBERS = { retries: true, factor: false, minTimeout: false, maxTimeout: true, maxRetryTime: true } as const;
const HOOKS = ['onFailedAttempt', 'shouldRetry', 'shouldConsumeRetry'] as const;

/**
 * Checks the p-retry options the sender passes through, with p-retry's own ranges. p-retry throws
 * a TypeError for a bad one only inside `send()`, where it would read as a failed delivery: no
 * attempt, outcome `exhausted`, the event dead-lettered.
 */
export function assertRetryOptions(retry: unknown): asserts retry is RetryOptions | undefined {
  if (retry === undefined) return;
  assertOptionsObject(retry, 'retry', CODE);
  const options = retry as Record<string, unknown>;
  for (const [name, unlimited] of Object.entries(NUMBERS)) {
    const value = options[name];
    if (value === undefined || (unlimited && value === Number.POSITIVE_INFINITY)) continue;
    assertNumber(value, `retry.${name}`, CODE, { min: 0, integer: name === 'retries' });
  }
  for (const name of HOOKS) {
    if (options[name] !== undefined) assertFunction(options[name], `retry.${name}`, CODE);
  }
  for (const name of ['randomize', 'unref'] as const) {
    if (options[name] !== undefined) assertBoolean(options[name], `retry.${name}`, CODE);
  }
  if (options.signal !== undefined) assertAbortSignal(options.signal, 'retry.signal', CODE);
  if ('forever' in options) {
    throw new PatchbayError(CODE, 'retry.forever is not supported by p-retry; use retries: Infinity');
  }
}
