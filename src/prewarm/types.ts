/**
 * A warm-up step. `run` receives an `AbortSignal` that is aborted when the task's timeout, the
 * prewarmer's deadline or the caller's signal ends it; a task that passes the signal on to its
 * I/O is cancelled instead of being left running. Whatever `run` resolves with is kept as the
 * task's `result` in the report.
 *
 * @example
 * ```ts
 * const task: PrewarmTask = {
 *   name: 'config',
 *   run: async (signal) => { await fetch('http://config.internal/v1', { signal }); },
 *   timeoutMs: 2_000,
 *   retries: 2,
 * };
 * ```
 */
export interface PrewarmTask {
  /** Unique within a prewarmer; other tasks name it in `dependsOn`. */
  name: string;
  /** Does the warming. A rejection is a failed attempt. */
  run(signal: AbortSignal): Promise<unknown>;
  /** Tasks that must succeed before this one starts. If one does not, this task is `skipped`. */
  dependsOn?: readonly string[];
  /** Budget of each attempt in ms; the attempt's signal is aborted with a `TimeoutError` when it runs out. */
  timeoutMs?: number;
  /** Further attempts after a failure or timeout, spaced by full-jitter backoff. Default 0. */
  retries?: number;
  /** Whether the service is ready without it. Default true; an optional failure leaves it ready but degraded. */
  required?: boolean;
}

/**
 * How a task ended: `ok`; `failed` (its last attempt rejected); `timed-out` (its last attempt ran
 * out of `timeoutMs`, or the deadline passed while it ran); `skipped` (a dependency did not
 * succeed, or the run ended before it could start).
 *
 * @example
 * ```ts
 * const bad: PrewarmTaskStatus[] = ['failed', 'timed-out', 'skipped'];
 * ```
 */
export type PrewarmTaskStatus = 'ok' | 'failed' | 'skipped' | 'timed-out';

/**
 * What happened to one task in a run.
 *
 * @example
 * ```ts
 * for (const task of report.tasks) {
 *   if (task.status !== 'ok') console.warn(`${task.name}: ${task.status} after ${task.attempts} attempts`, task.error);
 * }
 * ```
 */
export interface PrewarmTaskReport {
  name: string;
  status: PrewarmTaskStatus;
  required: boolean;
  /** Attempts started; 0 for a skipped task. */
  attempts: number;
  /** From the first attempt's start to the end, backoff included; 0 for a skipped task. */
  durationMs: number;
  /** What `run` resolved with, for an `ok` task (warmers resolve with what they did). */
  result?: unknown;
  /** Why the task is not `ok`. */
  error?: unknown;
}

/**
 * The outcome of {@link Prewarmer.run} (and of each keep-warm round). `ready` is true when every
 * required task is `ok`; `degraded` when it is ready but some optional task is not.
 *
 * @example
 * ```ts
 * const report: PrewarmReport = await prewarmer.run();
 * if (!report.ready) process.exitCode = 1;
 * ```
 */
export interface PrewarmReport {
  ready: boolean;
  degraded: boolean;
  /** Epoch ms at which the run started, from the prewarmer's clock. */
  startedAt: number;
  durationMs: number;
  /** One entry per task, in the order the tasks were added. */
  tasks: PrewarmTaskReport[];
}

/**
 * The readiness gate: `ready` when every required task's latest run ended `ok`. `pending` lists
 * tasks that have not finished a run yet; `failed`, tasks whose latest run did not end `ok`.
 *
 * @example
 * ```ts
 * const { ready, pending, failed } = prewarmer.readiness();
 * ```
 */
export interface PrewarmReadiness {
  ready: boolean;
  /** Ready, but some optional task is not `ok`. */
  degraded: boolean;
  pending: string[];
  failed: string[];
}

/**
 * Progress reported through the `onEvent` option. `mode` tells a start-up {@link Prewarmer.run}
 * from a keep-warm round.
 *
 * @example
 * ```ts
 * const onEvent = (event: PrewarmEvent): void => {
 *   if (event.type === 'task-end') metrics.histogram('prewarm_task_ms', event.task.durationMs, { task: event.task.name });
 * };
 * ```
 */
export type PrewarmEvent =
  | { type: 'run-start'; mode: PrewarmMode; tasks: string[] }
  | { type: 'task-start'; mode: PrewarmMode; name: string; attempt: number }
  | { type: 'task-retry'; mode: PrewarmMode; name: string; attempt: number; delayMs: number; error: unknown }
  | { type: 'task-end'; mode: PrewarmMode; task: PrewarmTaskReport }
  | { type: 'deadline'; mode: PrewarmMode; deadlineMs: number; unfinished: string[] }
  | { type: 'run-end'; mode: PrewarmMode; report: PrewarmReport }
  | { type: 'keep-warm-skip'; tasks: string[]; reason: 'run-in-progress' };

/**
 * Whether a run is the start-up {@link Prewarmer.run} or a {@link Prewarmer.keepWarm} round.
 *
 * @example
 * ```ts
 * const mode: PrewarmMode = 'keep-warm';
 * ```
 */
export type PrewarmMode = 'run' | 'keep-warm';
