export type { Clock } from '../core/clock';
export { PatchbayError, type PatchbayErrorOptions } from '../core/errors';
export type { RedisArg, RedisScriptClient } from '../core/redis-script';
export { type RateLimitHeaderOptions, rateLimitHeaders } from './headers';
export { type RateLimitMiddlewareOptions, rateLimitMiddleware } from './middleware';
export { type SlidingWindowOptions, slidingWindow } from './sliding-window';
export { type MemoryStoreOptions, memoryStore } from './stores/memory';
export {
  type RateLimitRedis,
  type RedisErrorMode,
  type RedisStoreEvent,
  type RedisStoreOptions,
  redisStore,
} from './stores/redis';
export { type TokenBucketOptions, tokenBucket } from './token-bucket';
export type {
  ConsumeOptions,
  Decision,
  RateLimitAlgorithm,
  RateLimiter,
  RateLimitPolicy,
  RateLimitStore,
} from './types';
