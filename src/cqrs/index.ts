export type { BackoffOptions } from '../core/backoff';
export type { Clock } from '../core/clock';
export { PatchbayError, type PatchbayErrorOptions, TimeoutError } from '../core/errors';
export type { RedisArg, RedisScriptClient } from '../core/redis-script';
export type { Bus, BusOptions, ExecuteOptions, Handler, MessageContext, MessageMap, Middleware } from './bus';
export { createCommandBus } from './command-bus';
export { ConcurrencyError } from './errors';
export { type MemoryEventStoreOptions, memoryEventStore } from './event-store/memory';
export { type RedisEventStoreOptions, redisEventStore } from './event-store/redis-streams';
export type {
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
} from './event-store/types';
export type {
  Checkpoint,
  CheckpointCommit,
  CheckpointStore,
  CommitResult,
  ParkedEvent,
  ProjectionWrite,
} from './projections/checkpoint-store';
export {
  defineProjection,
  type Projection,
  type ProjectionContext,
  type ProjectionDefinition,
  type ProjectionHandler,
} from './projections/define-projection';
export { type MemoryCheckpointStoreOptions, memoryCheckpointStore } from './projections/memory-checkpoints';
export { type RedisCheckpointStoreOptions, redisCheckpointStore } from './projections/redis-checkpoints';
export {
  createProjectionRunner,
  type ProjectionRunner,
  type ProjectionRunnerEvent,
  type ProjectionRunnerOptions,
  type WaitForOptions,
} from './projections/runner';
export { createQueryBus } from './query-bus';
export { type RetryOnConcurrencyOptions, retryOnConcurrency } from './retry-on-concurrency';
