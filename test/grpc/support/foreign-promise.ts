/**
 * A promise from another library: a thenable whose `then` returns another such thenable, never a
 * native promise, so code that checks `instanceof Promise` takes it for a settled value.
 */
export function foreignPromise<T>(promise: Promise<T>): PromiseLike<T> {
  return {
    // biome-ignore lint/suspicious/noThenProperty: this object stands for a promise from another library
    then: (onFulfilled, onRejected) => foreignPromise(promise.then(onFulfilled, onRejected)),
  };
}
