import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineScript, redisKey } from '../../src/core/redis-script';
import { roundTrips } from '../support/monitor';
import { connectRedis, testPrefix } from '../support/redis';
import { type RedisServer, startRedisServer } from '../support/redis-server';

const prefix = testPrefix(import.meta.url);
const incrBy = defineScript({
  name: 'incrBy',
  lua: "local v = redis.call('INCRBY', KEYS[1], ARGV[1]); redis.call('PEXPIRE', KEYS[1], 60000); return v",
  keys: 1,
});

let redis: Redis;
let observer: Redis;

beforeAll(async () => {
  redis = await connectRedis();
  observer = await connectRedis();
});

afterAll(async () => {
  await redis?.quit();
  await observer?.quit();
});

const monitor = (fn: () => Promise<unknown>): Promise<string[]> => roundTrips(redis, observer, fn);

describe('defineScript', () => {
  it('computes the SHA1 that Redis itself computes', async () => {
    expect(await redis.script('LOAD', incrBy.lua)).toBe(incrBy.sha);
  });

  it('runs with exactly one EVALSHA round trip once the script is cached', async () => {
    const key = `${prefix}warm`;
    await incrBy.run(redis, [key], [1]);
    const commands = await monitor(() => incrBy.run(redis, [key], [2]));
    expect(commands).toEqual(['evalsha']);
    expect(await redis.get(key)).toBe('3');
  });

  it('passes through script errors other than NOSCRIPT', async () => {
    const broken = defineScript({ name: 'broken', lua: "return redis.call('NOPE')", keys: 0 });
    await expect(broken.run(redis, [], [])).rejects.toThrow(/Unknown Redis command|unknown command/i);
  });

  it("runs a script declared with keys: 'any' with however many keys a call passes", async () => {
    const count = defineScript({ name: 'count', lua: 'return #KEYS', keys: 'any' });
    expect(await count.run(redis, [], [])).toBe(0);
    expect(await count.run(redis, [`${prefix}a`, `${prefix}b`, `${prefix}c`], ['x'])).toBe(3);
    expect(await roundTrips(redis, observer, () => count.run(redis, [`${prefix}a`], []))).toEqual(['evalsha']);
  });

  it('rejects a wrong number of keys with ERR_REDIS_SCRIPT before touching Redis', async () => {
    await expect(incrBy.run(redis, [], [1])).rejects.toMatchObject({ code: 'ERR_REDIS_SCRIPT' });
  });
});

describe('defineScript on a server that loses its script cache', () => {
  // SCRIPT FLUSH runs on a server this file owns: on the shared Redis it would turn other
  // files' single EVALSHA into EVALSHA + EVAL while they count round trips
  let server: RedisServer;
  let own: Redis;
  let ownObserver: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    own = new Redis(server.url);
    ownObserver = new Redis(server.url);
  });

  afterAll(async () => {
    own?.disconnect();
    ownObserver?.disconnect();
    await server?.stop();
  });

  it('recovers from NOSCRIPT after the server lost its script cache', async () => {
    const key = `${prefix}flushed`;
    await incrBy.run(own, [key], [1]);
    await own.script('FLUSH');
    const commands = await roundTrips(own, ownObserver, async () => {
      expect(await incrBy.run(own, [key], [5])).toBe(6);
    });
    expect(commands).toEqual(['evalsha', 'eval']);
    // EVAL cached it again: the next call is a single EVALSHA
    expect(await roundTrips(own, ownObserver, () => incrBy.run(own, [key], [1]))).toEqual(['evalsha']);
  });
});

describe('redisKey', () => {
  it('hash-tags the id so every key of one id maps to one cluster slot', async () => {
    const base = redisKey('pb:rl:', 'user:42');
    const tokens = redisKey('pb:rl:', 'user:42', 'tokens');
    expect(base).toBe('pb:rl:{user:42}');
    expect(tokens).toBe('pb:rl:{user:42}:tokens');
    const slots = await Promise.all(
      [base, tokens].map((key) => redis.call('CLUSTER', 'KEYSLOT', key).catch(() => null)),
    );
    if (slots[0] !== null) expect(slots[0]).toBe(slots[1]);
  });
});
