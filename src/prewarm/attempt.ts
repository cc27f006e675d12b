import type { Backoff } from '../core/backoff';
import type { Clock } from '../core/clock';
import { AbortError, TimeoutError } from '../core/errors';
import { sleep, withTimeout } from '../core/timeout';
import type { TaskSpec } from './task';
import type { PrewarmEvent, PrewarmMode, PrewarmTaskReport } from './types';

/** What one task's attempts need from the run around them. */
export interface AttemptContext {
  mode: PrewarmMode;
  /** The run's signal: aborted at the deadline (reason a `TimeoutError`) or by the caller. */
  signal: AbortSignal;
  backoff: Backoff;
  clock: Clock;
  emit(event: PrewarmEvent): void;
}

/**
 * Runs `task` until it succeeds or its retries are spent, and reports how it ended. Never rejects:
 * when the machinery around the task throws (a clock, a backoff's random source), the task ends
 * `failed` with that error, so the run still settles and its dependents are skipped.
 */
export async function runTask(task: TaskSpec, context: AttemptContext): Promise<PrewarmTaskReport> {
  const progress = { attempts: 0 };
  try {
    return await attempts(task, context, progress);
  } catch (error) {
    // the clock may be what threw, so no duration is measured
    return {
      name: task.name,
      required: task.required,
      attempts: progress.attempts,
      durationMs: 0,
      status: 'failed',
      error,
    };
  }
}

async function attempts(
  task: TaskSpec,
  context: AttemptContext,
  progress: { attempts: number },
): Promise<PrewarmTaskReport> {
  const { signal, clock, emit, mode } = context;
  const started = clock.now();
  const end = (
    fields: Pick<PrewarmTaskReport, 'status' | 'result' | 'error'>,
    attempts: number,
  ): PrewarmTaskReport => ({
    name: task.name,
    required: task.required,
    attempts,
    durationMs: clock.now() - started,
    ...fields,
  });
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    progress.attempts = attempt;
    emit({ type: 'task-start', mode, name: task.name, attempt });
    try {
      const result = await runAttempt(task, signal);
      return end({ status: 'ok', result }, attempt);
    } catch (error) {
      lastError = error;
    }
    if (signal.aborted) return end(interrupted(signal), attempt);
    if (attempt > task.retries) {
      return end({ status: lastError instanceof TimeoutError ? 'timed-out' : 'failed', error: lastError }, attempt);
    }
    const delayMs = context.backoff.delay(attempt - 1);
    emit({ type: 'task-retry', mode, name: task.name, attempt, delayMs, error: lastError });
    try {
      await sleep(delayMs, { signal });
    } catch {
      return end(interrupted(signal), attempt);
    }
  }
}

/** How a task that was running when the run's signal aborted ended. */
export function interrupted(signal: AbortSignal): Pick<PrewarmTaskReport, 'status' | 'error'> {
  const reason: unknown = signal.reason;
  return reason instanceof TimeoutError
    ? { status: 'timed-out', error: reason }
    : { status: 'failed', error: new AbortError(reason) };
}

function runAttempt(task: TaskSpec, signal: AbortSignal): Promise<unknown> {
  // Without timeoutMs only the run's signal bounds the attempt.
  return withTimeout((attemptSignal) => task.run(attemptSignal), task.timeoutMs ?? Number.POSITIVE_INFINITY, {
    signal,
    message: `prewarm task "${task.name}" timed out after ${task.timeoutMs} ms`,
  });
}
