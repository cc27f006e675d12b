/** Lets waiters sleep until a timeout or until someone calls `wake`, with no timer left behind. */
export interface Waker {
  /** Resolves after `ms`, on `wake()`, or when `signal` aborts, whichever is first. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  /** Resolves every pending `wait` now. */
  wake(): void;
}

/** Creates a {@link Waker}. */
export function createWaker(): Waker {
  const waiters = new Set<() => void>();
  return {
    wait(ms, signal) {
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
    wake() {
      for (const done of [...waiters]) done();
    },
  };
}
