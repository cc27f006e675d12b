import { assertAbortSignal, assertNumber, assertOptionsObject } from '../core/assert';
import { type BackoffOptions, backoff as createBackoff } from '../core/backoff';
import { type Clock, systemClock } from '../core/clock';
import { PatchbayError } from '../core/errors';
import { notify } from '../core/notify';
import { assertComplete, assertNoCycle } from './graph';
import { type KeepWarmHandle, type KeepWarmOptions, startKeepWarm } from './keep-warm';
import { schedule } from './schedule';
import { type TaskSpec, toTaskSpec } from './task';
import { textOf } from './text';
import type { PrewarmEvent, PrewarmReadiness, PrewarmReport, PrewarmTask, PrewarmTaskReport } from './types';

const code = 'ERR_PREWARM_OPTIONS';

/**
 * Options of {@link createPrewarmer}.
 *
 * @example
 * ```ts
 * const options: PrewarmerOptions = { deadlineMs: 20_000, concurrency: 4, onEvent: (event) => log.debug(event) };
 * ```
 */
export interface PrewarmerOptions {
  /** Budget of a whole run in ms; tasks still running then are aborted, tasks not started are skipped. Default: none. */
  deadlineMs?: number;
  /** Most tasks running at once. Default 8. */
  concurrency?: number;
  /** Progress events. Errors thrown by the hook are ignored, so observability cannot break warm-up. */
  onEvent?: (event: PrewarmEvent) => void;
  /** Delay between a task's attempts (full jitter). Default `{ initialMs: 100, maxMs: 5_000 }`. */
  backoff?: BackoffOptions;
  /** Source of time for reported durations. Default the system clock. */
  clock?: Clock;
}

/**
 * Options of {@link Prewarmer.run}.
 *
 * @example
 * ```ts
 * process.once('SIGTERM', () => controller.abort());
 * await prewarmer.run({ signal: controller.signal });
 * ```
 */
export interface PrewarmRunOptions {
  /** Aborting it aborts the running tasks and skips the rest. */
  signal?: AbortSignal;
}

/**
 * A set of warm-up tasks, run in dependency order. See {@link createPrewarmer}.
 *
 * @example
 * ```ts
 * const prewarmer: Prewarmer = createPrewarmer({ deadlineMs: 10_000 });
 * ```
 */
export interface Prewarmer {
  /**
   * Adds a task; chainable. Throws `ERR_PREWARM_TASK` for a malformed task, `ERR_PREWARM_DUPLICATE`
   * for a name already added, `ERR_PREWARM_CYCLE` when the task closes a dependency cycle and
   * `ERR_PREWARM_STATE` during a run.
   */
  add(task: PrewarmTask): this;
  /**
   * Runs every task and resolves with the report; never rejects because a task failed. Rejects
   * with `ERR_PREWARM_UNKNOWN_DEPENDENCY` when a task depends on one never added, and with the
   * clock's error when the clock throws as the run starts or ends. Called while a run is in
   * progress, it returns that run's promise. Called during a keep-warm round, it waits for the
   * round to end before starting, so no task runs twice at once; aborting its signal meanwhile
   * ends the run at once, every task `skipped`.
   */
  run(options?: PrewarmRunOptions): Promise<PrewarmReport>;
  /**
   * The readiness gate, from the latest start-up run of each task: not ready before the first
   * {@link Prewarmer.run}; ready as soon as every required task has ended `ok`, even while
   * optional ones still run. Keep-warm rounds do not change it.
   */
  readiness(): PrewarmReadiness;
  /** The report of the latest finished {@link Prewarmer.run}, if any. */
  lastReport(): PrewarmReport | undefined;
  /**
   * Re-runs tasks every `intervalMs` until stopped. See {@link KeepWarmOptions}. Throws
   * `ERR_PREWARM_UNKNOWN_DEPENDENCY`, as {@link Prewarmer.run} rejects, when a task depends on one
   * never added.
   */
  keepWarm(options: KeepWarmOptions): KeepWarmHandle;
}

/**
 * Creates a pre-warmer: register warm-up tasks with {@link Prewarmer.add}, run them once at
 * start-up with {@link Prewarmer.run}, gate traffic on {@link Prewarmer.readiness} and keep
 * connections warm with {@link Prewarmer.keepWarm}. Throws `ERR_PREWARM_OPTIONS` on bad options.
 *
 * @example
 * ```ts
 * import { createPrewarmer, warmDns, warmHttp, warmRedis } from 'patchbay/prewarm';
 *
 * const prewarmer = createPrewarmer({ deadlineMs: 15_000, concurrency: 4 })
 *   .add({ name: 'dns', run: warmDns(['api.example.com']) })
 *   .add({ name: 'api', run: warmHttp(['https://api.example.com/health'], { agent, connections: 8 }), dependsOn: ['dns'] })
 *   .add({ name: 'redis', run: warmRedis(redis), timeoutMs: 2_000, retries: 3 });
 *
 * const report = await prewarmer.run();
 * if (!report.ready) console.error(report.tasks.filter((task) => task.status !== 'ok'));
 * ```
 */
export function createPrewarmer(options: PrewarmerOptions = {}): Prewarmer {
  if (typeof options !== 'object' || options === null) {
    throw new PatchbayError(code, 'createPrewarmer options must be an object');
  }
  const { deadlineMs, concurrency = 8, onEvent, clock = systemClock } = options;
  if (deadlineMs !== undefined) assertNumber(deadlineMs, 'prewarm deadlineMs', code, { min: 0, exclusiveMin: true });
  assertNumber(concurrency, 'prewarm concurrency', code, { min: 1, integer: true });
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    throw new PatchbayError(code, 'prewarm onEvent must be a function');
  }
  if (typeof clock?.now !== 'function') throw new PatchbayError(code, 'prewarm clock must have a now() method');
  if (options.backoff !== undefined) assertOptionsObject(options.backoff, 'prewarm backoff', code);
  let backoff: ReturnType<typeof createBackoff>;
  try {
    backoff = createBackoff({ initialMs: 100, maxMs: 5_000, ...options.backoff });
  } catch (error) {
    throw new PatchbayError(code, `prewarm backoff: ${textOf(error)}`, { cause: error });
  }

  const tasks = new Map<string, TaskSpec>();
  // Names some task depends on: only a task named here can close a cycle when it is added.
  const referenced = new Set<string>();
  const latest = new Map<string, PrewarmTaskReport>();
  let current: Promise<PrewarmReport> | undefined;
  // Keep-warm rounds in progress, each settled (never rejecting) once it has ended.
  const rounds = new Set<Promise<void>>();
  let last: PrewarmReport | undefined;
  let everStarted = false;

  // An observer's bug, sync or async, must not change the outcome of warm-up.
  const emit = (event: PrewarmEvent): void => {
    if (onEvent !== undefined) notify(onEvent, event);
  };

  const runTasks = (
    mode: 'run' | 'keep-warm',
    list: readonly TaskSpec[],
    signal: AbortSignal | undefined,
  ): Promise<PrewarmReport> =>
    schedule({
      mode,
      tasks: list,
      known: tasks,
      concurrency,
      deadlineMs,
      signal,
      backoff,
      clock,
      emit,
      onTaskEnd: mode === 'run' ? (task) => latest.set(task.name, task) : () => {},
    });

  const prewarmer: Prewarmer = {
    add(task) {
      if (current !== undefined) {
        throw new PatchbayError('ERR_PREWARM_STATE', 'cannot add a prewarm task while a run is in progress');
      }
      const spec = toTaskSpec(task);
      if (tasks.has(spec.name)) {
        throw new PatchbayError('ERR_PREWARM_DUPLICATE', `a prewarm task named "${spec.name}" was already added`);
      }
      if (referenced.has(spec.name) || spec.dependsOn.includes(spec.name)) assertNoCycle(tasks, spec);
      tasks.set(spec.name, spec);
      for (const name of spec.dependsOn) referenced.add(name);
      return this;
    },

    run(runOptions = {}) {
      if (current !== undefined) return current;
      try {
        assertOptionsObject(runOptions, 'prewarm run options', code);
        if (runOptions.signal !== undefined) assertAbortSignal(runOptions.signal, 'prewarm run signal', code);
        assertComplete(tasks);
      } catch (error) {
        return Promise.reject(error);
      }
      const start = (): Promise<PrewarmReport> => {
        everStarted = true;
        return runTasks('run', [...tasks.values()], runOptions.signal);
      };
      // A round's tasks would otherwise run twice at once (twice the cache loads, a pool grown
      // twice over); cutting the round short would waste the work it has done.
      const started = rounds.size === 0 ? start() : roundsEnded(rounds, runOptions.signal).then(start);
      current = started.then(
        (report) => {
          current = undefined;
          last = report;
          return report;
        },
        (error: unknown) => {
          // a run that failed (its clock threw) is over too: add() and run() work again
          current = undefined;
          throw error;
        },
      );
      return current;
    },

    readiness() {
      const pending: string[] = [];
      const failed: string[] = [];
      let ready = everStarted;
      for (const task of tasks.values()) {
        const status = latest.get(task.name)?.status;
        if (status === undefined) pending.push(task.name);
        else if (status !== 'ok') failed.push(task.name);
        if (task.required && status !== 'ok') ready = false;
      }
      return { ready, degraded: ready && failed.length > 0, pending, failed };
    },

    lastReport: () => last,

    keepWarm(keepWarmOptions) {
      // as run() does: a dependency never added would otherwise count as met in every round
      assertComplete(tasks);
      return startKeepWarm(keepWarmOptions, {
        tasks,
        isRunning: () => current !== undefined,
        run: (list, signal) => {
          const round = runTasks('keep-warm', list, signal);
          const ended = round.then(
            () => {},
            () => {},
          );
          rounds.add(ended);
          ended.then(() => rounds.delete(ended));
          return round;
        },
        emit,
      });
    },
  };
  return prewarmer;
}

/** Resolves once every round in `rounds` has ended, or at once when `signal` aborts. */
function roundsEnded(rounds: ReadonlySet<Promise<void>>, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal?.removeEventListener('abort', done);
      resolve();
    };
    signal?.addEventListener('abort', done, { once: true });
    Promise.all(rounds).then(done);
  });
}
