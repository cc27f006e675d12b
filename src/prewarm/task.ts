import { assertNonEmptyString, assertNumber, describe } from '../core/assert';
import { PatchbayError } from '../core/errors';
import type { PrewarmTask } from './types';

const code = 'ERR_PREWARM_TASK';

/** A task after validation, with its defaults filled in. */
export interface TaskSpec {
  name: string;
  run: PrewarmTask['run'];
  dependsOn: readonly string[];
  timeoutMs: number | undefined;
  retries: number;
  required: boolean;
}

/** Checks a task handed to `add` and fills in defaults; throws `ERR_PREWARM_TASK` on bad input. */
export function toTaskSpec(task: unknown): TaskSpec {
  if (typeof task !== 'object' || task === null) {
    throw new PatchbayError(code, `a prewarm task must be an object, got ${describe(task)}`);
  }
  const { name, run, dependsOn = [], timeoutMs, retries = 0, required = true } = task as Partial<PrewarmTask>;
  assertNonEmptyString(name, 'prewarm task name', code);
  if (typeof run !== 'function') {
    throw new PatchbayError(code, `prewarm task "${name}": run must be a function, got ${describe(run)}`);
  }
  if (!Array.isArray(dependsOn)) {
    throw new PatchbayError(code, `prewarm task "${name}": dependsOn must be an array of task names`);
  }
  for (const dependency of dependsOn) assertNonEmptyString(dependency, `prewarm task "${name}" dependsOn entry`, code);
  if (new Set(dependsOn).size !== dependsOn.length) {
    throw new PatchbayError(code, `prewarm task "${name}": dependsOn lists a task twice`);
  }
  if (timeoutMs !== undefined) {
    assertNumber(timeoutMs, `prewarm task "${name}" timeoutMs`, code, { min: 0, exclusiveMin: true });
  }
  assertNumber(retries, `prewarm task "${name}" retries`, code, { min: 0, integer: true });
  if (typeof required !== 'boolean') {
    throw new PatchbayError(code, `prewarm task "${name}": required must be a boolean, got ${describe(required)}`);
  }
  return { name, run, dependsOn: [...dependsOn], timeoutMs, retries, required };
}
