import type { Backoff } from '../core/backoff';
import type { Clock } from '../core/clock';
import { PatchbayError, TimeoutError } from '../core/errors';
import { timerDelay } from '../core/timeout';
import { runTask } from './attempt';
import { unknownDependency } from './graph';
import type { TaskSpec } from './task';
import type { PrewarmEvent, PrewarmMode, PrewarmReport, PrewarmTaskReport } from './types';

/** Everything one run of a set of tasks needs. */
export interface ScheduleOptions {
  mode: PrewarmMode;
  /**
   * The tasks to run, in the order they were added. Dependencies outside this list count as met
   * when they are in `known`; a task with a dependency that is not is skipped.
   */
  tasks: readonly TaskSpec[];
  /** Every task added to the prewarmer, as the run starts. */
  known: ReadonlyMap<string, TaskSpec>;
  concurrency: number;
  deadlineMs: number | undefined;
  signal: AbortSignal | undefined;
  backoff: Backoff;
  clock: Clock;
  emit(event: PrewarmEvent): void;
  /** Called as each task ends, before its dependents start. */
  onTaskEnd(task: PrewarmTaskReport): void;
}

/**
 * Runs `tasks` in dependency order, at most `concurrency` at a time, until each has ended or
 * been skipped. Every failure of a task is a task status in the report; only a clock that throws
 * when the run starts or ends rejects it, since the report's times cannot be known.
 */
export function schedule(options: ScheduleOptions): Promise<PrewarmReport> {
  const { mode, tasks, concurrency, deadlineMs, clock, emit } = options;
  let startedAt: number;
  try {
    startedAt = clock.now();
  } catch (error) {
    return Promise.reject(error);
  }
  const names = new Set(tasks.map((task) => task.name));
  const waitingOn = new Map(tasks.map((task) => [task.name, task.dependsOn.filter((name) => names.has(name)).length]));
  const dependents = new Map<string, TaskSpec[]>();
  for (const task of tasks) {
    for (const name of task.dependsOn) {
      const list = dependents.get(name);
      if (list === undefined) dependents.set(name, [task]);
      else list.push(task);
    }
  }
  const queue = tasks.filter((task) => waitingOn.get(task.name) === 0);
  const results = new Map<string, PrewarmTaskReport>();
  const started = new Set<string>();
  const controller = new AbortController();
  let running = 0;
  let done = false;

  emit({ type: 'run-start', mode, tasks: tasks.map((task) => task.name) });

  return new Promise<PrewarmReport>((resolve, reject) => {
    const onOuterAbort = (): void => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const deadline =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            emit({
              type: 'deadline',
              mode,
              deadlineMs,
              unfinished: tasks.filter((t) => !results.has(t.name)).map((t) => t.name),
            });
            controller.abort(new TimeoutError(deadlineMs, `prewarm deadline of ${deadlineMs} ms passed`));
          }, timerDelay(deadlineMs));

    const record = (report: PrewarmTaskReport): void => {
      results.set(report.name, report);
      options.onTaskEnd(report);
      emit({ type: 'task-end', mode, task: report });
    };

    const skip = (task: TaskSpec, error: unknown): void => {
      if (results.has(task.name)) return;
      record({ name: task.name, status: 'skipped', required: task.required, attempts: 0, durationMs: 0, error });
      for (const dependent of dependents.get(task.name) ?? []) skip(dependent, error);
    };

    const settle = (report: PrewarmTaskReport): void => {
      running--;
      record(report);
      for (const dependent of dependents.get(report.name) ?? []) {
        if (report.status !== 'ok') {
          skip(
            dependent,
            new PatchbayError('ERR_PREWARM_DEPENDENCY', `dependency "${report.name}" ended ${report.status}`, {
              cause: report.error,
            }),
          );
          continue;
        }
        const left = (waitingOn.get(dependent.name) ?? 0) - 1;
        waitingOn.set(dependent.name, left);
        if (left === 0) queue.push(dependent);
      }
      pump();
    };

    const pump = (): void => {
      if (controller.signal.aborted) {
        // The run is over: whatever has not started never will.
        for (const task of tasks)
          if (!results.has(task.name) && !started.has(task.name)) skip(task, controller.signal.reason);
      }
      while (running < concurrency && queue.length > 0) {
        const task = queue.shift() as TaskSpec;
        if (results.has(task.name)) continue;
        running++;
        started.add(task.name);
        runTask(task, { mode, signal: controller.signal, backoff: options.backoff, clock, emit }).then(settle);
      }
      if (results.size === tasks.length && !done) finish();
    };

    const finish = (): void => {
      done = true;
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onOuterAbort);
      const ordered = tasks.map((task) => results.get(task.name) as PrewarmTaskReport);
      const ready = ordered.every((task) => !task.required || task.status === 'ok');
      let durationMs: number;
      try {
        durationMs = clock.now() - startedAt;
      } catch (error) {
        // finish runs from a task's promise callback or an abort listener, where a throw would
        // be unhandled and the run never settle
        reject(error);
        return;
      }
      const report: PrewarmReport = {
        ready,
        degraded: ready && ordered.some((task) => task.status !== 'ok'),
        startedAt,
        durationMs,
        tasks: ordered,
      };
      emit({ type: 'run-end', mode, report });
      resolve(report);
    };

    // Checked as the run starts, as run() and keepWarm() do: a keep-warm loop over every task also
    // runs tasks added after it started, which no such check has seen.
    for (const task of tasks) {
      const error = unknownDependency(options.known, task);
      if (error !== undefined) skip(task, error);
    }
    controller.signal.addEventListener('abort', pump, { once: true });
    if (options.signal?.aborted) onOuterAbort();
    else pump();
  });
}
