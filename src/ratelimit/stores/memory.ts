import { assertNumber, assertOptionsObject } from '../../core/assert';
import { type Clock, systemClock } from '../../core/clock';
import { PatchbayError } from '../../core/errors';
import type { Decision, RateLimitAlgorithm, RateLimitStore } from '../types';
import {
  type BucketState,
  type CounterState,
  decideBucket,
  decideCounter,
  decideLog,
  type Linked,
  type LogState,
  newBucketState,
  newCounterState,
  newLogState,
} from './memory-algorithms';

/**
 * Options of {@link memoryStore}.
 *
 * @example
 * ```ts
 * const options: MemoryStoreOptions = { maxKeys: 50_000 };
 * ```
 */
export interface MemoryStoreOptions {
  /** Most keys held at once; past it the least recently used keys are evicted. Default 100 000. */
  maxKeys?: number;
  /** Time source, for tests. Default the system clock. */
  clock?: Clock;
}

type State = LogState | CounterState | BucketState;

// Once the store is half full, expired entries are reclaimed a few at a time as new keys
// arrive: no timer per key.
const RECLAIM_PER_INSERT = 2;

/**
 * An in-process store: bounded (least recently used keys are evicted past `maxKeys`), no timer
 * per key, expired state reclaimed lazily as new keys arrive once the store is half full. State is per process: several
 * processes each enforce the full limit on their own; use {@link redisStore} to share a limit.
 *
 * @example
 * ```ts
 * import { memoryStore, slidingWindow, tokenBucket } from 'patchbay/ratelimit';
 *
 * const store = memoryStore({ maxKeys: 10_000 });
 * const login = slidingWindow({ limit: 5, windowMs: 60_000, store });
 * const api = tokenBucket({ capacity: 100, refillPerSecond: 10, store });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): RateLimitStore {
  assertOptionsObject(options, 'memoryStore options', 'ERR_RATELIMIT_OPTIONS');
  const { maxKeys = 100_000, clock = systemClock } = options;
  assertNumber(maxKeys, 'maxKeys', 'ERR_RATELIMIT_OPTIONS', { min: 1, integer: true });
  if (typeof clock?.now !== 'function') {
    throw new PatchbayError('ERR_RATELIMIT_OPTIONS', 'clock must be an object with a now() method');
  }
  // One map per limiter id, so a lookup hashes the caller's key as it is instead of a
  // concatenation built on every call.
  const partitions = new Map<string, Map<string, State>>();
  let lastAlgorithm: RateLimitAlgorithm | undefined;
  let lastPartition: Map<string, State> | undefined;
  let size = 0;

  // A recency list threaded through the states: newest at the head, eviction and reclaim at the
  // tail, every step O(1). A state is moved to the head only when maxKeys / 2 or more moves and
  // inserts happened since it was last put there, so hot keys cost a lookup and nothing more, and
  // a used key stays within the newest maxKeys / 2: no key is evicted before maxKeys / 2 others
  // were used after it.
  let newest: Linked | undefined;
  let oldest: Linked | undefined;
  let tick = 0;
  const freshness = Math.max(1, maxKeys >> 1);
  const reclaimFrom = maxKeys >> 1;

  const unlink = (state: Linked): void => {
    if (state.newer) state.newer.older = state.older;
    else newest = state.older;
    if (state.older) state.older.newer = state.newer;
    else oldest = state.newer;
    state.newer = undefined;
    state.older = undefined;
  };

  const pushNewest = (state: Linked): void => {
    state.older = newest;
    if (newest) newest.newer = state;
    else oldest = state;
    newest = state;
    state.stamp = ++tick;
  };

  const remove = (state: Linked): void => {
    unlink(state);
    state.partition?.delete(state.key);
    size--;
  };

  const partitionOf = (algorithm: RateLimitAlgorithm): Map<string, State> => {
    let partition = partitions.get(algorithm.id);
    if (!partition) {
      partition = new Map();
      partitions.set(algorithm.id, partition);
    }
    lastAlgorithm = algorithm;
    lastPartition = partition;
    return partition;
  };

  const insert = (partition: Map<string, State>, key: string, state: State, now: number): void => {
    // Below half full, dead state costs little and reclaiming it only churns: a bucket that
    // refills between requests counts as expired, and would be re-created on its next request.
    if (size >= reclaimFrom) {
      for (let i = 0; i < RECLAIM_PER_INSERT && oldest !== undefined && oldest.expiresAt <= now; i++) remove(oldest);
    }
    if (size >= maxKeys && oldest !== undefined) remove(oldest);
    state.key = key;
    state.partition = partition as Map<string, Linked>;
    partition.set(key, state);
    pushNewest(state);
    size++;
  };

  /** A key with no state: decided on fresh state, which is kept only if the request took something. */
  const decideNew = (
    partition: Map<string, State>,
    algorithm: RateLimitAlgorithm,
    key: string,
    now: number,
    cost: number,
    commit: boolean,
  ): Decision => {
    let state: State;
    let decision: Decision;
    switch (algorithm.kind) {
      case 'sliding-log':
        state = newLogState(algorithm.limit);
        decision = decideLog(state, algorithm.limit, algorithm.windowMs, now, cost, commit);
        break;
      case 'sliding-counter':
        state = newCounterState();
        decision = decideCounter(state, algorithm.limit, algorithm.windowMs, now, cost, commit);
        break;
      case 'token-bucket':
        state = newBucketState(algorithm.capacity, now);
        decision = decideBucket(state, algorithm.capacity, algorithm.refillPerSecond, now, cost, commit);
        break;
    }
    if (commit && decision.allowed && cost > 0) insert(partition, key, state, now);
    return decision;
  };

  return {
    decide(algorithm: RateLimitAlgorithm, key: string, cost: number, commit: boolean): Promise<Decision> {
      const now = clock.now();
      const partition = algorithm === lastAlgorithm ? lastPartition! : partitionOf(algorithm);
      const state = partition.get(key);
      if (state === undefined) return Promise.resolve(decideNew(partition, algorithm, key, now, cost, commit));
      if (state.stamp <= tick - freshness) {
        unlink(state);
        pushNewest(state);
      }
      // A new key takes its own path and each case returns its own decision. Merged into one
      // variable (a state found or just made, or one algorithm's decision or another's), they
      // cost V8 the objects' shapes, and a decision 15% more time once several stores share
      // this code.
      switch (algorithm.kind) {
        case 'sliding-log':
          return Promise.resolve(decideLog(state as LogState, algorithm.limit, algorithm.windowMs, now, cost, commit));
        case 'sliding-counter':
          return Promise.resolve(
            decideCounter(state as CounterState, algorithm.limit, algorithm.windowMs, now, cost, commit),
          );
        case 'token-bucket':
          return Promise.resolve(
            decideBucket(state as BucketState, algorithm.capacity, algorithm.refillPerSecond, now, cost, commit),
          );
      }
    },
    reset(algorithm: RateLimitAlgorithm, key: string): Promise<void> {
      const state = partitions.get(algorithm.id)?.get(key);
      if (state) remove(state);
      return Promise.resolve();
    },
  };
}
