// A promise that also carries its value, for the rare caller on a hot path that can use an
// already known result at once instead of waiting a microtask (and allocating two more
// promises and their callbacks) for it. Every other caller sees an ordinary fulfilled promise.

const known = Symbol('patchbay.settled');

type Carrying<T> = Promise<T> & { [known]?: T };

/**
 * A promise fulfilled with `value` that also carries it for {@link settledValue}.
 *
 * @example
 * ```ts
 * decide(key: string): Promise<Decision> {
 *   return fulfilled(decideNow(key)); // an in-memory store knows its answer at once
 * }
 * ```
 */
export function fulfilled<T>(value: T): Promise<T> {
  const promise: Carrying<T> = Promise.resolve(value);
  promise[known] = value;
  return promise;
}

/**
 * The value of a promise made by {@link fulfilled}; `undefined` for any other promise, whose
 * value is only known by awaiting it.
 *
 * @example
 * ```ts
 * const pending = limiter.consume(key);
 * const decision = settledValue(pending);
 * if (decision !== undefined) admit(decision);
 * else pending.then(admit);
 * ```
 */
export function settledValue<T>(promise: Promise<T>): T | undefined {
  return (promise as Carrying<T>)[known];
}
