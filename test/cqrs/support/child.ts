/**
 * Source of a runner process for `runIsolated`: one Redis event store, a Redis checkpoint store,
 * and `PROJECTIONS` counting projections whose read model writes go through `ctx.write`
 * (committed with the checkpoint) plus one direct `INCR` per event (committed on its own, so it
 * shows redelivery). It runs until every projection reached `HEAD`, then stops and exits, printing
 * one JSON line of what it applied. `KILL_AT` makes it SIGKILL itself while handling that position;
 * `DELAY_MS` slows each event down.
 */
export const runnerProcess = `
import { Redis } from 'ioredis';
import { createProjectionRunner, defineProjection, redisCheckpointStore, redisEventStore } from './src/cqrs/index.ts';

const env = process.env;
const redis = new Redis(env.REDIS_URL);
const prefix = env.PREFIX;
const killAt = Number(env.KILL_AT ?? 0);
const delayMs = Number(env.DELAY_MS ?? 0);
const names = Array.from({ length: Number(env.PROJECTIONS ?? 1) }, (_, i) => 'orders' + i);
const projections = names.map((name) =>
  defineProjection({
    name,
    handlers: {
      OrderPlaced: async (event, ctx) => {
        await redis.incr(prefix + '{' + name + '}:direct');
        ctx.write('hincrby', prefix + '{' + name + '}:counts', event.data.customerId, 1);
        ctx.write('incr', prefix + '{' + name + '}:writes');
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (event.position === killAt) process.kill(process.pid, 'SIGKILL');
      },
    },
  }),
);
const applied = {};
const leases = [];
const runner = createProjectionRunner({
  store: redisEventStore(redis, { prefix: prefix + 'es:' }),
  checkpoints: redisCheckpointStore(redis, { prefix }),
  projections,
  batchSize: Number(env.BATCH ?? 50),
  leaseMs: Number(env.LEASE_MS ?? 1000),
  pollMs: 20,
  owner: env.OWNER,
  onEvent: (event) => {
    if (event.type === 'batch') applied[event.projection] = (applied[event.projection] ?? 0) + event.applied;
    if (event.type === 'lease-acquired') leases.push([event.projection, event.checkpoint]);
    if (event.type === 'error') console.error(event.error);
  },
});
runner.start();
await runner.waitFor(Number(env.HEAD), { timeoutMs: 20000 });
await runner.stop();
await redis.quit();
console.log(JSON.stringify({ applied, leases }));
`;
