import { AbortError } from '../core/errors';

/**
 * Settles when `work` does, or with {@link AbortError} as soon as `signal` aborts; `work` gets a
 * signal aborted at that moment. Like `withTimeout` without a timer, for work whose only bound
 * is the caller's signal, or whose underlying call cannot be cancelled (a DNS lookup, a Redis
 * PING): the caller is released on time even when the call itself runs on.
 */
export function untilAborted<T>(work: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortError(signal.reason));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      controller.abort(signal.reason);
      reject(new AbortError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', onAbort);
    let promise: Promise<T>;
    try {
      promise = work(controller.signal);
    } catch (error) {
      settle();
      reject(error);
      return;
    }
    Promise.resolve(promise).then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}
