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
 * Where a projection is, as {@link CheckpointStore.load} reads it.
 *
 * @example
 * ```ts
 * const { position, generation }: Checkpoint = await checkpoints.load('orders-by-customer');
 * ```
 */
export interface Checkpoint {
  /** The position of the last event the projection got past (0 for none). */
  position: number;
  /**
   * Bumped by every `fence` and `reset` (a rebuild), 0 before the first one: a commit carrying an
   * older generation is refused, so a batch read before a rebuild never lands in the rebuilt model.
   */
  generation: number;
}

/**
 * One batch for {@link CheckpointStore.commit}.
 *
 * @example
 * ```ts
 * const ok = await checkpoints.commit('orders', { from: 100, to: 200, generation: 0, writes: [], parked: [] } satisfies CheckpointCommit);
 * ```
 */
export interface CheckpointCommit {
  /** The checkpoint the batch started from; the commit fails unless it is still there. */
  from: number;
  /** The position of the batch's last event. */
  to: number;
  /** The generation the batch's checkpoint was loaded at; the commit fails unless it is still current. */
  generation: number;
  /** The queued writes, in the order of their events' positions (as the runner queues them). */
  writes: readonly ProjectionWrite[];
  /** The events whose handler kept failing, in position order. */
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
  /** False when the checkpoint was no longer at `from` or at `generation`: nothing was written. */
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
 * const { position } = await checkpoints.load('orders-by-customer');
 * ```
 */
export interface CheckpointStore {
  /** True when `commit` can run `writes` atomically with the checkpoint. */
  readonly transactional: boolean;
  /** The projection's checkpoint and its generation (both 0 for a projection never committed). */
  load(projection: string): Promise<Checkpoint>;
  /**
   * Moves the checkpoint from `from` to `to`, with the writes and parked events, if it is still at
   * `from` and `generation`. A write that fails parks its event, skips that event's later writes and does not stop
   * the commit; the event's earlier writes stay applied.
   */
  commit(projection: string, batch: CheckpointCommit): Promise<CommitResult>;
  /** Bumps the generation, so that no commit of a batch loaded before goes through; returns the new one. */
  fence(projection: string): Promise<number>;
  /** Back to 0, parked events forgotten, generation bumped as `fence` does; returns the new generation. */
  reset(projection: string): Promise<number>;
  /** The parked events, oldest first (in position order, however each was parked). */
  parked(projection: string): Promise<ParkedEvent[]>;
  /** Takes or renews the lease of `projection` for `owner` for `ttlMs`; false when someone else holds it. */
  acquire(projection: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, if `owner` holds it. */
  release(projection: string, owner: string): Promise<void>;
}
