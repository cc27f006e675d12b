import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatchbayError } from '../../src/core/errors';
import { ConcurrencyError } from '../../src/cqrs/errors';
import { memoryEventStore } from '../../src/cqrs/event-store/memory';
import { redisEventStore } from '../../src/cqrs/event-store/redis-streams';
import { memoryCheckpointStore } from '../../src/cqrs/projections/memory-checkpoints';
import { redisCheckpointStore } from '../../src/cqrs/projections/redis-checkpoints';
import { roundTrips } from '../support/monitor';
import { connectRedis, deleteKeys, testPrefix } from '../support/redis';
import { backends, collect } from './support/stores';

const prefix = testPrefix(import.meta.url);

/** What `call` throws or rejects with, or undefined. */
const rejection = (call: () => unknown): Promise<unknown> =>
  Promise.resolve()
    .then(call)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
let redis: Redis;
let observer: Redis;

beforeAll(async () => {
  redis = await connectRedis();
  observer = await connectRedis();
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis?.quit();
  await observer?.quit();
});

describe.each(backends(() => redis, prefix))('$name event store', (backend) => {
  it('appends with versions per stream and positions across streams, in envelopes', async () => {
    const store = backend.eventStore();
    const before = Date.now();
    const first = await store.append('order-1', [
      { id: 'e1', type: 'OrderPlaced', data: { total: 30 }, metadata: { correlationId: 'c' } },
      { type: 'OrderPaid' },
    ]);
    const second = await store.append('order-2', [{ type: 'OrderPlaced', data: { total: 5 } }]);
    const third = await store.append('order-1', [{ type: 'OrderShipped', data: ['box'] }]);
    expect([first, second, third]).toEqual([
      { version: 2, position: 2 },
      { version: 1, position: 3 },
      { version: 3, position: 4 },
    ]);
    const events = await collect(store.readStream('order-1'));
    expect(events.map(({ type, version, position }) => [type, version, position])).toEqual([
      ['OrderPlaced', 1, 1],
      ['OrderPaid', 2, 2],
      ['OrderShipped', 3, 4],
    ]);
    expect(events[0]).toEqual({
      id: 'e1',
      streamId: 'order-1',
      type: 'OrderPlaced',
      data: { total: 30 },
      metadata: { correlationId: 'c' },
      version: 1,
      position: 1,
      timestamp: expect.any(Number),
    });
    expect(events[0]!.timestamp).toBeGreaterThanOrEqual(before - 1_000);
    expect(events[0]!.timestamp).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(events[1]).toMatchObject({ data: null, metadata: {}, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(Object.isFrozen(events[0])).toBe(true);
    // the memory store hands every reader the same objects, so their data is frozen too
    if (backend.name === 'memory') expect(Object.isFrozen(events[0]!.data)).toBe(true);
    expect((await collect(store.readAll())).map((e) => `${e.streamId}@${e.version}`)).toEqual([
      'order-1@1',
      'order-1@2',
      'order-2@1',
      'order-1@3',
    ]);
  });

  it('keeps ids, types, stream ids and data with quotes, slashes, newlines and non-ASCII intact', async () => {
    const store = backend.eventStore();
    const streamId = 'ordér "1"/\\x{tag}';
    const event = {
      id: 'ïd "q" / \n 🎉',
      type: 'Type\t"quoted"',
      data: { text: 'a"b\\c\u2028 ü', n: 1.5, list: [null, true] },
    };
    await store.append(streamId, [event], { expectedVersion: 'no-stream' });
    const [stored] = await collect(store.readStream(streamId));
    expect(stored).toMatchObject({ ...event, streamId, metadata: {} });
    await expect(store.append(streamId, [event])).resolves.toEqual({ version: 1, position: 1 });
  });

  it('refuses a stream id, event id or type with a lone surrogate, rather than storing another stream or id', async () => {
    const store = backend.eventStore();
    // halves of one emoji, as `text.slice(0, n)` leaves them: Redis would store both as U+FFFD,
    // so the second append below would look like a repeat of the first and be silently skipped
    const [high, low] = ['\ud83d', '\ude00'];
    await store.append('fine-😀', [{ id: 'id-😀', type: 'T😀', data: { text: `cut ${high}` } }]);
    const bad: [string, () => unknown][] = [
      ['stream id', () => store.append(`s-${high}`, [{ id: 'a', type: 'T' }])],
      ['event id', () => store.append('s', [{ id: `id-${low}`, type: 'T' }])],
      ['type', () => store.append('s', [{ type: `T${low}` }])],
      ['read stream id', () => store.readStream(`s-${high}`)],
    ];
    for (const [why, call] of bad) {
      const error = await rejection(call);
      expect(error, why).toMatchObject({ code: 'ERR_CQRS_INPUT' });
    }
    const [stored, ...rest] = await collect(store.readAll());
    expect(rest).toEqual([]);
    // data is JSON, which escapes a lone surrogate: it comes back as it went in
    expect(stored).toMatchObject({ streamId: 'fine-😀', id: 'id-😀', type: 'T😀', data: { text: `cut ${high}` } });
  });

  it('reads from a version, from a position, with a limit, and nothing for an unknown stream', async () => {
    const store = backend.eventStore({ pageSize: 3 });
    for (let i = 0; i < 10; i++) await store.append(i % 2 ? 'odd' : 'even', [{ type: 'N', data: i }]);
    expect((await collect(store.readStream('odd', { fromVersion: 3 }))).map((e) => e.data)).toEqual([5, 7, 9]);
    expect((await collect(store.readAll({ fromPosition: 4, limit: 5 }))).map((e) => e.position)).toEqual([
      4, 5, 6, 7, 8,
    ]);
    expect((await collect(store.readAll({ fromPosition: 8 }))).map((e) => e.position)).toEqual([8, 9, 10]);
    expect(await collect(store.readAll({ fromPosition: 11 }))).toEqual([]);
    expect(await collect(store.readStream('nobody'))).toEqual([]);
  });

  it('checks expectedVersion: a number, no-stream and any', async () => {
    const store = backend.eventStore();
    await expect(store.append('s', [{ type: 'A' }], { expectedVersion: 'no-stream' })).resolves.toMatchObject({
      version: 1,
    });
    const conflict = await store
      .append('s', [{ type: 'B' }], { expectedVersion: 'no-stream' })
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ConcurrencyError);
    expect(conflict).toMatchObject({
      code: 'ERR_CQRS_CONCURRENCY',
      streamId: 's',
      expectedVersion: 0,
      actualVersion: 1,
    });
    await expect(store.append('s', [{ type: 'B' }], { expectedVersion: 2 })).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(store.append('s', [{ type: 'B' }, { type: 'C' }], { expectedVersion: 1 })).resolves.toMatchObject({
      version: 3,
    });
    await expect(store.append('s', [{ type: 'D' }], { expectedVersion: 'any' })).resolves.toMatchObject({ version: 4 });
    await expect(store.append('t', [{ type: 'A' }], { expectedVersion: 0 })).resolves.toMatchObject({ version: 1 });
    // a refused append leaves no trace
    expect((await collect(store.readStream('s'))).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
  });

  it('50 concurrent appends with the same expected version: exactly one succeeds, 49 get ConcurrencyError', async () => {
    const store = backend.eventStore();
    await store.append('race', [{ type: 'Opened' }]);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => store.append('race', [{ type: 'Bid', data: i }], { expectedVersion: 1 })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(49);
    for (const { reason } of lost) expect(reason).toBeInstanceOf(ConcurrencyError);
    const events = await collect(store.readStream('race'));
    expect(events).toHaveLength(2);
    expect((await collect(store.readAll())).map((e) => e.position)).toEqual([1, 2]);
  });

  it('treats an append of already-stored event ids as done, returning where they are', async () => {
    const store = backend.eventStore();
    const first = await store.append('pay', [
      { id: 'p1', type: 'Paid' },
      { id: 'p2', type: 'Receipted' },
    ]);
    await store.append('other', [{ type: 'X' }]);
    // a retried command: same ids, and a stale expected version that would otherwise conflict
    const again = await store.append(
      'pay',
      [
        { id: 'p1', type: 'Paid' },
        { id: 'p2', type: 'Receipted' },
      ],
      {
        expectedVersion: 'no-stream',
      },
    );
    expect(again).toEqual(first);
    expect(await collect(store.readAll())).toHaveLength(3);
    await expect(
      store.append('pay', [
        { id: 'p2', type: 'Receipted' },
        { id: 'p3', type: 'New' },
      ]),
    ).rejects.toMatchObject({
      code: 'ERR_CQRS_DUPLICATE',
    });
    await expect(store.append('elsewhere', [{ id: 'p1', type: 'Paid' }])).rejects.toMatchObject({
      code: 'ERR_CQRS_DUPLICATE',
    });
    expect(await collect(store.readAll())).toHaveLength(3);
  });

  it('reads from any safe position or version, and refuses larger ones at the call with ERR_CQRS_INPUT', async () => {
    const store = backend.eventStore();
    await store.append('s', [{ type: 'A' }]);
    const max = Number.MAX_SAFE_INTEGER;
    expect(await collect(store.readAll({ fromPosition: max }))).toEqual([]);
    expect(await collect(store.readStream('s', { fromVersion: max }))).toEqual([]);
    // past 2^53 a number names no single position; from 1e21 on it prints as 1e+21, no stream id
    for (const big of [max + 1, 2 ** 64, 1e21, 1e300]) {
      const input = expect.objectContaining({ code: 'ERR_CQRS_INPUT' });
      expect(() => store.readAll({ fromPosition: big }), String(big)).toThrow(input);
      expect(() => store.readStream('s', { fromVersion: big }), String(big)).toThrow(input);
      await expect(store.append('s', [{ type: 'B' }], { expectedVersion: big }), String(big)).rejects.toEqual(input);
    }
    expect(await collect(store.readAll())).toHaveLength(1);
  });

  it('rejects bad input at the call with ERR_CQRS_INPUT and writes nothing', async () => {
    const store = backend.eventStore();
    const bad: [string, () => unknown][] = [
      ['empty stream id', () => store.append('', [{ type: 'A' }])],
      ['non-string stream id', () => store.append(7 as never, [{ type: 'A' }])],
      ['non-array events', () => store.append('s', { type: 'A' } as never)],
      ['no events', () => store.append('s', [])],
      ['event without type', () => store.append('s', [{ data: 1 } as never])],
      ['event with empty type', () => store.append('s', [{ type: '' }])],
      ['null event', () => store.append('s', [null as never])],
      [
        'id twice',
        () =>
          store.append('s', [
            { id: 'x', type: 'A' },
            { id: 'x', type: 'B' },
          ]),
      ],
      ['bad expectedVersion', () => store.append('s', [{ type: 'A' }], { expectedVersion: -1 })],
      // null would otherwise have meant 'any': no concurrency check at all
      ['null expectedVersion', () => store.append('s', [{ type: 'A' }], { expectedVersion: null as never })],
      ['unserializable data', () => store.append('s', [{ type: 'A', data: 1n }])],
      ['array metadata', () => store.append('s', [{ type: 'A', metadata: [] as never }])],
    ];
    for (const [why, call] of bad) {
      const error = await rejection(call);
      expect(error, why).toBeInstanceOf(PatchbayError);
      expect(error, why).toMatchObject({ code: 'ERR_CQRS_INPUT' });
    }
    expect(() => store.readStream('')).toThrow(expect.objectContaining({ code: 'ERR_CQRS_INPUT' }));
    expect(() => store.readAll({ limit: 0 })).toThrow(expect.objectContaining({ code: 'ERR_CQRS_INPUT' }));
    expect(() => store.readAll({ fromPosition: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_CQRS_INPUT' }));
    expect(await collect(store.readAll())).toEqual([]);
  });
});

describe('redisEventStore specifics', () => {
  it('appends in one round trip and reads a page per round trip', async () => {
    const store = redisEventStore(redis, { prefix: `${prefix}rt:`, pageSize: 100 });
    await store.append('warm', [{ type: 'A' }]); // scripts loaded
    const appends = await roundTrips(redis, observer, () => store.append('s', [{ type: 'A' }, { type: 'B' }]));
    expect(appends).toEqual(['evalsha']);
    for (let i = 0; i < 3; i++)
      await store.append(
        'bulk',
        Array.from({ length: 100 }, () => ({ type: 'E' })),
      );
    // 300 events: three full pages, then one that comes back empty and ends the read
    const reads = await roundTrips(redis, observer, () => collect(store.readAll({ fromPosition: 4 })));
    expect(reads).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha']);
    const limited = await roundTrips(redis, observer, () => collect(store.readAll({ fromPosition: 4, limit: 150 })));
    expect(limited).toEqual(['evalsha', 'evalsha']);
  });

  it('keeps its layout: the log and streams as Redis Streams under one hash tag', async () => {
    const p = `${prefix}layout:`;
    const store = redisEventStore(redis, { prefix: p, name: 'shop' });
    await store.append('order-1', [{ id: 'e1', type: 'OrderPlaced', data: { a: 1 } }]);
    expect(await redis.type(`${p}{shop}:all`)).toBe('stream');
    expect(await redis.type(`${p}{shop}:stream:order-1`)).toBe('stream');
    expect(await redis.hget(`${p}{shop}:ids`, 'e1')).toBe('1:1:order-1');
    const [[id, fields]] = (await redis.xrange(`${p}{shop}:all`, '-', '+')) as [[string, string[]]];
    expect(id).toBe('0-1');
    expect(fields).toEqual(['e', expect.any(String)]);
    expect(JSON.parse(fields[1]!)).toEqual(['e1', 'order-1', 'OrderPlaced', 1, expect.any(Number), { a: 1 }, {}]);
    expect(await redis.xrange(`${p}{shop}:stream:order-1`, '-', '+')).toEqual([['0-1', ['p', '1']]]);
  });

  it('works with a client made with stringNumbers, whose integer replies are strings', async () => {
    const client = await connectRedis({ stringNumbers: true });
    try {
      const store = redisEventStore(client, { prefix: `${prefix}strings:` });
      expect(await store.append('s', [{ type: 'A' }])).toEqual({ version: 1, position: 1 });
      await expect(store.append('s', [{ type: 'A' }], { expectedVersion: 0 })).rejects.toBeInstanceOf(ConcurrencyError);
      const checkpoints = redisCheckpointStore(client, { prefix: `${prefix}strings-cp:` });
      expect(await checkpoints.acquire('p', 'a', 60_000)).toBe(true);
      expect(await checkpoints.acquire('p', 'b', 60_000)).toBe(false);
      const commit = { from: 0, to: 1, generation: 0, writes: [], parked: [] };
      expect(await checkpoints.commit('p', commit)).toEqual({ committed: true, parked: [] });
      expect(await checkpoints.commit('p', commit)).toEqual({ committed: false, parked: [] });
      expect(await checkpoints.fence('p')).toBe(1);
    } finally {
      await client.quit();
    }
  });

  it('rejects bad options with ERR_CQRS_OPTIONS', () => {
    expect(() => redisEventStore({} as never)).toThrow(expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }));
    expect(() => redisEventStore(redis, { prefix: 'a{b}' })).toThrow(
      expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }),
    );
    expect(() => redisEventStore(redis, { name: '' })).toThrow(expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }));
    expect(() => redisEventStore(redis, { pageSize: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }),
    );
    expect(() => memoryEventStore({ clock: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }),
    );
    for (const options of [null, 'x', []]) {
      expect(() => memoryEventStore(options as never)).toThrow(expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }));
      expect(() => redisEventStore(redis, options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }),
      );
      expect(() => redisCheckpointStore(redis, options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }),
      );
      expect(() => memoryCheckpointStore(options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' }),
      );
    }
  });
});
