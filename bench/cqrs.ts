// patchbay/cqrs: bus overhead beside a bare function call, appends per second and projection
// catch-up events per second on memory and Redis, same run. No CQRS library is the common peer
// for a typed in-process bus, so the baseline is calling the handler directly.
// Run: npm run bench -- cqrs   (REDIS_URL defaults to redis://127.0.0.1:6379)
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import {
  createCommandBus,
  createProjectionRunner,
  defineProjection,
  type EventStore,
  type Middleware,
  memoryCheckpointStore,
  memoryEventStore,
  redisCheckpointStore,
  redisEventStore,
} from 'patchbay/cqrs';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `pb:bench:cqrs:${process.pid}:`;
const ROUNDS = 5;
const median = (samples: number[]): number => samples.sort((a, b) => a - b)[samples.length >> 1]!;
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// 1. Bus: µs per command, through 3 pass-through middlewares, beside awaiting the handler directly
type Commands = { Add: { input: { a: number; b: number }; result: number } };
const handler = async ({ a, b }: { a: number; b: number }): Promise<number> => a + b;
const passThrough: Middleware = (_ctx, next) => next();
const bus3 = createCommandBus<Commands>({ middleware: [passThrough, passThrough, passThrough] });
bus3.register('Add', handler);
const bus0 = createCommandBus<Commands>();
bus0.register('Add', handler);

const CALLS = 200_000;
async function perCallUs(call: (i: number) => Promise<number>): Promise<number> {
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) sink += await call(i);
  const us = ((performance.now() - started) * 1000) / CALLS;
  if (sink < 0) console.log(sink);
  return us;
}
const subjects: Record<string, (i: number) => Promise<number>> = {
  bare: (i) => handler({ a: i, b: 1 }),
  bus0: (i) => bus0.execute('Add', { a: i, b: 1 }),
  bus3: (i) => bus3.execute('Add', { a: i, b: 1 }),
};
const busSamples: Record<string, number[]> = { bare: [], bus0: [], bus3: [] };
for (const call of Object.values(subjects)) await perCallUs(call); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, call] of Object.entries(subjects)) busSamples[name]!.push(await perCallUs(call));
}
const bare = median(busSamples.bare!);
const bus0us = median(busSamples.bus0!);
const bus3us = median(busSamples.bus3!);

// 2. Appends per second: one event per append, expectedVersion checked, `lanes` streams in flight
async function appendsPerSecond(store: EventStore, lanes: number, perLane: number, eventsPerAppend: number) {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let version = 0; version < perLane; version += eventsPerAppend) {
        const events = Array.from({ length: eventsPerAppend }, (_, i) => ({
          type: 'OrderPlaced',
          data: { orderId: `${lane}-${version + i}`, customerId: `c${lane % 10}`, total: 10 },
        }));
        await store.append(`lane-${lane}`, events, { expectedVersion: version });
      }
    }),
  );
  return (lanes * perLane) / ((performance.now() - started) / 1000);
}
let storeId = 0;
const freshRedisStore = (): EventStore => redisEventStore(redis, { prefix: `${prefix}es${storeId++}:` });
const appendRows: string[] = [];
for (const [label, make, lanes, perLane, batch] of [
  ['memory, 1 stream, 1 event/append', () => memoryEventStore(), 1, 50_000, 1],
  ['Redis, 1 stream, 1 event/append', freshRedisStore, 1, 5_000, 1],
  ['Redis, 16 streams in flight, 1 event/append', freshRedisStore, 16, 1_000, 1],
  ['Redis, 16 streams in flight, 10 events/append', freshRedisStore, 16, 2_000, 10],
] as const) {
  const samples: number[] = [];
  for (let round = 0; round < 3; round++) samples.push(await appendsPerSecond(make(), lanes, perLane, batch));
  appendRows.push(`| ${label} | ${fmt(median(samples))} |`);
}

// 3. Projection catch-up: events per second from checkpoint 0 to the head of a prefilled log
async function prefill(store: EventStore, n: number): Promise<number> {
  let head = 0;
  for (let i = 0; i < n; i += 500) {
    const events = Array.from({ length: 500 }, (_, j) => ({
      type: 'OrderPlaced',
      data: { orderId: String(i + j), customerId: `c${(i + j) % 100}`, total: 10 },
    }));
    ({ position: head } = await store.append(`bulk-${i}`, events));
  }
  return head;
}
type Placed = { OrderPlaced: { orderId: string; customerId: string; total: number } };
async function catchUp(
  store: EventStore,
  head: number,
  checkpoints: ReturnType<typeof memoryCheckpointStore>,
  batchSize: number,
  transactional: boolean,
) {
  const counts = new Map<string, number>();
  const name = `catch-up-${storeId++}`;
  const projection = defineProjection<Placed>({
    name,
    handlers: {
      OrderPlaced: ({ data }, ctx) => {
        if (transactional) ctx.write('hincrby', `${prefix}{${name}}:counts`, data.customerId, 1);
        else counts.set(data.customerId, (counts.get(data.customerId) ?? 0) + 1);
      },
    },
  });
  const runner = createProjectionRunner({ store, projections: [projection], checkpoints, batchSize });
  const started = performance.now();
  runner.start();
  await runner.waitFor(head, { timeoutMs: 120_000 });
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  return head / seconds;
}
const memoryStore = memoryEventStore();
const memoryHead = await prefill(memoryStore, 200_000);
const redisStore = freshRedisStore();
const redisHead = await prefill(redisStore, 50_000);
const catchUpRows: string[] = [];
for (const [label, store, head, onRedis, batchSize, transactional] of [
  ['memory store, memory checkpoints, batch 256', memoryStore, memoryHead, false, 256, false],
  ['Redis store, Redis checkpoints, in-process read model, batch 256', redisStore, redisHead, true, 256, false],
  ['Redis store, Redis checkpoints, in-process read model, batch 1000', redisStore, redisHead, true, 1_000, false],
  ['Redis store, Redis checkpoints, ctx.write read model, batch 256', redisStore, redisHead, true, 256, true],
  ['Redis store, Redis checkpoints, ctx.write read model, batch 1000', redisStore, redisHead, true, 1_000, true],
] as const) {
  const samples: number[] = [];
  for (let round = 0; round < 3; round++) {
    const checkpoints = onRedis
      ? redisCheckpointStore(redis, { prefix: `${prefix}cp${storeId++}:` })
      : memoryCheckpointStore();
    samples.push(await catchUp(store, head, checkpoints, batchSize, transactional));
  }
  catchUpRows.push(`| ${label} | ${fmt(head)} | ${fmt(median(samples))} |`);
}

const [redisVersion] = (await redis.info('server')).match(/redis_version:(\S+)/)?.slice(1) ?? ['?'];
let cursor = '0';
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
  cursor = next;
  if (keys.length > 0) await redis.del(...keys);
} while (cursor !== '0');
await redis.quit();

console.log(`### cqrs — ${new Date().toISOString().slice(0, 10)}

${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; Node ${process.version}; Redis ${redisVersion} on 127.0.0.1; median of ${ROUNDS} rounds (bus) or 3 (stores)

Command bus, ${fmt(CALLS)} sequential awaited commands per round

| path | µs per command | commands/s | overhead over a bare call, µs | ratio / bare |
| --- | ---: | ---: | ---: | ---: |
| bare \`await handler(input)\` | ${fmt(bare, 3)} | ${fmt(1e6 / bare)} | — | 1.00× |
| bus, no middleware | ${fmt(bus0us, 3)} | ${fmt(1e6 / bus0us)} | ${fmt(bus0us - bare, 3)} | ${(bus0us / bare).toFixed(2)}× |
| bus, 3 middlewares | ${fmt(bus3us, 3)} | ${fmt(1e6 / bus3us)} | ${fmt(bus3us - bare, 3)} | ${(bus3us / bare).toFixed(2)}× |

Appends (each with \`expectedVersion\`)

| store | events/s |
| --- | ---: |
${appendRows.join('\n')}

Projection catch-up from position 0 to the head

| setup | events | events/s |
| --- | ---: | ---: |
${catchUpRows.join('\n')}
`);
