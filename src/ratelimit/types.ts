/**
 * The outcome of one rate-limit decision.
 *
 * @example
 * ```ts
 * const decision: Decision = await limiter.consume('user:42');
 * if (!decision.allowed) res.setHeader('Retry-After', Math.ceil(decision.retryAfterMs / 1000));
 * ```
 */
export interface Decision {
  /** Whether the request is admitted (and, for `consume`, its cost taken). */
  allowed: boolean;
  /** The limit: requests per window, or the bucket's capacity. */
  limit: number;
  /** Units left after this decision, rounded down, never negative. */
  remaining: number;
  /**
   * Epoch ms at which the key is back to its full limit if nothing more is consumed, on this
   * process's clock (`Date.now()`, or a memory store's `clock`), even when Redis timed the decision.
   */
  resetAt: number;
  /**
   * 0 when allowed; otherwise ms until a request of the same cost would be admitted, if no other
   * traffic arrives. `Infinity` when the cost exceeds the limit itself and can never be admitted.
   */
  retryAfterMs: number;
}

/**
 * Options of {@link RateLimiter.consume}.
 *
 * @example
 * ```ts
 * await limiter.consume('tenant:7', { cost: 10 } satisfies ConsumeOptions);
 * ```
 */
export interface ConsumeOptions {
  /** Units this request takes: a finite number >= 0. Default 1. */
  cost?: number;
}

/**
 * The quota a limiter enforces, as advertised in `RateLimit-Policy` headers.
 *
 * @example
 * ```ts
 * const { limit, windowMs }: RateLimitPolicy = limiter.policy;
 * ```
 */
export interface RateLimitPolicy {
  /** Policy name used in headers (`"default"` unless the limiter was given a `name`). */
  name: string;
  /** Requests per window, or the bucket capacity. */
  limit: number;
  /** The window, or for a token bucket the time an empty bucket takes to refill. */
  windowMs: number;
}

/**
 * A rate limiter: one algorithm, one quota, one store, any number of keys.
 *
 * @example
 * ```ts
 * const limiter: RateLimiter = slidingWindow({ limit: 100, windowMs: 60_000 });
 * const decision = await limiter.consume(clientIp);
 * ```
 */
export interface RateLimiter {
  /** The quota this limiter enforces. */
  readonly policy: RateLimitPolicy;
  /** Takes `cost` (default 1) from `key` if the quota allows it, and says whether it did. */
  consume(key: string, options?: ConsumeOptions): Promise<Decision>;
  /** Says whether a request of cost 1 would be admitted now, without taking anything. */
  peek(key: string): Promise<Decision>;
  /** Forgets everything about `key`, restoring its full quota. */
  reset(key: string): Promise<void>;
}

/**
 * The algorithm and quota a store evaluates. Built by the limiter factories; stores switch on
 * `kind`. `id` namespaces the state so several limiters can share one store and one key.
 *
 * @example
 * ```ts
 * const algorithm: RateLimitAlgorithm = { kind: 'token-bucket', id: 'tb:10:1', capacity: 10, refillPerSecond: 1 };
 * ```
 */
export type RateLimitAlgorithm =
  | { kind: 'sliding-log'; id: string; limit: number; windowMs: number }
  | { kind: 'sliding-counter'; id: string; limit: number; windowMs: number }
  | { kind: 'token-bucket'; id: string; capacity: number; refillPerSecond: number };

/**
 * Where limiter state lives: {@link memoryStore} for one process, {@link redisStore} for many.
 * A store is shared by any number of limiters.
 *
 * @example
 * ```ts
 * const store: RateLimitStore = memoryStore({ maxKeys: 10_000 });
 * const perMinute = slidingWindow({ limit: 60, windowMs: 60_000, store });
 * const perHour = slidingWindow({ limit: 1_000, windowMs: 3_600_000, store });
 * ```
 */
export interface RateLimitStore {
  /** Evaluates a request of `cost` on `key`; takes the cost only when `commit` and admitted. */
  decide(algorithm: RateLimitAlgorithm, key: string, cost: number, commit: boolean): Promise<Decision>;
  /** Deletes the state of `key` under `algorithm`. */
  reset(algorithm: RateLimitAlgorithm, key: string): Promise<void>;
}
