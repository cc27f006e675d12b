import { type Deadline, Metadata, type ServerInterceptor, status } from '@grpc/grpc-js';
import { PatchbayError } from '../../core/errors';
import type { Decision, RateLimiter } from '../../ratelimit/types';
import { assertFunction, assertOptions, OPTIONS_CODE } from '../options';
import { type GateDecision, gate } from './gate';

/**
 * The call a rate-limit `key` function sees: its request metadata (and, through
 * {@link identityOf}, the identity {@link serverAuthInterceptor} verified) and its connection.
 *
 * @example
 * ```ts
 * const key = (call: GrpcServerCall) => identityOf<{ sub: string }>(call)?.sub ?? call.getPeer();
 * ```
 */
export interface GrpcServerCall {
  /** The request metadata. */
  metadata: Metadata;
  /** The client's address, `ip:port`. */
  getPeer(): string;
  /** The `:authority` the client asked for. */
  getHost(): string;
  /** The call's deadline; `Infinity` when it has none. */
  getDeadline(): Deadline;
}

/**
 * Options of {@link serverRateLimitInterceptor}.
 *
 * @example
 * ```ts
 * const options: ServerRateLimitInterceptorOptions = {
 *   limiter: tokenBucket({ capacity: 100, refillPerSecond: 50 }),
 *   key: (call, method) => `${identityOf<{ sub: string }>(call)?.sub ?? call.getPeer()}:${method}`,
 * };
 * ```
 */
export interface ServerRateLimitInterceptorOptions {
  /** Any `patchbay/ratelimit` limiter (`slidingWindow`, `tokenBucket`, memory or Redis store). */
  limiter: RateLimiter;
  /** The key a call is counted under: caller identity, API key, peer address, method... */
  key: (call: GrpcServerCall, method: string) => string | Promise<string>;
  /** Units a call takes, or a function of the method. Default 1. */
  cost?: number | ((method: string) => number);
  /** Methods that are not limited, e.g. health checks. */
  skip?: (method: string) => boolean;
}

/**
 * A server interceptor that admits each call (any call type; a stream counts once, when it
 * starts) through a `patchbay/ratelimit` limiter before its handler runs. A denied call ends
 * with RESOURCE_EXHAUSTED and trailers saying when to come back: `retry-after` in whole seconds
 * (as HTTP's header) and `grpc-retry-pushback-ms` in ms, which {@link retryInterceptor} and
 * grpc-js's own retry policy honour. A cost the limiter can never admit gets
 * `grpc-retry-pushback-ms: -1` (do not retry) and no `retry-after`.
 *
 * If the limiter fails (its Redis store is down and its `onError` says so), the call ends with
 * UNAVAILABLE; if `key` throws, or `key` or `cost` gives a patchbay limiter a key or cost it
 * refuses (an empty key, a NaN cost), with INTERNAL. Place it after {@link serverAuthInterceptor} to
 * limit by verified identity.
 *
 * @example
 * ```ts
 * import { tokenBucket } from 'patchbay/ratelimit';
 *
 * const server = new Server({
 *   interceptors: [
 *     serverRateLimitInterceptor({
 *       limiter: tokenBucket({ capacity: 20, refillPerSecond: 10 }),
 *       key: (call) => call.metadata.get('x-api-key')[0]?.toString() ?? call.getPeer(),
 *     }),
 *   ],
 * });
 * ```
 */
export function serverRateLimitInterceptor(options: ServerRateLimitInterceptorOptions): ServerInterceptor {
  assertOptions(options, 'serverRateLimitInterceptor');
  const { limiter, key, cost = 1, skip } = options;
  if (typeof limiter?.consume !== 'function') {
    throw new PatchbayError(OPTIONS_CODE, 'serverRateLimitInterceptor needs a limiter from patchbay/ratelimit');
  }
  assertFunction(key, 'serverRateLimitInterceptor key');
  assertFunction(skip, 'serverRateLimitInterceptor skip', { optional: true });
  if (typeof cost !== 'function' && (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0)) {
    throw new PatchbayError(OPTIONS_CODE, 'serverRateLimitInterceptor cost must be a finite number >= 0 or a function');
  }
  // A fresh options object per call: a limiter may keep or change what it is given. Its answer is
  // resolved again, as a key's is below, so a promise from another library counts as one.
  const decide = (callKey: string, method: string): Promise<GateDecision> =>
    Promise.resolve(limiter.consume(callKey, { cost: typeof cost === 'function' ? cost(method) : cost })).then(
      admit,
      refused,
    );
  return gate((metadata, call, method) => {
    const callKey = key(
      {
        metadata,
        getPeer: () => call.getPeer(),
        getHost: () => call.getHost(),
        getDeadline: () => call.getDeadline(),
      },
      method,
    );
    return typeof callKey === 'string'
      ? decide(callKey, method)
      : Promise.resolve(callKey).then((k) => decide(k, method));
  }, skip);
}

const unavailable: GateDecision = { code: status.UNAVAILABLE, details: 'Rate limiter unavailable' };
const internal: GateDecision = { code: status.INTERNAL, details: 'Internal server error' };

/**
 * A patchbay limiter refuses a key or a cost it cannot take (an empty key, a NaN cost) with
 * ERR_RATELIMIT_INPUT: a bug in `key` or `cost`, answered as one that throws. UNAVAILABLE would
 * blame the limiter's store and have every client retry a call that can never pass.
 */
function refused(error: unknown): GateDecision {
  return (error as { code?: unknown } | null)?.code === 'ERR_RATELIMIT_INPUT' ? internal : unavailable;
}

function admit(decision: Decision): GateDecision {
  return decision.allowed ? undefined : exhausted(decision);
}

function exhausted({ retryAfterMs }: Decision): GateDecision {
  const trailers = new Metadata();
  if (Number.isFinite(retryAfterMs)) {
    const ms = Math.max(0, Math.ceil(retryAfterMs));
    trailers.set('retry-after', String(Math.max(1, Math.ceil(ms / 1000))));
    trailers.set('grpc-retry-pushback-ms', String(ms));
  } else {
    trailers.set('grpc-retry-pushback-ms', '-1');
  }
  return { code: status.RESOURCE_EXHAUSTED, details: 'Rate limit exceeded', metadata: trailers };
}
