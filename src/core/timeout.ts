import { assertNumber } from './assert';
import { AbortError, TimeoutError } from './errors';

/**
 * Options for {@link withTimeout}.
 *
 * @example
 * ```ts
 * const options: WithTimeoutOptions = { signal: request.signal, message: 'JWKS fetch timed out' };
 * ```
 */
export interface WithTimeoutOptions {
  /** An outer signal; aborting it rejects with {@link AbortError} at once. */
  signal?: AbortSignal | undefined;
  /** Message of the {@link TimeoutError}. */
  message?: string;
}

/**
 * Rejects with {@link AbortError} if `signal` is already aborted.
 *
 * @example
 * ```ts
 * throwIfAborted(signal);
 * await nextStep();
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/** The longest delay `setTimeout` honours (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * `ms` as a `setTimeout` delay: at most {@link MAX_TIMER_MS}. A longer delay would fire after
 * 1 ms in Node (at once in browsers), so a server asking a client to wait a year would get a
 * retry storm instead; a wait of 24.8 days is as good as forever.
 *
 * @example
 * ```ts
 * setTimeout(reconnect, timerDelay(serverRetryMs));
 * ```
 */
export function timerDelay(ms: number): number {
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms;
}

/**
 * Waits `ms` milliseconds. Rejects with {@link AbortError} when `signal` aborts, and removes its
 * timer and listener either way, so a cancelled sleep never keeps the process alive.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 10);
 * await sleep(60_000, { signal: controller.signal }); // rejects after ~10 ms
 * ```
 */
export function sleep(ms: number, { signal }: { signal?: AbortSignal | undefined } = {}): Promise<void> {
  assertNumber(ms, 'sleep ms', 'ERR_TIMEOUT_OPTIONS', { min: 0 });
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, timerDelay(ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Bounds `work` by `ms` milliseconds. `work` is either a promise or a function that receives an
 * `AbortSignal`, which is aborted when the time runs out or the outer `signal` aborts, so the
 * underlying I/O (a `fetch`, say) is cancelled rather than left running. Rejects with
 * {@link TimeoutError} or {@link AbortError}; the timer is cleared however the race ends.
 *
 * `ms` may be `Infinity`: only `signal` bounds the work then, which still releases the caller
 * on abort when the work itself cannot be cancelled (a DNS lookup, say). A finite `ms` longer
 * than a timer can count (about 24.8 days) is no limit either, rather than a timer that fires at once.
 *
 * @example
 * ```ts
 * const response = await withTimeout((signal) => fetch(url, { signal }), 2_000);
 * const address = await withTimeout(() => lookup(host), Number.POSITIVE_INFINITY, { signal });
 * ```
 */
export function withTimeout<T>(
  work: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  ms: number,
  options: WithTimeoutOptions = {},
): Promise<T> {
  if (ms !== Number.POSITIVE_INFINITY) {
    assertNumber(ms, 'timeout ms', 'ERR_TIMEOUT_OPTIONS', { min: 0, exclusiveMin: true });
  }
  const { signal, message } = options;
  if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
  // only work that takes a signal can be cancelled; a bare promise does not need a controller,
  // which matters on hot paths such as one Redis call per request
  const controller = typeof work === 'function' ? new AbortController() : undefined;
  return new Promise<T>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      finish();
      controller?.abort(signal?.reason);
      reject(new AbortError(signal?.reason));
    };
    const timer =
      ms > MAX_TIMER_MS
        ? undefined
        : setTimeout(() => {
            finish();
            const error = new TimeoutError(ms, message);
            controller?.abort(error);
            reject(error);
          }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    let promise: Promise<T>;
    try {
      promise = typeof work === 'function' ? work(controller!.signal) : work;
    } catch (error) {
      finish();
      reject(error);
      return;
    }
    Promise.resolve(promise).then(
      (value) => {
        finish();
        resolve(value);
      },
      (error: unknown) => {
        finish();
        reject(error);
      },
    );
  });
}
