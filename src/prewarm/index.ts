export type { BackoffOptions } from '../core/backoff';
export type { Clock } from '../core/clock';
export { AbortError, PatchbayError, type PatchbayErrorOptions, TimeoutError } from '../core/errors';
export type { RandomSource } from '../core/random';
export type { KeepWarmHandle, KeepWarmOptions } from './keep-warm';
export { createPrewarmer, type Prewarmer, type PrewarmerOptions, type PrewarmRunOptions } from './orchestrator';
export { type ReadinessSource, readinessHandler } from './readiness';
export type {
  PrewarmEvent,
  PrewarmMode,
  PrewarmReadiness,
  PrewarmReport,
  PrewarmTask,
  PrewarmTaskReport,
  PrewarmTaskStatus,
} from './types';
export {
  type CacheKeys,
  type CacheStore,
  type CacheWarmResult,
  type WarmCacheOptions,
  warmCache,
} from './warmers/cache';
export { type DnsLookup, type DnsWarmResult, type WarmDnsOptions, warmDns } from './warmers/dns';
export {
  type GrpcChannelState,
  type GrpcReadyClient,
  type GrpcWarmResult,
  type WarmGrpcOptions,
  warmGrpc,
} from './warmers/grpc';
export { type HttpWarmResult, type WarmHttpOptions, warmHttp } from './warmers/http';
export { type RedisPingClient, type RedisWarmResult, warmRedis } from './warmers/redis';
export type { Warmer } from './warmers/warmer';
