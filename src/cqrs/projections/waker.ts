import { timerDelay } from '../../core/timeout';

/** Lets waiters sleep until a timeout or until someone calls `wake`, with no timer left behind. */
export interface Waker {
  /** Counts `wake` calls; pass it to `wait` to not miss a wake that came before the wait. */
  generation(): number;
  /**
   * Resolves after `ms`, on `wake()`, or when `signal` aborts, whichever is first; at once when
   * `since` is given and a wake happened after that generation.
   */
  wait(ms: number, signal?: AbortSignal, since?: number): Promise<void>;
  /** Resolves every pending `wait` now. */
  wake(): void;
}

/** Creates a {@link Waker}. */
export function createWaker(): Waker {
  const waiters = new Set<() => void>();
  let generation = 0;
  return {
    generation: () => generation,
    wait(ms, signal, since) {
      if ((since !== undefined && since !== generation) || signal?.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timerDelay(ms));
        waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
    wake() {
      generation++;
      for (const done of [...waiters]) done();
    },
  };
}
