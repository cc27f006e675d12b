/**
 * Calls a user's observer hook (`onEvent`, `onError`, `onRetry`, a logger method) with `args`
 * and drops whatever it does wrong, whether it throws or returns a promise that rejects.
 *
 * Hooks are typed `=> void` so that any function fits, which lets an async one through too.
 * Components call them from timers, socket callbacks and grpc-js callbacks, where a throw is an
 * uncaught exception and an unawaited rejection an unhandled one: both end the process by
 * default. A broken observer must change neither the outcome it observes nor the host, and its
 * failure has nowhere left to be reported. Callers check that the hook is set before building
 * `args`, so an absent hook costs nothing.
 *
 * @example
 * ```ts
 * if (options.onEvent !== undefined) notify(options.onEvent, { type: 'store-recovered' });
 * // a method that needs its `this`, such as a pino logger's:
 * notify(() => logger.warn(entry, 'grpc call UNAVAILABLE'));
 * ```
 */
export function notify<Args extends unknown[]>(hook: (...args: Args) => unknown, ...args: Args): void {
  try {
    const result = hook(...args);
    // Promise.resolve adopts any thenable, and calls its `then` later inside a promise job, so a
    // thenable whose `then` itself throws ends as a rejection handled here too
    if (typeof (result as { then?: unknown } | null | undefined)?.then === 'function') {
      Promise.resolve(result).catch(ignore);
    }
  } catch {
    // the hook's own failure has nowhere to go: reporting it is the hook's job
  }
}

function ignore(): void {}
