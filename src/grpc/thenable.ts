/**
 * True for a promise of any implementation, not only the native one: a `verify`, a limiter or a
 * handler may come from code built on another promise library, and taking its promise for a
 * settled value would, in auth, take the promise itself for an identity.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
