import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { redisEventStore } from '../../src/cqrs/event-store/redis-streams';
import { runIsolated } from '../support/isolated';
import { connectRedis, deleteKeys, redisUrl, testPrefix } from '../support/redis';
import { runnerProcess } from './support/child';

const prefix = testPrefix(import.meta.url);
let redis: Redis;

beforeAll(async () => {
  redis = await connectRedis();
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis?.quit();
});

let run = 0;

/** A fresh prefix with `n` OrderPlaced events for customers c0..c4 in its event store; returns the head. */
async function seed(n: number): Promise<{ p: string; head: number }> {
  const p = `${prefix}${run++}:`;
  const store = redisEventStore(redis, { prefix: `${p}es:` });
  let head = 0;
  for (let i = 0; i < n; i += 25) {
    const events = Array.from({ length: Math.min(25, n - i) }, (_, j) => ({
      type: 'OrderPlaced',
      data: { customerId: `c${(i + j) % 5}` },
    }));
    ({ position: head } = await store.append(`order-${i}`, events));
  }
  return { p, head };
}

async function readModel(p: string, name: string) {
  const counts = Object.fromEntries(
    Object.entries(await redis.hgetall(`${p}{${name}}:counts`)).map(([k, v]) => [k, Number(v)]),
  );
  return {
    counts,
    writes: Number(await redis.get(`${p}{${name}}:writes`)),
    direct: Number(await redis.get(`${p}{${name}}:direct`)),
  };
}

const fifth = (n: number) => ({ c0: n / 5, c1: n / 5, c2: n / 5, c3: n / 5, c4: n / 5 });
const env = (p: string, head: number, extra: Record<string, string> = {}) => ({
  REDIS_URL: redisUrl(),
  PREFIX: p,
  HEAD: String(head),
  ...extra,
});

describe('runner processes on one Redis', () => {
  it('a runner killed mid-batch and restarted applies each event exactly once to the read model', async () => {
    const { p, head } = await seed(300);
    // batches of 50: 1-50 and 51-100 commit, the process dies while handling 120
    const killed = await runIsolated(runnerProcess, { env: env(p, head, { KILL_AT: '120' }), exitWithinMs: 15_000 });
    expect(killed.hung).toBe(false);
    expect(killed.code).toBeNull();
    expect(await redis.hget(`${p}{orders0}:checkpoint`, 'position')).toBe('100');
    expect(await readModel(p, 'orders0')).toEqual({ counts: fifth(100), writes: 100, direct: 120 });

    // the dead runner's lease expires after LEASE_MS; the restarted one takes over from 100
    const restarted = await runIsolated(runnerProcess, { env: env(p, head), exitWithinMs: 15_000 });
    expect(restarted).toMatchObject({ code: 0, hung: false });
    expect(JSON.parse(restarted.stdout)).toEqual({ applied: { orders0: 200 }, leases: [['orders0', 100]] });
    const model = await readModel(p, 'orders0');
    // ctx.write commits with the checkpoint: exactly once. The direct INCR is at-least-once: 101-120 ran twice.
    expect(model).toEqual({ counts: fifth(300), writes: 300, direct: 320 });
  });

  it('two runner processes share the projections: each event applied once, by one of them', async () => {
    const { p, head } = await seed(500);
    const projections = 4;
    const results = await Promise.all(
      ['a', 'b'].map((owner) =>
        runIsolated(runnerProcess, {
          env: env(p, head, { OWNER: owner, PROJECTIONS: String(projections), LEASE_MS: '10000' }),
          exitWithinMs: 20_000,
        }),
      ),
    );
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0, hung: false });
    const reports = results.map((r) => JSON.parse(r.stdout) as { applied: Record<string, number> });
    for (let i = 0; i < projections; i++) {
      const name = `orders${i}`;
      expect(await readModel(p, name)).toEqual({ counts: fifth(500), writes: 500, direct: 500 });
      const appliedBy = reports.map((r) => r.applied[name] ?? 0);
      // one lease per projection: all of its events went through one process
      expect(appliedBy.sort((x, y) => x - y)).toEqual([0, 500]);
    }
  });

  it('when the process holding a projection dies, the other takes it over from its checkpoint', async () => {
    const { p, head } = await seed(300);
    const first = runIsolated(runnerProcess, {
      env: env(p, head, { OWNER: 'first', KILL_AT: '150', DELAY_MS: '2' }),
      exitWithinMs: 15_000,
    });
    // start the second runner once the first one is working
    while ((await redis.hget(`${p}{orders0}:checkpoint`, 'position')) === null) await sleep(10);
    const second = runIsolated(runnerProcess, { env: env(p, head, { OWNER: 'second' }), exitWithinMs: 15_000 });
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ code: null, hung: false });
    expect(b, b.stderr).toMatchObject({ code: 0, hung: false });
    expect(JSON.parse(b.stdout)).toEqual({ applied: { orders0: 200 }, leases: [['orders0', 100]] });
    expect(await readModel(p, 'orders0')).toEqual({ counts: fifth(300), writes: 300, direct: 350 });
  });
});

describe('a stopped runner lets its process exit', () => {
  it('memory: start, read-your-writes, stop, and a timed-out waitFor leave nothing running', async () => {
    const result = await runIsolated(
      `
      import { createProjectionRunner, defineProjection, memoryEventStore } from './src/cqrs/index.ts';
      const store = memoryEventStore();
      const seen = [];
      const projection = defineProjection({ name: 'p', handlers: { A: (event) => { seen.push(event.position); } } });
      const runner = createProjectionRunner({ store, projections: [projection], pollMs: 60_000 });
      runner.start();
      const { position } = await store.append('s', [{ type: 'A' }, { type: 'A' }]);
      await runner.waitFor(position, { timeoutMs: 5_000 });
      await runner.stop();
      const idle = createProjectionRunner({ store, projections: [projection] });
      const error = await idle.waitFor(position, { timeoutMs: 100 }).catch((e) => e.code);
      console.log(JSON.stringify({ seen, error }));
      `,
      { exitWithinMs: 5_000 },
    );
    expect(result).toMatchObject({ code: 0, hung: false });
    expect(JSON.parse(result.stdout)).toEqual({ seen: [1, 2], error: 'ERR_TIMEOUT' });
  });

  it('redis: a runner that is stopped, with its client quit, lets the process exit', async () => {
    const { p, head } = await seed(10);
    const result = await runIsolated(runnerProcess, { env: env(p, head, { LEASE_MS: '60000' }), exitWithinMs: 10_000 });
    expect(result).toMatchObject({ code: 0, hung: false });
    // the lease was released on stop, not left to expire
    expect(await redis.exists(`${p}{orders0}:lease`)).toBe(0);
  });
});
