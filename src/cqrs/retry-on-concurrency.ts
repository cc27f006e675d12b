import { assertNumber, assertOptionsObject, describe } from '../core/assert';
import { type BackoffOptions, backoff } from '../core/backoff';
import { PatchbayError } from '../core/errors';
import { sleep } from '../core/timeout';
import type { Middleware } from './bus';
import { ConcurrencyError } from './errors';

/**
 * Options of {@link retryOnConcurrency}.
 *
 * @example
 * ```ts
 * const options: RetryOnConcurrencyOptions = { attempts: 5, backoff: { initialMs: 5, maxMs: 100 } };
 * ```
 */
export interface RetryOnConcurrencyOptions {
  /** Total tries, including the first. Default 3. */
  attempts?: number;
  /** Jittered wait between tries. Default `{ initialMs: 5, maxMs: 200 }`. */
  backoff?: BackoffOptions;
}

/**
 * A middleware that runs the rest of the pipeline again when it throws a {@link ConcurrencyError},
 * so a command handler that loads a stream, decides and appends with `expectedVersion` re-decides
 * on fresh state instead of failing. Any other error passes through at once; after the last
 * attempt the `ConcurrencyError` is thrown.
 *
 * @example
 * ```ts
 * const commands = createCommandBus<Commands>({ middleware: [retryOnConcurrency({ attempts: 5 })] });
 * ```
 */
export function retryOnConcurrency(options: RetryOnConcurrencyOptions = {}): Middleware {
  assertOptionsObject(options, 'retryOnConcurrency options', 'ERR_CQRS_OPTIONS');
  const { attempts = 3, backoff: backoffOptions = { initialMs: 5, maxMs: 200 } } = options;
  assertNumber(attempts, 'retryOnConcurrency attempts', 'ERR_CQRS_OPTIONS', { min: 1, integer: true });
  if (typeof backoffOptions !== 'object' || backoffOptions === null) {
    throw new PatchbayError('ERR_CQRS_OPTIONS', `backoff must be an object, got ${describe(backoffOptions)}`);
  }
  const policy = backoff(backoffOptions);
  return async (_ctx, next) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await next();
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= attempts) throw error;
        await sleep(policy.delay(attempt - 1));
      }
    }
  };
}
