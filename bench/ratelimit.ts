// patchbay/ratelimit beside rate-limiter-flexible (RateLimiterMemory / RateLimiterRedis), same
// run, same keys, same Redis. Prints a Markdown table of decisions per second and ratios, Redis
// round trips per decision (from INFO commandstats), and memory per key.
// Run: npm run bench -- ratelimit   (REDIS_URL defaults to redis://127.0.0.1:6379)
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { memoryStore, type RateLimiter, redisStore, slidingWindow, tokenBucket } from 'patchbay/ratelimit';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';

type Decide = (key: string) => Promise<unknown>;

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const ROUNDS = 5;
const SLICE_MS = 700;

// rate-limiter-flexible rejects the promise when a request is over the limit; count it as a
// decision. The handler is made once, so the peer is not charged a closure per call.
const overLimit = (): undefined => undefined;
const rlf =
  (limiter: RateLimiterMemory | RateLimiterRedis): Decide =>
  (key) =>
    limiter.consume(key).catch(overLimit);
const pb =
  (limiter: RateLimiter): Decide =>
  (key) =>
    limiter.consume(key);

/**
 * Decisions per second with `inFlight` concurrent loops over `keys`, for about SLICE_MS. One loop
 * reads the clock every 64 decisions (a clock read costs as much as a memory decision); several
 * loops read it every decision, so none runs far past the deadline. The rate divides by the time
 * actually taken.
 */
async function throughput(decide: Decide, keys: string[], inFlight: number): Promise<number> {
  let count = 0;
  const batch = inFlight === 1 ? 64 : 1;
  const started = performance.now();
  const deadline = started + SLICE_MS;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      let i = lane;
      while (performance.now() < deadline) {
        for (let n = 0; n < batch; n++) {
          await decide(keys[i++ % keys.length]!);
          count++;
        }
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

interface Comparison {
  /** Median throughput of each subject over ROUNDS. */
  rate: Record<string, number>;
  /**
   * Median over ROUNDS of each subject's throughput ÷ the peer's in the same round: the subjects
   * ran back to back, so the ratio cancels most of what the machine's other load did to a round.
   */
  ratio: Record<string, number>;
}

/** Throughput over ROUNDS, the subjects alternating so machine noise hits all of them. */
async function compare(subjects: Record<string, Decide>, keys: string[], inFlight: number): Promise<Comparison> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(subjects)) await throughput(subjects[name]!, keys, inFlight); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, decide] of Object.entries(subjects)) {
      samples[name] ??= [];
      samples[name].push(await throughput(decide, keys, inFlight));
    }
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const entries = Object.entries(samples);
  return {
    rate: Object.fromEntries(entries.map(([name, s]) => [name, median(s)])),
    ratio: Object.fromEntries(entries.map(([name, s]) => [name, median(s.map((v, i) => v / samples.rlf![i]!))])),
  };
}

/** The `addr=` of a CLIENT INFO reply: how MONITOR names that client as the source. */
const clientAddress = (info: unknown): string => /addr=(\S+)/.exec(String(info))?.[1] ?? '';

/**
 * Client round trips per decision: commands the server received from clients while 1 000
 * decisions ran, watched with MONITOR (commands run inside Lua scripts are not round trips).
 */
async function roundTrips(decide: Decide, keys: string[]): Promise<number> {
  for (const key of keys.slice(0, 10)) await decide(key); // scripts loaded
  const address = clientAddress(await redis.client('INFO'));
  const observer = redis.duplicate();
  const watcher = await observer.monitor();
  let commands = 0;
  watcher.on('monitor', (_time: string, _args: string[], source: string) => {
    if (source === address) commands++;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (let i = 0; i < 1_000; i++) await decide(keys[i % keys.length]!);
  await new Promise((resolve) => setTimeout(resolve, 200));
  watcher.disconnect();
  observer.disconnect();
  return commands / 1_000;
}

/**
 * Redis CPU per decision in µs and script calls per decision, from the server's own
 * `INFO commandstats` (usec and calls of the script commands) over 6 400 decisions made
 * `inFlight` at a time: independent of client load, so it travels between machines better than
 * throughput does.
 */
async function redisCost(decide: Decide, keys: string[], inFlight: number): Promise<{ micros: number; calls: number }> {
  for (const key of keys.slice(0, 100)) await decide(key);
  await redis.config('RESETSTAT');
  const decisions = 6_400;
  for (let i = 0; i < decisions; i += inFlight) {
    await Promise.all(Array.from({ length: inFlight }, (_, j) => decide(keys[(i + j) % keys.length]!)));
  }
  const stats = await redis.info('commandstats');
  const [calls, usec] = ['evalsha', 'eval'].reduce(
    ([c, u], name) => {
      const m = new RegExp(`cmdstat_${name}:calls=(\\d+),usec=(\\d+)`).exec(stats);
      return [c + Number(m?.[1] ?? 0), u + Number(m?.[2] ?? 0)];
    },
    [0, 0],
  );
  return { micros: usec / decisions, calls: calls / decisions };
}

function bytesPerKey(make: () => Decide): Promise<number> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  return (async () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const decide = make();
    for (let i = 0; i < 100_000; i++) await decide(`user:${i}`);
    gc();
    const bytes = (process.memoryUsage().heapUsed - before) / 100_000;
    (globalThis as { keep?: unknown }).keep = decide;
    return bytes;
  })();
}

const row = (label: string, { rate, ratio }: Comparison): string =>
  `| ${label} | ${fmt(rate.rlf!)} | ${['log', 'approx', 'bucket'].map((name) => `${fmt(rate[name]!)} (${times(ratio[name]!)})`).join(' | ')} |`;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
const times = (r: number): string => `${r.toFixed(2)}×`;
const keysOf = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag}:${i}`);
const prefix = `pb:bench:${process.pid}:`;
const rows: string[] = [];
const notes: string[] = [];

/**
 * No limiter can beat this on memory: read the clock once and resolve a fresh decision, as both
 * libraries must for every call. Its ratio to the peer is the ceiling of any memory ratio.
 */
const floor: Decide = (_key) =>
  Promise.resolve({ allowed: true, limit: 1, remaining: 1, resetAt: Date.now(), retryAfterMs: 0 });

/**
 * The least any token bucket can do: a Map and two numbers per key, no bound on keys, no input
 * checks, no retry or reset arithmetic. How close it gets to the peer's 2× shows what the clock
 * and the promise leave for everything else.
 */
function minimalBucket(capacity: number, refillPerSecond: number): Decide {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = refillPerSecond / 1000;
  return (key) => {
    const now = Date.now();
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: capacity, at: now };
      buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    return Promise.resolve({
      allowed,
      limit: capacity,
      remaining: Math.floor(bucket.tokens),
      resetAt: now,
      retryAfterMs: 0,
    });
  };
}

// Memory: generous limits so the work is the decision, not the rejection path.
for (const [label, keyCount] of [
  ['memory, 1 key', 1],
  ['memory, 10k keys', 10_000],
] as const) {
  const keys = keysOf(keyCount, 'k');
  const result = await compare(
    {
      rlf: rlf(new RateLimiterMemory({ points: 1_000_000_000, duration: 60 })),
      log: pb(slidingWindow({ limit: 1_000_000_000, windowMs: 60_000, store: memoryStore() })),
      approx: pb(slidingWindow({ limit: 1_000_000_000, windowMs: 60_000, approximate: true, store: memoryStore() })),
      bucket: pb(tokenBucket({ capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 / 60, store: memoryStore() })),
      floor,
      minimal: minimalBucket(1_000_000_000, 1_000_000_000 / 60),
    },
    keys,
    1,
  );
  rows.push(row(label, result));
  notes.push(
    `- ${label}: the floor (a clock read and a resolved decision, no limiting) runs at ${times(result.ratio.floor!)} the peer, a minimal token bucket (a Map, no key bound, no input checks) at ${times(result.ratio.minimal!)}, patchbay's token bucket at ${times(result.ratio.bucket!)}.`,
  );
}

// Memory, over the limit: 10k keys at 100 per minute, most requests denied.
{
  const keys = keysOf(10_000, 'deny');
  const result = await compare(
    {
      rlf: rlf(new RateLimiterMemory({ points: 100, duration: 60 })),
      log: pb(slidingWindow({ limit: 100, windowMs: 60_000 })),
      approx: pb(slidingWindow({ limit: 100, windowMs: 60_000, approximate: true })),
      bucket: pb(tokenBucket({ capacity: 100, refillPerSecond: 100 / 60 })),
    },
    keys,
    1,
  );
  rows.push(row('memory, 10k keys, mostly denied', result));
}

const redisSubjects = (tag: string) => {
  const store = redisStore(redis, { prefix: `${prefix}${tag}:` });
  return {
    rlf: rlf(
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}rlf${tag}`,
        points: 1_000_000_000,
        duration: 60,
      }),
    ),
    log: pb(slidingWindow({ limit: 1_000_000_000, windowMs: 60_000, store })),
    approx: pb(slidingWindow({ limit: 1_000_000_000, windowMs: 60_000, approximate: true, store })),
    bucket: pb(tokenBucket({ capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 / 60, store })),
  };
};

const trips: Record<string, number> = {};
const cost: Record<number, Record<string, { micros: number; calls: number }>> = { 1: {}, 64: {} };
for (const inFlight of [1, 64]) {
  const keys = keysOf(10_000, `r${inFlight}`);
  const subjects = redisSubjects(String(inFlight));
  const result = await compare(subjects, keys, inFlight);
  rows.push(row(`Redis, ${inFlight} in flight, 10k keys`, result));
  for (const [name, decide] of Object.entries(subjects)) {
    if (inFlight === 1) trips[name] = await roundTrips(decide, keys);
    cost[inFlight]![name] = await redisCost(decide, keys, inFlight);
  }
}
const names = ['rlf', 'log', 'approx', 'bucket'];
rows.push(`| Redis round trips per decision, 1 in flight | ${names.map((n) => trips[n]!.toFixed(2)).join(' | ')} |`);
rows.push(
  `| Redis script calls per decision, 64 in flight | ${names.map((n) => cost[64]![n]!.calls.toFixed(2)).join(' | ')} |`,
);
for (const inFlight of [1, 64]) {
  const c = cost[inFlight]!;
  rows.push(
    `| Redis CPU per decision, µs, ${inFlight} in flight (ratio: peer / patchbay) | ${c.rlf!.micros.toFixed(1)} | ${['log', 'approx', 'bucket'].map((n) => `${c[n]!.micros.toFixed(1)} (${ratio(c.rlf!.micros, c[n]!.micros)})`).join(' | ')} |`,
  );
}

const memory = {
  rlf: await bytesPerKey(() => rlf(new RateLimiterMemory({ points: 10, duration: 60 }))),
  log: await bytesPerKey(() =>
    pb(slidingWindow({ limit: 10, windowMs: 60_000, store: memoryStore({ maxKeys: 200_000 }) })),
  ),
  approx: await bytesPerKey(() =>
    pb(slidingWindow({ limit: 10, windowMs: 60_000, approximate: true, store: memoryStore({ maxKeys: 200_000 }) })),
  ),
  bucket: await bytesPerKey(() =>
    pb(tokenBucket({ capacity: 10, refillPerSecond: 1, store: memoryStore({ maxKeys: 200_000 }) })),
  ),
};
rows.push(
  `| memory per key (bytes, 100k keys) | ${fmt(memory.rlf)} | ${fmt(memory.log)} | ${fmt(memory.approx)} | ${fmt(memory.bucket)} |`,
);

// Every decision of either library reads the clock once: what that costs on this machine bounds
// every memory ratio (a VM without a fast clock source can make it most of a decision).
const clockNs = ((): number => {
  let sink = 0;
  const reads = 2_000_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) sink += Date.now();
  // the sum keeps the reads from being optimized away
  if (sink === 0) throw new Error('Date.now() returned 0');
  return Number(process.hrtime.bigint() - started) / reads;
})();
notes.push(
  `- One \`Date.now()\` costs ${clockNs.toFixed(0)} ns on this machine; both libraries read it once a decision.`,
);

const [redisVersion] = (await redis.info('server')).match(/redis_version:(\S+)/)?.slice(1) ?? ['?'];
await redis.eval(`for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`, 0, `${prefix}*`);
await redis.quit();

console.log(`### ratelimit — ${new Date().toISOString().slice(0, 10)}

${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; Node ${process.version}; Redis ${redisVersion} on 127.0.0.1;
rate-limiter-flexible 11.4.0. Decisions per second (median of ${ROUNDS} alternating ${SLICE_MS} ms slices); ratio = median of the per-round ratios patchbay / rate-limiter-flexible.

| scenario | rate-limiter-flexible | patchbay sliding window (exact log) | patchbay sliding window (approximate) | patchbay token bucket |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}

${notes.join('\n')}
`);
