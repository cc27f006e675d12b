import type { Redis } from 'ioredis';
import { memoryEventStore } from '../../../src/cqrs/event-store/memory';
import { redisEventStore } from '../../../src/cqrs/event-store/redis-streams';
import type { EventStore } from '../../../src/cqrs/event-store/types';
import type { CheckpointStore } from '../../../src/cqrs/projections/checkpoint-store';
import { memoryCheckpointStore } from '../../../src/cqrs/projections/memory-checkpoints';
import { redisCheckpointStore } from '../../../src/cqrs/projections/redis-checkpoints';

/** One backend under test: how to make a fresh event store and checkpoint store on it. */
export interface Backend {
  name: 'memory' | 'redis';
  eventStore(options?: { pageSize?: number }): EventStore;
  checkpoints(): CheckpointStore;
}

/** Both backends; the Redis one gets a fresh key prefix per store so tests never see each other's events. */
export function backends(redis: () => Redis, prefix: string): Backend[] {
  let n = 0;
  return [
    { name: 'memory', eventStore: () => memoryEventStore(), checkpoints: () => memoryCheckpointStore() },
    {
      name: 'redis',
      eventStore: (options = {}) => redisEventStore(redis(), { prefix: `${prefix}es${n++}:`, ...options }),
      checkpoints: () => redisCheckpointStore(redis(), { prefix: `${prefix}cp${n++}:` }),
    },
  ];
}

/** Everything an async iterable yields. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
