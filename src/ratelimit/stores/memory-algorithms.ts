// In-process state machines for the three algorithms. Each mutates its state in place and
// returns a Decision; `expiresAt` tells the store when the state is no different from none.
import type { Decision } from '../types';

/**
 * Ring buffer of admitted requests within the window: their times and, once any request has
 * cost other than 1, their costs (until then every cost is 1 and no array is kept).
 */
export interface LogState extends Linked {
  times: number[];
  costs: number[] | undefined;
  head: number;
  size: number;
  total: number;
}

/** Counts of the current and previous fixed windows. */
export interface CounterState extends Linked {
  window: number;
  current: number;
  previous: number;
}

/** Tokens left at `updatedAt`. */
export interface BucketState extends Linked {
  tokens: number;
  updatedAt: number;
}

/** What the store keeps on every state: where it lives and its place in the recency list. */
export interface Linked {
  key: string;
  partition: Map<string, Linked> | undefined;
  newer: Linked | undefined;
  older: Linked | undefined;
  stamp: number;
  expiresAt: number;
}

// Float rounding (in refill, or in a sum of fractional costs) must not deny a request that is due.
const EPSILON = 1e-9;

export function newLogState(limit: number): LogState {
  // capacity is a power of two so ring indices wrap with a mask; it doubles as the log grows
  const capacity = limit >= 4 ? 4 : limit >= 2 ? 2 : 1;
  return {
    times: new Array<number>(capacity).fill(0),
    costs: undefined,
    head: 0,
    size: 0,
    total: 0,
    key: '',
    partition: undefined,
    newer: undefined,
    older: undefined,
    stamp: 0,
    expiresAt: 0,
  };
}

/** Rewrites the ring in order from index 0 with room for `capacity` entries. */
function reshape(state: LogState, capacity: number, withCosts: boolean): void {
  const mask = state.times.length - 1;
  const times = new Array<number>(capacity).fill(0);
  const costs = withCosts ? new Array<number>(capacity).fill(1) : undefined;
  for (let i = 0; i < state.size; i++) {
    const from = (state.head + i) & mask;
    times[i] = state.times[from]!;
    if (costs) costs[i] = state.costs ? state.costs[from]! : 1;
  }
  state.times = times;
  state.costs = costs;
  state.head = 0;
}

/** Exact sliding log: admitted iff the cost admitted in `(now - windowMs, now]` plus `cost` fits. */
export function decideLog(
  state: LogState,
  limit: number,
  windowMs: number,
  now: number,
  cost: number,
  commit: boolean,
): Decision {
  const mask = state.times.length - 1;
  const cutoff = now - windowMs;
  while (state.size > 0 && state.times[state.head]! <= cutoff) {
    state.total -= state.costs ? state.costs[state.head]! : 1;
    state.head = (state.head + 1) & mask;
    state.size--;
  }
  if (state.size === 0) state.total = 0;
  let newest = state.size > 0 ? state.times[(state.head + state.size - 1) & mask]! : now;

  let retryAfterMs = 0;
  // Fractional costs leave rounding in the running total (0.2 + 0.4 + 0.3 + 0.1 is
  // 1.0000000000000002): without the tolerance, costs adding up to exactly the limit are denied.
  // The Redis script allows the same, so both stores decide a sequence alike.
  const allowed = cost <= limit && state.total + cost <= limit + EPSILON;
  if (allowed) {
    if (commit && cost > 0) {
      const needCosts = cost !== 1 && state.costs === undefined;
      if (state.size === state.times.length || needCosts) {
        reshape(
          state,
          state.size === state.times.length ? state.times.length * 2 : state.times.length,
          needCosts || state.costs !== undefined,
        );
      }
      // After the clock stepped back (Date.now() under an NTP correction), the entry is recorded
      // at the newest time seen, as the Redis script does: the ring stays in time order, so the
      // eviction, retryAfterMs, resetAt and the store's reclaim of expired keys (by resetAt) all
      // keep the later request in the window. Recorded at `now`, it hid that request: the key
      // was reclaimed early and admitted the limit again.
      if (newest < now) newest = now;
      const tail = (state.head + state.size) & (state.times.length - 1);
      state.times[tail] = newest;
      if (state.costs) state.costs[tail] = cost;
      state.size++;
      state.total += cost;
    }
  } else if (cost > limit) {
    retryAfterMs = Number.POSITIVE_INFINITY;
  } else {
    // walk from the oldest entry until enough cost will have left the window
    const need = state.total + cost - limit;
    let freed = 0;
    for (let i = 0; i < state.size; i++) {
      const index = (state.head + i) & (state.times.length - 1);
      freed += state.costs ? state.costs[index]! : 1;
      if (freed >= need - EPSILON) {
        retryAfterMs = Math.max(1, Math.ceil(state.times[index]! + windowMs - now));
        break;
      }
    }
  }
  const resetAt = state.size > 0 ? Math.ceil(newest + windowMs) : now;
  state.expiresAt = resetAt;
  return { allowed, limit, remaining: Math.max(0, Math.floor(limit - state.total + EPSILON)), resetAt, retryAfterMs };
}

export function newCounterState(): CounterState {
  return {
    window: 0,
    current: 0,
    previous: 0,
    key: '',
    partition: undefined,
    newer: undefined,
    older: undefined,
    stamp: 0,
    expiresAt: 0,
  };
}

/**
 * Two-window weighted counter: the previous fixed window's count is weighted by how much of it
 * still overlaps the sliding window. Assumes requests were spread evenly over that window.
 */
export function decideCounter(
  state: CounterState,
  limit: number,
  windowMs: number,
  now: number,
  cost: number,
  commit: boolean,
): Decision {
  const window = Math.floor(now / windowMs);
  // a clock that steps backwards stays in the newest window it has seen
  if (window > state.window) {
    state.previous = window === state.window + 1 ? state.current : 0;
    state.current = 0;
    state.window = window;
  }
  const start = state.window * windowMs;
  const weight = Math.min(1, 1 - (now - start) / windowMs);
  let estimate = state.previous * weight + state.current;
  const allowed = cost <= limit && estimate + cost <= limit + EPSILON;
  let retryAfterMs = 0;
  if (allowed) {
    if (commit) {
      state.current += cost;
      estimate += cost;
    }
  } else if (cost > limit) {
    retryAfterMs = Number.POSITIVE_INFINITY;
  } else {
    // the estimate falls linearly while the previous window slides out; solve for the moment it fits
    let at: number;
    if (state.current + cost <= limit && state.previous > 0) {
      at = start + windowMs * (1 - (limit - state.current - cost) / state.previous);
    } else {
      at = start + windowMs + windowMs * Math.max(0, 1 - (limit - cost) / state.current);
    }
    retryAfterMs = Math.max(1, Math.ceil(at - now));
  }
  const resetAt = state.current > 0 ? start + 2 * windowMs : state.previous > 0 ? start + windowMs : now;
  state.expiresAt = resetAt;
  return { allowed, limit, remaining: Math.max(0, Math.floor(limit - estimate + EPSILON)), resetAt, retryAfterMs };
}

export function newBucketState(capacity: number, now: number): BucketState {
  return {
    tokens: capacity,
    updatedAt: now,
    key: '',
    partition: undefined,
    newer: undefined,
    older: undefined,
    stamp: 0,
    expiresAt: 0,
  };
}

/** Token bucket with continuous refill; tokens never go negative and never exceed capacity. */
export function decideBucket(
  state: BucketState,
  capacity: number,
  refillPerSecond: number,
  now: number,
  cost: number,
  commit: boolean,
): Decision {
  const perMs = refillPerSecond / 1000;
  const elapsed = now - state.updatedAt;
  // a clock that steps backwards refills nothing rather than draining the bucket
  if (elapsed > 0) {
    state.tokens = Math.min(capacity, state.tokens + elapsed * perMs);
    state.updatedAt = now;
  }
  const allowed = cost <= capacity && state.tokens + EPSILON >= cost;
  let retryAfterMs = 0;
  if (allowed) {
    if (commit) state.tokens = Math.max(0, state.tokens - cost);
  } else if (cost > capacity) {
    retryAfterMs = Number.POSITIVE_INFINITY;
  } else {
    retryAfterMs = Math.max(1, Math.ceil((cost - state.tokens) / perMs));
  }
  const resetAt = now + Math.ceil((capacity - state.tokens) / perMs - EPSILON);
  state.expiresAt = resetAt;
  return {
    allowed,
    limit: capacity,
    remaining: Math.floor(state.tokens + EPSILON),
    resetAt: Math.max(now, resetAt),
    retryAfterMs,
  };
}
