import { assertAbortSignal, assertNumber } from '../core/assert';
import { PatchbayError } from '../core/errors';
import { timerDelay } from '../core/timeout';
import type { TaskSpec } from './task';
import type { PrewarmEvent, PrewarmReport } from './types';

const code = 'ERR_PREWARM_OPTIONS';

/**
 * Options of {@link Prewarmer.keepWarm}.
 *
 * @example
 * ```ts
 * // Re-open HTTP connections before the upstream's 5 s keep-alive timeout closes them.
 * const options: KeepWarmOptions = { intervalMs: 4_000, tasks: ['api-connections'] };
 * ```
 */
export interface KeepWarmOptions {
  /** Pause between the end of one round and the start of the next, in ms. */
  intervalMs: number;
  /**
   * Names of the tasks to re-run, in dependency order among themselves. Default: every task,
   * including tasks added later (one whose dependency was never added ends each round `skipped`
   * with `ERR_PREWARM_UNKNOWN_DEPENDENCY`).
   */
  tasks?: readonly string[];
  /** Aborting it stops keep-warm, like {@link KeepWarmHandle.stop}. */
  signal?: AbortSignal;
}

/**
 * A running keep-warm loop.
 *
 * @example
 * ```ts
 * const keepWarm: KeepWarmHandle = prewarmer.keepWarm({ intervalMs: 30_000 });
 * server.on('close', () => keepWarm.stop());
 * ```
 */
export interface KeepWarmHandle {
  /**
   * Stops the loop: clears its timer and aborts a round in progress. Resolves once that round has
   * ended. Calling it again is harmless.
   */
  stop(): Promise<void>;
}

/** What keep-warm needs from its prewarmer. */
export interface KeepWarmHost {
  tasks: ReadonlyMap<string, TaskSpec>;
  isRunning(): boolean;
  run(tasks: readonly TaskSpec[], signal: AbortSignal): Promise<PrewarmReport>;
  emit(event: PrewarmEvent): void;
}

/**
 * Starts a keep-warm loop. Rounds never overlap: the next is timed from the end of the previous,
 * and a round due while a start-up run is in progress is skipped. The timer is unref'd, so
 * keep-warm alone never keeps a process alive.
 */
export function startKeepWarm(options: KeepWarmOptions, host: KeepWarmHost): KeepWarmHandle {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError(code, 'keepWarm options must be an object with intervalMs');
  }
  const { intervalMs, tasks: names, signal } = options;
  assertNumber(intervalMs, 'keepWarm intervalMs', code, { min: 0, exclusiveMin: true });
  if (signal !== undefined) assertAbortSignal(signal, 'keepWarm signal', code);
  if (names !== undefined) {
    if (!Array.isArray(names) || names.length === 0) {
      throw new PatchbayError(code, 'keepWarm tasks must be a non-empty array of task names');
    }
    const unknown = names.filter((name) => !host.tasks.has(name));
    if (unknown.length > 0) {
      throw new PatchbayError(code, `keepWarm tasks names unknown tasks: ${unknown.map((n) => `"${n}"`).join(', ')}`);
    }
  }

  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let round: Promise<void> | undefined;

  const selected = (): TaskSpec[] => {
    const all = [...host.tasks.values()];
    return names === undefined ? all : all.filter((task) => names.includes(task.name));
  };

  const next = (): void => {
    if (controller.signal.aborted) return;
    timer = setTimeout(tick, timerDelay(intervalMs));
    timer.unref();
  };

  const tick = (): void => {
    timer = undefined;
    const list = selected();
    if (host.isRunning()) {
      host.emit({ type: 'keep-warm-skip', tasks: list.map((task) => task.name), reason: 'run-in-progress' });
      next();
      return;
    }
    const ended = (): void => {
      round = undefined;
      next();
    };
    // a round that failed as a whole (its clock threw) is followed by the next one, as any round
    round = host.run(list, controller.signal).then(ended, ended);
  };

  const stop = (): Promise<void> => {
    if (!controller.signal.aborted) {
      controller.abort(new PatchbayError('ERR_PREWARM_STOPPED', 'keep-warm was stopped'));
      clearTimeout(timer);
      timer = undefined;
      signal?.removeEventListener('abort', onAbort);
    }
    return round ?? Promise.resolve();
  };
  const onAbort = (): void => {
    stop();
  };

  if (signal?.aborted) return { stop };
  signal?.addEventListener('abort', onAbort, { once: true });
  next();
  return { stop };
}
