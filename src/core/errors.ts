/**
 * Options accepted by {@link PatchbayError}.
 *
 * @example
 * ```ts
 * const options: PatchbayErrorOptions = { cause: new Error('socket closed') };
 * ```
 */
export interface PatchbayErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The base of every error patchbay throws. `code` is stable across releases, so match on it
 * rather than on `message`; `cause` carries the underlying error where there is one.
 *
 * @example
 * ```ts
 * import { PatchbayError } from 'patchbay/ratelimit';
 *
 * try {
 *   await limiter.consume('');
 * } catch (error) {
 *   if (error instanceof PatchbayError && error.code === 'ERR_RATELIMIT_INPUT') {
 *     // a bad key reached the limiter
 *   }
 * }
 * ```
 */
export class PatchbayError extends Error {
  /** Stable machine-readable code such as `ERR_RATELIMIT_INPUT`. */
  readonly code: string;

  constructor(code: string, message: string, options?: PatchbayErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Thrown when an operation did not finish within its time budget. Code `ERR_TIMEOUT`.
 *
 * @example
 * ```ts
 * import { TimeoutError } from 'patchbay/prewarm';
 *
 * if (error instanceof TimeoutError) console.warn(`gave up after ${error.timeoutMs} ms`);
 * ```
 */
export class TimeoutError extends PatchbayError {
  /** The budget that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, message = `Timed out after ${timeoutMs} ms`) {
    super('ERR_TIMEOUT', message);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Thrown when an operation was cancelled through an `AbortSignal`. Code `ERR_ABORTED`; `cause`
 * is the signal's `reason`.
 *
 * @example
 * ```ts
 * import { AbortError } from 'patchbay/prewarm';
 *
 * if (error instanceof AbortError) return; // cancelled on purpose
 * ```
 */
export class AbortError extends PatchbayError {
  constructor(reason?: unknown) {
    super('ERR_ABORTED', 'The operation was aborted', { cause: reason });
  }
}
