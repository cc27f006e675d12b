import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { redisEventStore } from '../../src/cqrs/event-store/redis-streams';
import { defineProjection } from '../../src/cqrs/projections/define-projection';
import { memoryCheckpointStore } from '../../src/cqrs/projections/memory-checkpoints';
import { redisCheckpointStore } from '../../src/cqrs/projections/redis-checkpoints';
import { createProjectionRunner, type ProjectionRunnerEvent } from '../../src/cqrs/projections/runner';
import { type RedisServer, startRedisServer } from '../support/redis-server';

let server: RedisServer;
let redis: Redis;
let admin: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  server = await startRedisServer();
  // a command timeout turns a frozen server into errors rather than a hang
  redis = new Redis(server.url, { commandTimeout: 200, maxRetriesPerRequest: 1 });
  admin = new Redis(server.url);
  process.on('unhandledRejection', onUnhandled);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  redis?.disconnect();
  admin?.disconnect();
  await server?.stop();
});

describe('Redis frozen under a running runner', () => {
  it('reports errors, fails appends clearly, and applies every event exactly once when Redis is back', async () => {
    const store = redisEventStore(redis, { prefix: 'faults:es:' });
    const countsKey = 'faults:{orders}:counts';
    const projection = defineProjection<{ OrderPlaced: { n: number } }>({
      name: 'orders',
      handlers: { OrderPlaced: ({ data }, ctx) => ctx.write('hincrby', countsKey, 'total', data.n) },
    });
    const events: ProjectionRunnerEvent[] = [];
    const runner = createProjectionRunner({
      store,
      projections: [projection],
      checkpoints: redisCheckpointStore(redis, { prefix: 'faults:cp:' }),
      batchSize: 10,
      pollMs: 20,
      onEvent: (event) => events.push(event),
    });
    runner.start();
    const batch = (i: number) =>
      Array.from({ length: 10 }, (_, j) => ({ id: `e${i}-${j}`, type: 'OrderPlaced', data: { n: 1 } }));
    for (let i = 0; i < 5; i++) await store.append(`o${i}`, batch(i));
    await runner.waitFor(50, { timeoutMs: 5_000 });

    server.pause();
    const failed = await store.append('o5', batch(5)).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'ERR_CQRS_STORE' });
    await sleep(300);
    server.resume();
    // the refused append may have landed once the server woke up: retrying with the same ids is safe
    await store.append('o5', batch(5));
    for (let i = 6; i < 10; i++) await store.append(`o${i}`, batch(i));
    await runner.waitFor(100, { timeoutMs: 10_000 });
    await runner.stop();

    expect(events.some((e) => e.type === 'error')).toBe(true);
    expect(await admin.hget(countsKey, 'total')).toBe('100');
    expect(await admin.xlen('faults:es:{events}:all')).toBe(100);
    expect(unhandled).toEqual([]);
  });
});

describe('Redis frozen in the middle of a batch', () => {
  it('an in-memory read model gets each event once: what a batch applied before the read failed is committed', async () => {
    // pages of 5 in batches of 20: a batch reads four pages, and Redis freezes after the first
    const store = redisEventStore(redis, { prefix: 'midbatch:es:', pageSize: 5 });
    const applied = new Map<number, number>();
    let frozen = false;
    const projection = defineProjection<{ OrderPlaced: null }>({
      name: 'in-memory',
      handlers: {
        OrderPlaced: (event) => {
          applied.set(event.position, (applied.get(event.position) ?? 0) + 1);
          if (event.position === 5 && !frozen) {
            frozen = true;
            server.pause();
            setTimeout(() => server.resume(), 600);
          }
        },
      },
    });
    await store.append(
      'o',
      Array.from({ length: 20 }, () => ({ type: 'OrderPlaced' })),
    );
    const events: ProjectionRunnerEvent[] = [];
    // checkpoints in memory, as the read model: the usual pair for a view each process keeps
    const runner = createProjectionRunner({
      store,
      projections: [projection],
      checkpoints: memoryCheckpointStore(),
      batchSize: 20,
      pollMs: 20,
      onEvent: (event) => events.push(event),
    });
    runner.start();
    try {
      await runner.waitFor(20, { timeoutMs: 10_000 });
    } finally {
      await runner.stop();
    }
    expect(events.some((e) => e.type === 'error')).toBe(true);
    expect([...applied.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect([...applied.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  });
});

// SCRIPT FLUSH runs on this file's own server: on the shared Redis it would make other files'
// round-trip counts see an extra EVAL
describe('Redis lost its script cache', () => {
  it('appends, reads and commits reload their scripts transparently', async () => {
    const store = redisEventStore(redis, { prefix: 'flush:es:' });
    const checkpoints = redisCheckpointStore(redis, { prefix: 'flush:cp:' });
    await store.append('s', [{ type: 'A' }]);
    await checkpoints.commit('p', { from: 0, to: 1, generation: 0, writes: [], parked: [] });
    await admin.script('FLUSH');
    await expect(store.append('s', [{ type: 'B' }], { expectedVersion: 1 })).resolves.toEqual({
      version: 2,
      position: 2,
    });
    await admin.script('FLUSH');
    const event = { id: 'e2', streamId: 's', type: 'B', version: 2, position: 2, timestamp: 0, data: {}, metadata: {} };
    const write = { command: 'incr', key: 'flush:{p}:model', args: [], event };
    await expect(
      checkpoints.commit('p', { from: 1, to: 2, generation: 0, writes: [write], parked: [] }),
    ).resolves.toEqual({
      committed: true,
      parked: [],
    });
    expect(await admin.get('flush:{p}:model')).toBe('1');
    await admin.script('FLUSH');
    const read: string[] = [];
    for await (const event of store.readAll()) read.push(event.type);
    expect(read).toEqual(['A', 'B']);
  });
});
