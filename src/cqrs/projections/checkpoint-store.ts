import type { RedisArg } from '../../core/redis-script';
import type { StoredEvent } from '../event-store/types';

/**
 * A Redis write queued by a handler through `ctx.write`.
 *
 * @example
 * ```ts
 * const write: ProjectionWrite = { command: 'hincrby', key: 'shop:{orders}:counts', args: ['c1', 1], event };
 * ```
 */
export interface ProjectionWrite {
  command: string;
  key: string;
  args: readonly RedisArg[];
  /** The event whose handler queued it: parked when the write fails at commit. */
  event: StoredEvent;
}

/**
 * An event whose handler kept failing, set aside so the projection could go on.
 *
 * @example
 * ```ts
 * for (const { event, error } of await checkpoints.parked('orders-by-customer')) console.warn(event.position, error);
 * ```
 */
export interface ParkedEvent {
  event: StoredEvent;
  /** The last error's message: the handler's, or Redis's for a `ctx.write` that failed at commit. */
  error: string;
  /** Tries of the handler; 1 for an event parked by a failing write (a write is never run twice). */
  attempts: number;
}

/**
 * One batch for {@link CheckpointStore.commit}.
 *
 * @example
 * ```ts
 * const ok = await checkpoints.commit('orders', { from: 100, to: 200, writes: [], parked: [] } satisfies CheckpointCommit);
 * ```
 */
export interface CheckpointCommit {
  /** The checkpoint the batch started from; the commit fails unless it is still there. */
  from: number;
  /** The position of the batch's last event. */
  to: number;
  writes: readonly ProjectionWrite[];
  parked: readonly ParkedEvent[];
}

/**
 * What {@link CheckpointStore.commit} did.
 *
 * @example
 * ```ts
 * const { committed, parked } = await checkpoints.commit('orders', batch);
 * if (!committed) console.warn('another runner moved the checkpoint');
 * ```
 */
export interface CommitResult {
  /** False when the checkpoint was no longer at `from`: nothing was written. */
  committed: boolean;
  /**
   * Events parked during the commit because one of their writes failed in Redis (a key of
   * another type, say); the batch's own `parked` entries are not repeated here.
   */
  parked: ParkedEvent[];
}

/**
 * Where runners keep each projection's position, its parked events and the lease that says which
 * runner works on it.
 *
 * @example
 * ```ts
 * const checkpoints: CheckpointStore = memoryCheckpointStore();
 * const position = await checkpoints.load('orders-by-customer');
 * ```
 */
export interface CheckpointStore {
  /** True when `commit` can run `writes` atomically with the checkpoint. */
  readonly transactional: boolean;
  /** The projection's checkpoint: the position of the last event it got past (0 for none). */
  load(projection: string): Promise<number>;
  /**
   * Moves the checkpoint from `from` to `to`, with the writes and parked events, if it is still at
   * `from`. A write that fails parks its event, skips that event's later writes and does not stop
   * the commit; the event's earlier writes stay applied.
   */
  commit(projection: string, batch: CheckpointCommit): Promise<CommitResult>;
  /** Back to 0, parked events forgotten. */
  reset(projection: string): Promise<void>;
  /** The parked events, oldest first. */
  parked(projection: string): Promise<ParkedEvent[]>;
  /** Takes or renews the lease of `projection` for `owner` for `ttlMs`; false when someone else holds it. */
  acquire(projection: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, if `owner` holds it. */
  release(projection: string, owner: string): Promise<void>;
}
