import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { TimeoutError } from '../../src/core/errors';
import { sleep } from '../../src/core/timeout';
import { memoryEventStore } from '../../src/cqrs/event-store/memory';
import { redisEventStore } from '../../src/cqrs/event-store/redis-streams';
import type { EventStore, StoredEvent } from '../../src/cqrs/event-store/types';
import { defineProjection } from '../../src/cqrs/projections/define-projection';
import { memoryCheckpointStore } from '../../src/cqrs/projections/memory-checkpoints';
import { redisCheckpointStore } from '../../src/cqrs/projections/redis-checkpoints';
import { createProjectionRunner, type ProjectionRunnerEvent } from '../../src/cqrs/projections/runner';
import { manualClock } from '../support/clock';
import { recordFaults } from '../support/faults';
import { connectRedis, deleteKeys, testPrefix } from '../support/redis';
import { countingReadModel, expectedCounts, orders, placed } from './support/read-model';
import { backends } from './support/stores';

const prefix = testPrefix(import.meta.url);
let redis: Redis;

beforeAll(async () => {
  redis = await connectRedis();
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis?.quit();
});

async function appendOrders(store: EventStore, n: number): Promise<number> {
  let position = 0;
  const all = orders(n);
  for (let i = 0; i < all.length; i += 10) {
    ({ position } = await store.append(`orders-${i}`, all.slice(i, i + 10)));
  }
  return position;
}

let modelId = 0;

/** An event as the store gives it back, for calling a checkpoint store directly. */
function storedEvent(position: number): StoredEvent {
  return {
    id: `e${position}`,
    streamId: 's',
    type: 'A',
    version: position,
    position,
    timestamp: 0,
    data: {},
    metadata: {},
  };
}

/** A handler's hold: `reached` once a handler `entered()`, and handlers wait on `opened` until `open()`. */
function gate(): { entered(): void; reached: Promise<void>; open(): void; opened: Promise<void> } {
  let entered!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { entered, reached, open, opened };
}

describe.each(backends(() => redis, prefix))('$name projections', (backend) => {
  const model = (options: { fail?: (position: number, attempt: number) => boolean } = {}) =>
    countingReadModel(backend.name, `orders-by-customer-${modelId++}`, { redis, prefix, ...options });

  it('applies the log in batches, and waitFor resolves once the projection passed the position', async () => {
    const store = backend.eventStore();
    const readModel = model();
    const events: ProjectionRunnerEvent[] = [];
    const runner = createProjectionRunner({
      store,
      projections: [readModel.projection],
      checkpoints: backend.checkpoints(),
      batchSize: 40,
      pollMs: 20,
      onEvent: (event) => events.push(event),
    });
    runner.start();
    const position = await appendOrders(store, 200);
    await runner.waitFor(position, { timeoutMs: 5_000 });
    expect(await readModel.counts()).toEqual(expectedCounts(200));
    expect(await readModel.writes()).toBe(placed(200));
    // read-your-writes: a fresh append is visible as soon as waitFor resolves
    const { position: next } = await store.append('orders-x', [{ type: 'OrderPlaced', data: { customerId: 'c9' } }]);
    await runner.waitFor(next, { timeoutMs: 5_000 });
    expect((await readModel.counts()).c9).toBe(1);
    await runner.stop();
    const batches = events.filter((e) => e.type === 'batch');
    expect(batches.every((b) => b.type === 'batch' && b.to - b.from <= 40)).toBe(true);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('waitFor times out cleanly with TimeoutError when the projection is behind', async () => {
    const store = backend.eventStore();
    const runner = createProjectionRunner({
      store,
      projections: [model().projection],
      checkpoints: backend.checkpoints(),
    });
    const { position } = await store.append('o', [{ type: 'OrderPlaced', data: { customerId: 'c1' } }]);
    // never started: the projection stays at 0
    const started = Date.now();
    const error = await runner.waitFor(position, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'ERR_TIMEOUT', timeoutMs: 150 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await expect(runner.waitFor(0, { timeoutMs: 100 })).resolves.toBeUndefined();
    await expect(runner.waitFor(-1, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'ERR_CQRS_INPUT' });
    await expect(runner.waitFor(1, { timeoutMs: 0 })).rejects.toMatchObject({ code: 'ERR_CQRS_INPUT' });
    await expect(runner.waitFor(1, { timeoutMs: 10, projection: 'nope' })).rejects.toMatchObject({
      code: 'ERR_CQRS_INPUT',
    });
  });

  it('retries a failing handler, then parks the event, reports it and goes on', async () => {
    const store = backend.eventStore();
    // position 3 always fails; position 5 fails once, then works
    const readModel = model({ fail: (position, attempt) => position === 3 || (position === 5 && attempt === 1) });
    const events: ProjectionRunnerEvent[] = [];
    const runner = createProjectionRunner({
      store,
      projections: [readModel.projection],
      checkpoints: backend.checkpoints(),
      retry: { attempts: 3, backoff: { initialMs: 1, maxMs: 5 } },
      onEvent: (event) => events.push(event),
    });
    runner.start();
    const position = await appendOrders(store, 6);
    await runner.waitFor(position, { timeoutMs: 5_000 });
    await runner.stop();
    const name = readModel.projection.name;
    expect(
      events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && [e.event.position, e.attempt]),
    ).toEqual([
      [3, 1],
      [3, 2],
      [5, 1],
    ]);
    const parkedEvents = events.filter((e) => e.type === 'parked');
    expect(parkedEvents).toHaveLength(1);
    expect(parkedEvents[0]).toMatchObject({ projection: name, attempts: 3, event: { position: 3 } });
    const parked = await runner.parked(name);
    expect(parked).toEqual([
      { event: expect.objectContaining({ position: 3, type: 'OrderPlaced' }), error: 'cannot apply 3', attempts: 3 },
    ]);
    // everything but the parked event reached the read model, each once
    expect(await readModel.writes()).toBe(5);
  });

  it('rebuild replays from zero into an emptied read model and yields the same read model', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const readModel = model();
    const runner = createProjectionRunner({ store, projections: [readModel.projection], checkpoints, batchSize: 64 });
    runner.start();
    const position = await appendOrders(store, 300);
    await runner.waitFor(position, { timeoutMs: 5_000 });
    const before = await readModel.counts();
    const callsBefore = readModel.calls;
    await runner.rebuild(readModel.projection.name);
    expect(readModel.calls).toBe(callsBefore * 2);
    expect(await readModel.counts()).toEqual(before);
    expect(await readModel.writes()).toBe(placed(300));
    expect((await checkpoints.load(readModel.projection.name)).position).toBe(position);
    // still running after the rebuild
    const { position: next } = await store.append('late', [{ type: 'OrderPlaced', data: { customerId: 'c0' } }]);
    await runner.waitFor(next, { timeoutMs: 5_000 });
    expect((await readModel.counts()).c0).toBe(before.c0! + 1);
    await runner.stop();
    await expect(runner.rebuild('nope')).rejects.toMatchObject({ code: 'ERR_CQRS_INPUT' });
  });

  it('rebuild works on a runner that was never started, and then leaves the lease free', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const readModel = model();
    const position = await appendOrders(store, 50);
    const runner = createProjectionRunner({ store, projections: [readModel.projection], checkpoints });
    await runner.rebuild(readModel.projection.name);
    expect(await readModel.counts()).toEqual(expectedCounts(50));
    expect((await checkpoints.load(readModel.projection.name)).position).toBe(position);
    expect(await checkpoints.acquire(readModel.projection.name, 'someone-else', 1_000)).toBe(true);
  });

  it('a runner stopped mid-batch commits what it applied; the next one resumes with no event applied twice', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const position = await appendOrders(store, 120);
    let stopRequested: Promise<void> | undefined;
    const first = countingReadModel(backend.name, `resume-${modelId++}`, {
      redis,
      prefix,
      // stop while the first batch (100 events) is in the middle
      fail: (p) => {
        if (p === 37 && !stopRequested) stopRequested = runner.stop();
        return false;
      },
    });
    const runner = createProjectionRunner({ store, projections: [first.projection], checkpoints, batchSize: 100 });
    runner.start();
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (stopRequested) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    await stopRequested;
    const checkpoint = (await checkpoints.load(first.projection.name)).position;
    expect(checkpoint).toBe(37);
    expect(await first.writes()).toBe(placed(37));
    // the same read model, a new runner on the same checkpoints
    const second = createProjectionRunner({ store, projections: [first.projection], checkpoints, batchSize: 100 });
    second.start();
    await second.waitFor(position, { timeoutMs: 5_000 });
    await second.stop();
    expect(await first.writes()).toBe(placed(120));
    expect(await first.counts()).toEqual(expectedCounts(120));
  });

  it('stop() during a rebuild resolves after it, and the lease stays held until the rebuild ended', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `stop-rebuild-${modelId++}`;
    const held = gate();
    let rebuilding = false;
    const projection = defineProjection<{ A: null }>({
      name,
      handlers: {
        A: async () => {
          if (!rebuilding) return;
          held.entered();
          await held.opened;
        },
      },
    });
    const runner = createProjectionRunner({ store, checkpoints, projections: [projection], batchSize: 5, pollMs: 20 });
    runner.start();
    let position = 0;
    for (let i = 0; i < 20; i++) ({ position } = await store.append('s', [{ type: 'A' }]));
    await runner.waitFor(position, { timeoutMs: 5_000 });
    rebuilding = true;
    const settled: string[] = [];
    const rebuilt = runner.rebuild(name).then(() => settled.push('rebuild'));
    await held.reached;
    const stopped = runner.stop().then(() => settled.push('stop'));
    // time for the idle worker to see the stop and end
    await sleep(50);
    expect(settled).toEqual([]);
    expect(await checkpoints.acquire(name, 'other-runner', 1_000)).toBe(false);
    held.open();
    await Promise.all([rebuilt, stopped]);
    expect(settled).toEqual(['rebuild', 'stop']);
    expect((await checkpoints.load(name)).position).toBe(position);
    expect(await checkpoints.acquire(name, 'other-runner', 1_000)).toBe(true);
  });

  it('a rebuild longer than leaseMs renews the lease, so no other runner takes the projection mid-way', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `long-rebuild-${modelId++}`;
    const projection = defineProjection<{ A: null }>({ name, handlers: { A: () => sleep(10) } });
    let position = 0;
    for (let i = 0; i < 60; i++) ({ position } = await store.append('s', [{ type: 'A' }]));
    // never started: the rebuild is all this runner does, about 600 ms of replay, twice the lease
    const runner = createProjectionRunner({
      store,
      checkpoints,
      projections: [projection],
      batchSize: 2,
      leaseMs: 300,
    });
    const rebuilt = runner.rebuild(name);
    await sleep(450);
    expect(await checkpoints.acquire(name, 'other-runner', 1_000)).toBe(false);
    await rebuilt;
    expect((await checkpoints.load(name)).position).toBe(position);
  });

  it('a rebuild whose lease another runner took mid-way rejects with ERR_CQRS_LEASE', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `taken-rebuild-${modelId++}`;
    const held = gate();
    const projection = defineProjection<{ A: null }>({
      name,
      handlers: {
        A: async (event) => {
          if (event.position !== 1) return;
          held.entered();
          await held.opened;
        },
      },
    });
    await store.append('s', [{ type: 'A' }, { type: 'A' }, { type: 'A' }]);
    const runner = createProjectionRunner({ store, checkpoints, projections: [projection], leaseMs: 50 });
    const rebuilt = runner.rebuild(name);
    await held.reached;
    // the first batch outlives the lease; another runner takes the projection and commits first
    await sleep(80);
    expect(await checkpoints.acquire(name, 'other-runner', 5_000)).toBe(true);
    const { generation } = await checkpoints.load(name);
    expect(await checkpoints.commit(name, { from: 0, to: 3, generation, writes: [], parked: [] })).toMatchObject({
      committed: true,
    });
    held.open();
    await expect(rebuilt).rejects.toMatchObject({ code: 'ERR_CQRS_LEASE' });
  });

  it('a second stop() waits for the workers to end, as the first one does', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `double-stop-${modelId++}`;
    const held = gate();
    const projection = defineProjection<{ A: null }>({
      name,
      handlers: {
        A: async () => {
          held.entered();
          await held.opened;
        },
      },
    });
    const runner = createProjectionRunner({ store, checkpoints, projections: [projection], pollMs: 20 });
    runner.start();
    const { position } = await store.append('s', [{ type: 'A' }]);
    await held.reached;
    const first = runner.stop();
    let secondEnded = false;
    const second = runner.stop().then(() => {
      secondEnded = true;
    });
    await sleep(30);
    expect(secondEnded).toBe(false);
    held.open();
    await Promise.all([first, second]);
    // the event in hand was committed before either stop() resolved
    expect((await checkpoints.load(name)).position).toBe(position);
    await expect(runner.stop()).resolves.toBeUndefined();
  });

  it('start() while a stop() drains runs one loop after the old one ended, and keeps the lease throughout', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `restart-${modelId++}`;
    const held = gate();
    const handled: number[] = [];
    const projection = defineProjection<{ A: null }>({
      name,
      handlers: {
        A: async ({ position }) => {
          handled.push(position);
          if (position === 1) {
            held.entered();
            await held.opened;
          }
        },
      },
    });
    const events: ProjectionRunnerEvent[] = [];
    // a poll much longer than the test's checks: a loop that lost the lease only takes it back
    // after a poll, which leaves the projection free for another runner meanwhile
    const runner = createProjectionRunner({
      store,
      checkpoints,
      projections: [projection],
      pollMs: 2_000,
      leaseMs: 30_000,
      owner: 'restarted',
      onEvent: (event) => events.push(event),
    });
    runner.start();
    try {
      await store.append('s', [{ type: 'A' }]);
      await held.reached;
      const stopped = runner.stop();
      runner.start();
      held.open();
      await stopped;
      expect(await checkpoints.acquire(name, 'other-runner', 30_000)).toBe(false);
      const { position } = await store.append('s', [{ type: 'A' }, { type: 'A' }, { type: 'A' }]);
      await runner.waitFor(position, { timeoutMs: 5_000 });
      expect(await checkpoints.acquire(name, 'other-runner', 30_000)).toBe(false);
    } finally {
      held.open();
      await runner.stop();
    }
    expect(handled).toEqual([1, 2, 3, 4]);
    expect(events.filter((e) => e.type === 'lease-acquired' || e.type === 'lease-lost')).toEqual([
      { type: 'lease-acquired', projection: name, checkpoint: 0 },
    ]);
    expect(events.filter((e) => e.type === 'error' || e.type === 'conflict')).toEqual([]);
    // the final stop() gave the lease up
    expect(await checkpoints.acquire(name, 'other-runner', 30_000)).toBe(true);
  });

  it('keeps the lease of an idle projection whose poll is longer than the lease', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `long-poll-${modelId++}`;
    const projection = defineProjection<{ A: null }>({ name, handlers: { A: () => undefined } });
    const events: ProjectionRunnerEvent[] = [];
    const runner = createProjectionRunner({
      store,
      checkpoints,
      projections: [projection],
      pollMs: 5_000,
      leaseMs: 300,
      owner: 'idle-runner',
      onEvent: (event) => events.push(event),
    });
    runner.start();
    try {
      while (!events.some((e) => e.type === 'lease-acquired')) await sleep(5);
      // three lease lifetimes without an event: the runner renews while it waits
      await sleep(900);
      expect(await checkpoints.acquire(name, 'other-runner', 30_000)).toBe(false);
    } finally {
      await runner.stop();
    }
    expect(events.filter((e) => e.type === 'lease-lost' || e.type === 'error')).toEqual([]);
  });

  it('keeps renewing its lease after the clock stepped back (an NTP correction)', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `clock-step-${modelId++}`;
    const projection = defineProjection<{ A: null }>({ name, handlers: { A: () => undefined } });
    const clock = manualClock();
    const events: ProjectionRunnerEvent[] = [];
    const runner = createProjectionRunner({
      store,
      checkpoints,
      projections: [projection],
      clock,
      pollMs: 10,
      leaseMs: 300,
      owner: 'stepped-runner',
      onEvent: (event) => events.push(event),
    });
    runner.start();
    try {
      while (!events.some((e) => e.type === 'lease-acquired')) await sleep(5);
      clock.advance(-60_000);
      // the lease lives in the store's time (Redis's, or the memory store's own clock): three
      // lifetimes pass there, while the runner's clock creeps on from a minute back
      for (let i = 0; i < 30; i++) {
        await sleep(30);
        clock.advance(30);
      }
      expect(await checkpoints.acquire(name, 'other-runner', 30_000)).toBe(false);
    } finally {
      await runner.stop();
    }
    expect(events.filter((e) => e.type === 'lease-lost' || e.type === 'error')).toEqual([]);
  });

  it('a rebuild that fails on a runner that is not running leaves the lease free', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `failed-rebuild-${modelId++}`;
    const projection = defineProjection<{ A: null }>({
      name,
      handlers: { A: () => undefined },
      reset: async () => {
        throw new Error('read model database down');
      },
    });
    await store.append('s', [{ type: 'A' }]);
    const admin = createProjectionRunner({ store, checkpoints, projections: [projection], owner: 'admin-cli' });
    await expect(admin.rebuild(name)).rejects.toThrow('read model database down');
    expect(await checkpoints.acquire(name, 'worker-process', 1_000)).toBe(true);
  });

  it('two runners on one checkpoint store share the projections and apply each event once', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const models = Array.from({ length: 4 }, () => model());
    const owners = new Map<string, Set<string>>();
    const runners = ['a', 'b'].map((owner) =>
      createProjectionRunner({
        store,
        checkpoints,
        owner,
        projections: models.map((m) => m.projection),
        batchSize: 25,
        pollMs: 10,
        onEvent: (event) => {
          if (event.type === 'batch')
            owners.set(event.projection, (owners.get(event.projection) ?? new Set()).add(owner));
        },
      }),
    );
    for (const runner of runners) runner.start();
    const position = await appendOrders(store, 400);
    await runners[0]!.waitFor(position, { timeoutMs: 10_000 });
    await Promise.all(runners.map((runner) => runner.stop()));
    for (const m of models) {
      expect(await m.writes()).toBe(placed(400));
      expect(await m.counts()).toEqual(expectedCounts(400));
      // one lease per projection: one runner did all of its batches
      expect(owners.get(m.projection.name)?.size).toBe(1);
    }
  });

  it('a batch slower than leaseMs keeps its lease: a second runner does not run the same events', async () => {
    const store = backend.eventStore();
    const checkpoints = backend.checkpoints();
    const name = `slow-batch-${modelId++}`;
    // an in-process read model: what a handler did is done, whichever runner's commit wins
    const calls = new Map<number, number>();
    const projection = defineProjection<{ A: null }>({
      name,
      handlers: {
        A: async (event) => {
          calls.set(event.position, (calls.get(event.position) ?? 0) + 1);
          await sleep(25);
        },
      },
    });
    // one batch of 30 events at 25 ms each: 750 ms, well past a 300 ms lease
    const { position } = await store.append(
      's',
      Array.from({ length: 30 }, () => ({ type: 'A' })),
    );
    const events: ProjectionRunnerEvent[] = [];
    const runners = ['first', 'second'].map((owner) =>
      createProjectionRunner({
        store,
        checkpoints,
        owner,
        projections: [projection],
        batchSize: 30,
        leaseMs: 300,
        pollMs: 10,
        onEvent: (event) => events.push(event),
      }),
    );
    runners[0]!.start();
    try {
      while (calls.size === 0) await sleep(5);
      runners[1]!.start();
      await runners[1]!.waitFor(position, { timeoutMs: 10_000 });
    } finally {
      await Promise.all(runners.map((runner) => runner.stop()));
    }
    expect([...calls.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect([...calls.values()].filter((n) => n !== 1)).toEqual([]);
    expect(events.filter((e) => e.type === 'conflict' || e.type === 'lease-lost' || e.type === 'error')).toEqual([]);
  });
});

describe('runner observers', () => {
  it('keeps projecting with no unhandled rejection when an async onEvent rejects', async () => {
    const faults = recordFaults();
    try {
      const store = memoryEventStore();
      await store.append('order-1', [{ type: 'created', data: {} }]);
      let applied = 0;
      let seen = 0;
      const runner = createProjectionRunner({
        store,
        projections: [defineProjection({ name: 'p', handlers: { created: async () => void applied++ } })],
        onEvent: async () => {
          seen++;
          throw new Error('async observer bug');
        },
      });
      runner.start();
      await runner.waitFor(1, { timeoutMs: 2_000 });
      await runner.stop();
      expect(applied).toBe(1);
      expect(seen).toBeGreaterThan(0);
      await sleep(20);
      expect(faults.faults).toEqual([]);
    } finally {
      faults.stop();
    }
  });
});

describe('checkpoint stores', () => {
  const stores = [
    ['memory', () => memoryCheckpointStore()],
    ['redis', () => redisCheckpointStore(redis, { prefix: `${prefix}cps${modelId++}:` })],
  ] as const;

  it.each(stores)(
    '%s: commits only from the checkpoint it is at (fencing), and leases exclude others',
    async (_name, make) => {
      const checkpoints = make();
      expect((await checkpoints.load('p')).position).toBe(0);
      expect(await checkpoints.commit('p', { from: 0, to: 10, generation: 0, writes: [], parked: [] })).toEqual({
        committed: true,
        parked: [],
      });
      expect(await checkpoints.commit('p', { from: 0, to: 20, generation: 0, writes: [], parked: [] })).toEqual({
        committed: false,
        parked: [],
      });
      expect((await checkpoints.load('p')).position).toBe(10);
      expect(await checkpoints.acquire('p', 'a', 60_000)).toBe(true);
      expect(await checkpoints.acquire('p', 'b', 60_000)).toBe(false);
      expect(await checkpoints.acquire('p', 'a', 60_000)).toBe(true);
      await checkpoints.release('p', 'b');
      expect(await checkpoints.acquire('p', 'b', 60_000)).toBe(false);
      await checkpoints.release('p', 'a');
      expect(await checkpoints.acquire('p', 'b', 30)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await checkpoints.acquire('p', 'a', 60_000)).toBe(true);
      await checkpoints.reset('p');
      expect((await checkpoints.load('p')).position).toBe(0);
    },
  );

  it.each(stores)(
    '%s: commits only at the generation it loaded; fence and reset bump it (rebuild fencing)',
    async (_name, make) => {
      const checkpoints = make();
      expect(await checkpoints.load('p')).toEqual({ position: 0, generation: 0 });
      await checkpoints.commit('p', { from: 0, to: 10, generation: 0, writes: [], parked: [] });
      expect(await checkpoints.fence('p')).toBe(1);
      expect(await checkpoints.load('p')).toEqual({ position: 10, generation: 1 });
      const stale = { from: 10, to: 20, generation: 0, writes: [], parked: [] };
      expect(await checkpoints.commit('p', stale)).toEqual({ committed: false, parked: [] });
      expect(await checkpoints.reset('p')).toBe(2);
      expect(await checkpoints.load('p')).toEqual({ position: 0, generation: 2 });
      expect(await checkpoints.commit('p', { ...stale, from: 0, generation: 1 })).toMatchObject({ committed: false });
      expect(await checkpoints.commit('p', { ...stale, from: 0, generation: 2 })).toMatchObject({ committed: true });
    },
  );

  it.each(stores)('%s: parked() gives copies, so a caller changing one changes nothing stored', async (_name, make) => {
    const checkpoints = make();
    const event: StoredEvent = Object.freeze({
      id: 'e1',
      streamId: 's',
      type: 'A',
      data: null,
      metadata: {},
      version: 1,
      position: 1,
      timestamp: 0,
    });
    const parked = [{ event, error: 'boom', attempts: 3 }];
    await checkpoints.commit('p', { from: 0, to: 1, generation: 0, writes: [], parked });
    parked[0]!.error = 'changed by the runner after the commit';
    const [read] = await checkpoints.parked('p');
    expect(read).toMatchObject({ error: 'boom', attempts: 3 });
    read!.error = 'changed by the caller';
    read!.attempts = 99;
    expect((await checkpoints.parked('p'))[0]).toMatchObject({ error: 'boom', attempts: 3 });
  });

  it('redis: a refused commit runs none of its writes', async () => {
    const checkpoints = redisCheckpointStore(redis, { prefix: `${prefix}fence:` });
    const key = `${prefix}fence:{p}:model`;
    const event = storedEvent(1);
    const write = { command: 'incr', key, args: [], event };
    await checkpoints.commit('p', { from: 0, to: 5, generation: 0, writes: [write], parked: [] });
    const refused = await checkpoints.commit('p', { from: 0, to: 9, generation: 0, writes: [write], parked: [] });
    expect(refused).toEqual({ committed: false, parked: [] });
    expect(await redis.get(key)).toBe('1');
    expect(await checkpoints.fence('p')).toBe(1);
    const stale = await checkpoints.commit('p', { from: 5, to: 9, generation: 0, writes: [write], parked: [] });
    expect(stale).toEqual({ committed: false, parked: [] });
    expect(await redis.get(key)).toBe('1');
  });

  it('redis: a checkpoint written before generations existed is generation 0', async () => {
    const checkpoints = redisCheckpointStore(redis, { prefix: `${prefix}old:` });
    await redis.hset(`${prefix}old:{p}:checkpoint`, 'position', '7');
    expect(await checkpoints.load('p')).toEqual({ position: 7, generation: 0 });
    expect(await checkpoints.commit('p', { from: 7, to: 9, generation: 0, writes: [], parked: [] })).toEqual({
      committed: true,
      parked: [],
    });
    expect(await checkpoints.reset('p')).toBe(1);
    expect(await checkpoints.load('p')).toEqual({ position: 0, generation: 1 });
  });

  it('redis: a write that fails parks its event and skips its later writes; the rest commits once', async () => {
    const checkpoints = redisCheckpointStore(redis, { prefix: `${prefix}badwrite:` });
    const key = (suffix: string) => `${prefix}badwrite:{p}:${suffix}`;
    await redis.set(key('text'), 'not a number');
    const [first, bad, last] = [storedEvent(1), storedEvent(2), storedEvent(3)];
    const handlerParked = { event: storedEvent(4), error: 'cannot apply 4', attempts: 3 };
    const batch = {
      from: 0,
      to: 4,
      generation: 0,
      writes: [
        { command: 'incr', key: key('count'), args: [], event: first },
        { command: 'incr', key: key('before'), args: [], event: bad },
        { command: 'incr', key: key('text'), args: [], event: bad },
        { command: 'incr', key: key('after'), args: [], event: bad },
        { command: 'incr', key: key('count'), args: [], event: last },
      ],
      parked: [handlerParked],
    };
    const result = await checkpoints.commit('p', batch);
    const writeParked = { event: bad, error: expect.stringContaining('not an integer'), attempts: 1 };
    expect(result).toEqual({ committed: true, parked: [writeParked] });
    // oldest first: the write of event 2 failed at commit, after the handler of event 4 had thrown
    expect(await checkpoints.parked('p')).toEqual([writeParked, handlerParked]);
    expect((await checkpoints.load('p')).position).toBe(4);
    // Redis cannot undo the event's write before the failing one; the one after it never ran
    expect(await redis.mget(key('count'), key('before'), key('after'))).toEqual(['2', '1', null]);
    expect(await checkpoints.commit('p', batch)).toEqual({ committed: false, parked: [] });
    expect(await redis.mget(key('count'), key('before'))).toEqual(['2', '1']);
  });

  it('memory: ctx.write is refused, and the event parked with that reason', async () => {
    const { memoryEventStore } = await import('../../src/cqrs/event-store/memory');
    const store = memoryEventStore();
    const projection = defineProjection<{ A: null }>({
      name: 'w',
      handlers: { A: (_e, ctx) => ctx.write('incr', 'k') },
    });
    const runner = createProjectionRunner({ store, projections: [projection], retry: { attempts: 1 } });
    runner.start();
    const { position } = await store.append('s', [{ type: 'A' }]);
    await runner.waitFor(position, { timeoutMs: 2_000 });
    await runner.stop();
    expect(await runner.parked('w')).toEqual([
      expect.objectContaining({ error: expect.stringContaining('transactional checkpoint store') }),
    ]);
  });
});

describe('ctx.write bounds', () => {
  it('refuses a write with more arguments than the commit script can unpack: the event is parked, the rest commits', async () => {
    const store = redisEventStore(redis, { prefix: `${prefix}bigES:` });
    const checkpoints = redisCheckpointStore(redis, { prefix: `${prefix}bigCP:` });
    const hashKey = `${prefix}bigCP:{big}:hash`;
    const countKey = `${prefix}bigCP:{big}:count`;
    const projection = defineProjection<{ Big: { fields: number }; Small: null }>({
      name: 'big',
      handlers: {
        Big: (event, ctx) => {
          const args = Array.from({ length: event.data.fields }, (_, i) => [`f${i}`, 'v']).flat();
          ctx.write('hset', hashKey, ...args);
        },
        Small: (_event, ctx) => ctx.write('incr', countKey),
      },
    });
    const events: ProjectionRunnerEvent[] = [];
    const runner = createProjectionRunner({
      store,
      checkpoints,
      projections: [projection],
      pollMs: 20,
      retry: { attempts: 2, backoff: { initialMs: 1, maxMs: 2 } },
      onEvent: (event) => events.push(event),
    });
    runner.start();
    try {
      // one batch: 10 000 arguments (too many), then 7 000 (the bound), small writes around them
      const { position } = await store.append('s', [
        { type: 'Small' },
        { type: 'Big', data: { fields: 5_000 } },
        { type: 'Small' },
        { type: 'Big', data: { fields: 3_500 } },
        { type: 'Small' },
      ]);
      await runner.waitFor(position, { timeoutMs: 3_000 });
    } finally {
      await runner.stop();
    }
    expect(await runner.parked('big')).toEqual([
      {
        event: expect.objectContaining({ position: 2, type: 'Big' }),
        error: expect.stringContaining('at most 7000 arguments'),
        attempts: 2,
      },
    ]);
    expect(await redis.hlen(hashKey)).toBe(3_500);
    expect(await redis.get(countKey)).toBe('3');
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });
});

describe('ctx.write after the handler settled', () => {
  it('throws ERR_CQRS_HANDLER instead of dropping the write without a word', async () => {
    const store = redisEventStore(redis, { prefix: `${prefix}lateES:` });
    const checkpoints = redisCheckpointStore(redis, { prefix: `${prefix}lateCP:` });
    const countKey = `${prefix}lateCP:{late}:count`;
    const late: unknown[] = [];
    let written = 0;
    const projection = defineProjection<{ A: null }>({
      name: 'late',
      handlers: {
        // the classic slip: work started and not awaited (forEach(async ...), a missing await)
        A: (_event, ctx) => {
          void sleep(30).then(() => {
            try {
              ctx.write('incr', countKey);
              written++;
            } catch (error) {
              late.push(error);
            }
          });
        },
      },
    });
    const runner = createProjectionRunner({ store, checkpoints, projections: [projection], pollMs: 10 });
    runner.start();
    try {
      const { position } = await store.append('s', [{ type: 'A' }, { type: 'A' }]);
      await runner.waitFor(position, { timeoutMs: 3_000 });
      await sleep(100);
    } finally {
      await runner.stop();
    }
    // the batch committed without those writes: they can only be refused, loudly
    expect(await redis.get(countKey)).toBeNull();
    expect(written).toBe(0);
    expect(late).toHaveLength(2);
    expect(late[0]).toMatchObject({ code: 'ERR_CQRS_HANDLER', message: expect.stringContaining('settled') });
  });
});

describe('rebuild fencing', () => {
  it('a runner that lost its lease mid-batch cannot commit that batch into a rebuilt read model', async () => {
    const store = redisEventStore(redis, { prefix: `${prefix}staleES:` });
    const checkpoints = redisCheckpointStore(redis, { prefix: `${prefix}staleCP:` });
    const countKey = `${prefix}staleCP:{stale}:count`;
    const held = gate();
    const staleProjection = defineProjection<{ A: null }>({
      name: 'stale',
      handlers: {
        A: async (event, ctx) => {
          if (event.position === 11) {
            held.entered();
            await held.opened;
          }
          ctx.write('incr', countKey);
        },
      },
    });
    let staleCommitted!: (event: ProjectionRunnerEvent) => void;
    const staleOutcome = new Promise<ProjectionRunnerEvent>((resolve) => {
      staleCommitted = resolve;
    });
    const stale = createProjectionRunner({
      store,
      checkpoints,
      projections: [staleProjection],
      pollMs: 10,
      leaseMs: 50,
      owner: 'stale',
      onEvent: (event) => {
        if ((event.type === 'batch' || event.type === 'conflict') && event.from === 10) staleCommitted(event);
      },
    });
    const ten = Array.from({ length: 10 }, () => ({ type: 'A' }));
    await store.append('s', ten);
    stale.start();
    try {
      await stale.waitFor(10, { timeoutMs: 2_000 });
      await store.append('s', ten);
      await held.reached;
      // the stale runner holds events 11..20 past its lease, as a paused process would
      await sleep(80);
      const admin = createProjectionRunner({
        store,
        checkpoints,
        owner: 'admin',
        projections: [
          defineProjection<{ A: null }>({
            name: 'stale',
            handlers: { A: (_event, ctx) => ctx.write('incr', countKey) },
            reset: async () => {
              await redis.del(countKey);
              // the stale runner wakes up and commits while the read model is empty
              held.open();
              expect(await staleOutcome).toMatchObject({ type: 'conflict' });
            },
          }),
        ],
      });
      await admin.rebuild('stale');
    } finally {
      held.open();
      await stale.stop();
    }
    expect((await checkpoints.load('stale')).position).toBe(20);
    expect(await redis.get(countKey)).toBe('20');
  });
});

describe('ctx.write refused by Redis', () => {
  it('parks the event with the Redis error, applies the other events once, and moves on', async () => {
    const store = redisEventStore(redis, { prefix: `${prefix}wrongES:` });
    const checkpoints = redisCheckpointStore(redis, { prefix: `${prefix}wrongCP:` });
    const countKey = `${prefix}wrongCP:{wrong}:count`;
    const listKey = `${prefix}wrongCP:{wrong}:list`;
    await redis.rpush(listKey, 'x');
    const projection = defineProjection<{ A: null; B: null }>({
      name: 'wrong',
      handlers: {
        A: (_event, ctx) => ctx.write('incr', countKey),
        B: (_event, ctx) => {
          ctx.write('incr', countKey);
          ctx.write('hset', listKey, 'f', 'v');
        },
      },
    });
    const events: ProjectionRunnerEvent[] = [];
    const runner = createProjectionRunner({
      store,
      checkpoints,
      projections: [projection],
      pollMs: 10,
      onEvent: (event) => events.push(event),
    });
    runner.start();
    try {
      const { position } = await store.append('s', [{ type: 'A' }, { type: 'B' }, { type: 'A' }]);
      await runner.waitFor(position, { timeoutMs: 2_000 });
      // several polls: a batch that did not commit would be retried, and its writes repeated
      await sleep(100);
    } finally {
      await runner.stop();
    }
    expect((await checkpoints.load('wrong')).position).toBe(3);
    // the two A events once each, and B's write before its failing one: Redis cannot undo it
    expect(await redis.get(countKey)).toBe('3');
    expect(await redis.lrange(listKey, 0, -1)).toEqual(['x']);
    expect(await runner.parked('wrong')).toEqual([
      {
        event: expect.objectContaining({ position: 2, type: 'B' }),
        error: expect.stringContaining('WRONGTYPE'),
        attempts: 1,
      },
    ]);
    expect(events.filter((e) => e.type === 'parked')).toEqual([
      {
        type: 'parked',
        projection: 'wrong',
        event: expect.objectContaining({ position: 2 }),
        attempts: 1,
        error: expect.objectContaining({ code: 'ERR_CQRS_STORE', message: expect.stringContaining('WRONGTYPE') }),
      },
    ]);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    expect(events.filter((e) => e.type === 'batch')).toEqual([
      { type: 'batch', projection: 'wrong', from: 0, to: 3, applied: 2 },
    ]);
  });

  it('lists the parked events of a batch oldest first, whether a handler threw or Redis refused a write', async () => {
    const store = redisEventStore(redis, { prefix: `${prefix}orderES:` });
    const checkpoints = redisCheckpointStore(redis, { prefix: `${prefix}orderCP:` });
    const countKey = `${prefix}orderCP:{order}:count`;
    const listKey = `${prefix}orderCP:{order}:list`;
    await redis.rpush(listKey, 'x');
    const projection = defineProjection<{ Ok: null; BadWrite: null; Throws: null }>({
      name: 'order',
      handlers: {
        Ok: (_event, ctx) => ctx.write('incr', countKey),
        BadWrite: (_event, ctx) => ctx.write('hset', listKey, 'f', 'v'),
        Throws: () => {
          throw new Error('handler failed');
        },
      },
    });
    const runner = createProjectionRunner({
      store,
      checkpoints,
      projections: [projection],
      pollMs: 10,
      retry: { attempts: 1 },
    });
    runner.start();
    try {
      const types = ['Ok', 'BadWrite', 'Throws', 'BadWrite', 'Ok', 'Throws', 'Throws', 'BadWrite', 'BadWrite'];
      const batch = types.map((type) => ({ type }));
      const { position } = await store.append('s', batch);
      await runner.waitFor(position, { timeoutMs: 2_000 });
    } finally {
      await runner.stop();
    }
    const parked = await runner.parked('order');
    expect(parked.map(({ event }) => [event.position, event.type])).toEqual([
      [2, 'BadWrite'],
      [3, 'Throws'],
      [4, 'BadWrite'],
      [6, 'Throws'],
      [7, 'Throws'],
      [8, 'BadWrite'],
      [9, 'BadWrite'],
    ]);
    expect(await redis.get(countKey)).toBe('2');
  });
});

describe('projection typing', () => {
  it('types each handler by its event type, and refuses handlers for unknown types', () => {
    type Events = { OrderPlaced: { customerId: string }; OrderPaid: { amount: number } };
    const projection = defineProjection<Events>({
      name: 'typed',
      handlers: {
        OrderPlaced: (event) => {
          expectTypeOf(event.data).toEqualTypeOf<{ customerId: string }>();
          expectTypeOf(event.type).toEqualTypeOf<'OrderPlaced'>();
        },
        OrderPaid: (event) => {
          expectTypeOf(event.data.amount).toEqualTypeOf<number>();
        },
      },
    });
    expect(projection.eventTypes).toEqual(['OrderPlaced', 'OrderPaid']);
    defineProjection<Events>({
      name: 'typo',
      // @ts-expect-error: no such event type
      handlers: { OrderShipped: () => undefined },
    });
  });
});

describe('bad definitions and options', () => {
  it('defineProjection and createProjectionRunner refuse bad input', async () => {
    const { memoryEventStore } = await import('../../src/cqrs/event-store/memory');
    const store = memoryEventStore();
    const ok = defineProjection({ name: 'ok', handlers: {} });
    const input = expect.objectContaining({ code: 'ERR_CQRS_INPUT' });
    const options = expect.objectContaining({ code: 'ERR_CQRS_OPTIONS' });
    expect(() => defineProjection({ name: '', handlers: {} })).toThrow(input);
    expect(() => defineProjection({ name: 'a{b}', handlers: {} })).toThrow(input);
    expect(() => defineProjection({ name: 'x', handlers: null as never })).toThrow(input);
    expect(() => defineProjection({ name: 'x', handlers: { A: 1 as never } })).toThrow(input);
    expect(() => createProjectionRunner({ store, projections: [] })).toThrow(options);
    expect(() => createProjectionRunner({ store: {} as never, projections: [ok] })).toThrow(options);
    expect(() => createProjectionRunner({ store, projections: [ok, ok] })).toThrow(options);
    expect(() => createProjectionRunner({ store, projections: [{ name: 'raw' } as never] })).toThrow(options);
    expect(() => createProjectionRunner({ store, projections: [ok], batchSize: 0 })).toThrow(options);
    expect(() => createProjectionRunner({ store, projections: [ok], retry: { attempts: 0 } })).toThrow(options);
    expect(() => createProjectionRunner({ store, projections: [ok], retry: 'twice' as never })).toThrow(options);
    expect(() => createProjectionRunner({ store, projections: [ok], retry: { backoff: 'slow' as never } })).toThrow(
      options,
    );
    expect(() => createProjectionRunner({ store, projections: [ok], retry: { backoff: { initialMs: -1 } } })).toThrow(
      options,
    );
  });
});
