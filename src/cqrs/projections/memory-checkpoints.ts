import { assertOptionsObject } from '../../core/assert';
import { type Clock, systemClock } from '../../core/clock';
import { PatchbayError } from '../../core/errors';
import type { CheckpointStore, ParkedEvent } from './checkpoint-store';

/**
 * Options of {@link memoryCheckpointStore}.
 *
 * @example
 * ```ts
 * const options: MemoryCheckpointStoreOptions = { clock: { now: () => Date.now() } };
 * ```
 */
export interface MemoryCheckpointStoreOptions {
  /** Times leases. Default the system clock. */
  clock?: Clock;
}

/**
 * Checkpoints in this process's memory: for runners whose read models are in memory too (a
 * restart rebuilds both). Runners in one process that share it share the work by lease. Not
 * transactional: `ctx.write` needs `redisCheckpointStore`.
 *
 * @example
 * ```ts
 * import { createProjectionRunner, memoryCheckpointStore } from 'patchbay/cqrs';
 *
 * const runner = createProjectionRunner({ store, projections: [ordersByCustomer], checkpoints: memoryCheckpointStore() });
 * ```
 */
export function memoryCheckpointStore(options: MemoryCheckpointStoreOptions = {}): CheckpointStore {
  assertOptionsObject(options, 'memoryCheckpointStore options', 'ERR_CQRS_OPTIONS');
  const { clock = systemClock } = options;
  if (typeof clock?.now !== 'function') throw new PatchbayError('ERR_CQRS_OPTIONS', 'clock must have a now() method');
  const positions = new Map<string, number>();
  const generations = new Map<string, number>();
  const bump = (projection: string): number => {
    const generation = (generations.get(projection) ?? 0) + 1;
    generations.set(projection, generation);
    return generation;
  };
  const parkedEvents = new Map<string, ParkedEvent[]>();
  const leases = new Map<string, { owner: string; until: number }>();
  return {
    transactional: false,
    async load(projection) {
      return { position: positions.get(projection) ?? 0, generation: generations.get(projection) ?? 0 };
    },
    async commit(projection, { from, to, generation, writes, parked }) {
      // the runner refuses ctx.write before a handler returns, so no write reaches a commit here
      // and none can fail halfway
      if (writes.length > 0) {
        throw new PatchbayError('ERR_CQRS_HANDLER', 'memoryCheckpointStore cannot run ctx.write commands');
      }
      if ((positions.get(projection) ?? 0) !== from || (generations.get(projection) ?? 0) !== generation) {
        return { committed: false, parked: [] };
      }
      // copies in and out, as Redis keeps its own: what the runner or a caller later changes in an
      // entry must not change the stored one (events are frozen, entries are not)
      if (parked.length > 0) {
        parkedEvents.set(projection, [
          ...(parkedEvents.get(projection) ?? []),
          ...parked.map((entry) => ({ ...entry })),
        ]);
      }
      positions.set(projection, to);
      return { committed: true, parked: [] };
    },
    async fence(projection) {
      return bump(projection);
    },
    async reset(projection) {
      positions.delete(projection);
      parkedEvents.delete(projection);
      return bump(projection);
    },
    async parked(projection) {
      return (parkedEvents.get(projection) ?? []).map((entry) => ({ ...entry }));
    },
    async acquire(projection, owner, ttlMs) {
      const lease = leases.get(projection);
      const now = clock.now();
      if (lease && lease.owner !== owner && lease.until > now) return false;
      leases.set(projection, { owner, until: now + ttlMs });
      return true;
    },
    async release(projection, owner) {
      if (leases.get(projection)?.owner === owner) leases.delete(projection);
    },
  };
}
