import { PatchbayError } from '../core/errors';
import type { TaskSpec } from './task';

/**
 * Throws `ERR_PREWARM_CYCLE` if adding `task` to `tasks` closes a dependency cycle. Dependencies
 * not added yet are allowed here (tasks may be added in any order) and checked by
 * {@link assertComplete} when the run starts.
 */
export function assertNoCycle(tasks: ReadonlyMap<string, TaskSpec>, task: TaskSpec): void {
  const path: string[] = [task.name];
  const visited = new Set<string>();
  const visit = (name: string): boolean => {
    if (name === task.name) return true;
    if (visited.has(name)) return false;
    visited.add(name);
    path.push(name);
    for (const next of tasks.get(name)?.dependsOn ?? []) if (visit(next)) return true;
    path.pop();
    return false;
  };
  for (const dependency of task.dependsOn) {
    if (visit(dependency)) {
      throw new PatchbayError(
        'ERR_PREWARM_CYCLE',
        `prewarm task "${task.name}" would close a dependency cycle: ${[...path, task.name].join(' → ')}`,
      );
    }
  }
}

/** Throws `ERR_PREWARM_UNKNOWN_DEPENDENCY` when a task depends on a task that was never added. */
export function assertComplete(tasks: ReadonlyMap<string, TaskSpec>): void {
  for (const task of tasks.values()) {
    const error = unknownDependency(tasks, task);
    if (error !== undefined) throw error;
  }
}

/** The `ERR_PREWARM_UNKNOWN_DEPENDENCY` error of `task` when it depends on a task never added. */
export function unknownDependency(tasks: ReadonlyMap<string, TaskSpec>, task: TaskSpec): PatchbayError | undefined {
  const missing = task.dependsOn.filter((name) => !tasks.has(name));
  if (missing.length === 0) return undefined;
  return new PatchbayError(
    'ERR_PREWARM_UNKNOWN_DEPENDENCY',
    `prewarm task "${task.name}" depends on ${missing.map((name) => `"${name}"`).join(', ')}, which ${
      missing.length === 1 ? 'was' : 'were'
    } never added`,
  );
}
