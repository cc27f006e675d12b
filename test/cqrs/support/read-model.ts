import type { Redis } from 'ioredis';
import { defineProjection, type Projection } from '../../../src/cqrs/projections/define-projection';

/** An "orders by customer" read model whose every write is counted, in memory or in Redis. */
export interface CountingReadModel {
  projection: Projection;
  /** Orders per customer. */
  counts(): Promise<Record<string, number>>;
  /** How many times a handler's write reached the read model. */
  writes(): Promise<number>;
  /** How many times a handler ran (tries included). */
  calls: number;
}

type Events = { OrderPlaced: { customerId: string }; OrderCancelled: { customerId: string } };

/**
 * In memory the handler writes a Map; on Redis it queues `ctx.write` commands, which the runner
 * commits with the checkpoint. `fail(position, attempt)` lets a test make a handler throw.
 */
export function countingReadModel(
  backend: 'memory' | 'redis',
  name: string,
  options: { redis?: Redis; prefix?: string; fail?: (position: number, attempt: number) => boolean } = {},
): CountingReadModel {
  const memory = new Map<string, number>();
  let memoryWrites = 0;
  const countsKey = `${options.prefix}{${name}}:counts`;
  const writesKey = `${options.prefix}{${name}}:writes`;
  const model: CountingReadModel = {
    calls: 0,
    projection: defineProjection<Events>({
      name,
      handlers: {
        OrderPlaced: (event, ctx) => {
          model.calls++;
          if (options.fail?.(event.position, ctx.attempt)) throw new Error(`cannot apply ${event.position}`);
          if (backend === 'memory') {
            memory.set(event.data.customerId, (memory.get(event.data.customerId) ?? 0) + 1);
            memoryWrites++;
          } else {
            ctx.write('hincrby', countsKey, event.data.customerId, 1);
            ctx.write('incr', writesKey);
          }
        },
      },
      reset: async () => {
        memory.clear();
        memoryWrites = 0;
        if (backend === 'redis') await options.redis!.del(countsKey, writesKey);
      },
    }),
    async counts() {
      if (backend === 'memory') return Object.fromEntries(memory);
      const hash = await options.redis!.hgetall(countsKey);
      return Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, Number(v)]));
    },
    async writes() {
      return backend === 'memory' ? memoryWrites : Number((await options.redis!.get(writesKey)) ?? 0);
    },
  };
  return model;
}

/** `n` OrderPlaced events for customers c0..c4, with some other event type mixed in. */
export function orders(n: number): { type: string; data: { customerId: string } }[] {
  return Array.from({ length: n }, (_, i) => ({
    type: i % 7 === 6 ? 'OrderViewed' : 'OrderPlaced',
    data: { customerId: `c${i % 5}` },
  }));
}

/** What `countingReadModel` should hold after `orders(n)`. */
export function expectedCounts(n: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [i, event] of orders(n).entries()) {
    if (event.type === 'OrderPlaced') counts[`c${i % 5}`] = (counts[`c${i % 5}`] ?? 0) + 1;
  }
  return counts;
}

/** How many OrderPlaced events `orders(n)` holds. */
export function placed(n: number): number {
  return orders(n).filter((event) => event.type === 'OrderPlaced').length;
}
