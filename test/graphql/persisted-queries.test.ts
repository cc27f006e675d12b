import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  memoryPersistedQueryStore,
  type PersistedQueryStore,
  persistedQueries,
  redisPersistedQueryStore,
} from '../../src/graphql/index';
import { connectRedis, testPrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const query = '{ me { id } }';
const hash = sha256(query);
const ext = (sha256Hash: string, version: unknown = 1) => ({ persistedQuery: { version, sha256Hash } });

let redis: Redis;
const prefix = testPrefix(import.meta.url);
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const stores: [string, () => PersistedQueryStore][] = [
  ['memory', () => memoryPersistedQueryStore()],
  ['redis', () => redisPersistedQueryStore(redis, { prefix: `${prefix}${Math.random().toString(36).slice(2)}:` })],
];

describe.each(stores)('APQ with the %s store', (_name, makeStore) => {
  it('hash alone is PERSISTED_QUERY_NOT_FOUND until the query is registered with it', async () => {
    const pq = persistedQueries({ store: makeStore() });
    expect(await pq.resolve({ extensions: ext(hash) })).toEqual({ error: 'PERSISTED_QUERY_NOT_FOUND' });
    expect(await pq.resolve({ query, extensions: ext(hash) })).toEqual({ query });
    expect(await pq.resolve({ extensions: ext(hash) })).toEqual({ query });
    expect(await pq.resolve({ extensions: ext(hash.toUpperCase()) })).toEqual({ query });
  });

  it('verifies the hash on registration: a query under another hash is refused and not stored', async () => {
    const store = makeStore();
    const pq = persistedQueries({ store });
    const other = sha256('{ users { id } }');
    expect(await pq.resolve({ query, extensions: ext(other) })).toEqual({ error: 'PERSISTED_QUERY_HASH_MISMATCH' });
    expect(await store.get(other)).toBeUndefined();
    expect(await pq.resolve({ extensions: ext(other) })).toEqual({ error: 'PERSISTED_QUERY_NOT_FOUND' });
  });

  it('passes plain queries through', async () => {
    expect(await persistedQueries({ store: makeStore() }).resolve({ query })).toEqual({ query });
  });

  it('resolves a query longer than maxQueryLength but does not store it', async () => {
    const store = makeStore();
    const pq = persistedQueries({ store, maxQueryLength: query.length - 1 });
    expect(await pq.resolve({ query, extensions: ext(hash) })).toEqual({ query });
    expect(await store.get(hash)).toBeUndefined();
    expect(await pq.resolve({ extensions: ext(hash) })).toEqual({ error: 'PERSISTED_QUERY_NOT_FOUND' });
  });
});

describe('persisted queries', () => {
  it('redis store: one key per hash with a TTL, hash-tagged under the prefix', async () => {
    const keyPrefix = `${prefix}ttl:`;
    const store = redisPersistedQueryStore(redis, { prefix: keyPrefix, ttlSeconds: 60 });
    await store.set(hash, query);
    const ttl = await redis.ttl(`${keyPrefix}{${hash}}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await store.get(hash)).toBe(query);
  });

  it('redis store: a Redis that does not answer is ERR_GRAPHQL_STORE after timeoutMs, not a hang', async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url);
    client.on('error', () => {});
    try {
      const pq = persistedQueries({ store: redisPersistedQueryStore(client, { prefix, timeoutMs: 200 }) });
      expect(await pq.resolve({ query, extensions: ext(hash) })).toEqual({ query });
      server.pause();
      await expect(pq.resolve({ extensions: ext(hash) })).rejects.toMatchObject({
        code: 'ERR_GRAPHQL_STORE',
        cause: expect.objectContaining({ name: 'TimeoutError' }),
      });
      await expect(pq.resolve({ query, extensions: ext(hash) })).rejects.toMatchObject({ code: 'ERR_GRAPHQL_STORE' });
      server.resume();
      await server.stop(); // down rather than frozen: ioredis would queue the call while it reconnects
      await expect(pq.resolve({ extensions: ext(hash) })).rejects.toMatchObject({ code: 'ERR_GRAPHQL_STORE' });
    } finally {
      client.disconnect();
      await server.stop();
    }
  }, 5_000);

  it('memory store keeps the maxEntries most recently used', async () => {
    const store = memoryPersistedQueryStore({ maxEntries: 2 });
    await store.set('a', 'A');
    await store.set('b', 'B');
    await store.get('a');
    await store.set('c', 'C');
    expect([await store.get('a'), await store.get('b'), await store.get('c')]).toEqual(['A', undefined, 'C']);
  });

  it('memory store keeps at most maxTotalLength characters, evicting the least recently used', async () => {
    const store = memoryPersistedQueryStore({ maxTotalLength: 10 });
    await store.set('a', 'AAAA');
    await store.set('b', 'BBBB');
    await store.get('a');
    await store.set('c', 'CCCC'); // 12 characters: b, the least recently used, goes
    expect([await store.get('a'), await store.get('b'), await store.get('c')]).toEqual(['AAAA', undefined, 'CCCC']);
    await store.set('d', 'D'.repeat(11)); // longer than the whole store: not kept, nothing evicted
    expect([await store.get('a'), await store.get('c'), await store.get('d')]).toEqual(['AAAA', 'CCCC', undefined]);
    await store.set('a', 'A'.repeat(6)); // replacing a query counts its new length only
    expect([await store.get('a'), await store.get('c')]).toEqual(['A'.repeat(6), 'CCCC']);
  });

  it('allowlist mode: only manifest queries run, by hash or in full', async () => {
    const allowed = '{ me { name } }';
    for (const manifest of [
      { [sha256(allowed)]: allowed },
      {
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: sha256(allowed), body: allowed, name: 'Me', type: 'query' }],
      },
    ]) {
      const pq = persistedQueries({ mode: 'allowlist', manifest });
      expect(await pq.resolve({ extensions: ext(sha256(allowed)) })).toEqual({ query: allowed });
      expect(await pq.resolve({ query: allowed })).toEqual({ query: allowed });
      expect(await pq.resolve({ query })).toEqual({ error: 'PERSISTED_QUERY_NOT_ALLOWED' });
      expect(await pq.resolve({ query, extensions: ext(hash) })).toEqual({ error: 'PERSISTED_QUERY_NOT_ALLOWED' });
      expect(await pq.resolve({ extensions: ext(hash) })).toEqual({ error: 'PERSISTED_QUERY_NOT_ALLOWED' });
      // a listed hash with a different query text is not a way in
      expect(await pq.resolve({ query, extensions: ext(sha256(allowed)) })).toEqual({
        error: 'PERSISTED_QUERY_NOT_ALLOWED',
      });
    }
  });

  it('rejects a manifest whose hash does not match its query, and other bad options', () => {
    const options = [
      { mode: 'allowlist', manifest: { [hash]: '{ users { id } }' } },
      { mode: 'allowlist' },
      // a manifest read from a file that is not one: refused with the code, not a TypeError
      { mode: 'allowlist', manifest: null },
      { mode: 'allowlist', manifest: 'manifest.json' },
      { mode: 'allowlist', manifest: [query] },
      { mode: 'allowlist', manifest: { operations: [null] } },
      { mode: 'allowlist', manifest: { operations: ['x'] } },
      { mode: 'sometimes' },
      { store: {} },
    ];
    for (const o of options) {
      expect(() => persistedQueries(o as never)).toThrow(expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }));
    }
    expect(() => memoryPersistedQueryStore({ maxEntries: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
    );
    expect(() => memoryPersistedQueryStore({ maxTotalLength: 1.5 })).toThrow(
      expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
    );
    expect(() => persistedQueries({ maxQueryLength: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
    );
    expect(() => redisPersistedQueryStore(redis, { ttlSeconds: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
    );
    for (const timeoutMs of [0, Number.NaN, '100']) {
      expect(() => redisPersistedQueryStore(redis, { timeoutMs: timeoutMs as never })).toThrow(
        expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
      );
    }
    // braces in the prefix would become the Cluster hash tag: every query in one slot
    expect(() => redisPersistedQueryStore(redis, { prefix: 'app:{pq}:' })).toThrow(
      expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }),
    );
  });

  it.each([null, 'x', 5])('rejects %j as options with ERR_GRAPHQL_OPTIONS, not a TypeError', (options) => {
    for (const make of [
      () => persistedQueries(options as never),
      () => memoryPersistedQueryStore(options as never),
      () => redisPersistedQueryStore(redis, options as never),
    ]) {
      expect(make).toThrow(expect.objectContaining({ code: 'ERR_GRAPHQL_OPTIONS' }));
    }
  });

  it('reads a GET request: extensions as a JSON string, in apq and allowlist mode', async () => {
    // what Apollo Client sends with useGETForHashedQueries: every parameter is a string
    const get = (params: Record<string, string>) =>
      Object.fromEntries(new URL(`http://api.test/graphql?${new URLSearchParams(params)}`).searchParams);
    const extensions = JSON.stringify(ext(hash));
    const pq = persistedQueries();
    expect(await pq.resolve(get({ extensions }))).toEqual({ error: 'PERSISTED_QUERY_NOT_FOUND' });
    expect(await pq.resolve(get({ query, extensions }))).toEqual({ query });
    expect(await pq.resolve(get({ extensions }))).toEqual({ query });
    expect(await pq.resolve(get({ query: '{ users { id } }', extensions }))).toEqual({
      error: 'PERSISTED_QUERY_HASH_MISMATCH',
    });
    const allowlist = persistedQueries({ mode: 'allowlist', manifest: { [hash]: query } });
    expect(await allowlist.resolve(get({ extensions }))).toEqual({ query });
    for (const bad of ['{not json', '[]', '42']) {
      await expect(pq.resolve(get({ query, extensions: bad })), bad).rejects.toMatchObject({
        code: 'ERR_GRAPHQL_PERSISTED_QUERY',
      });
    }
  });

  it('rejects malformed bodies with ERR_GRAPHQL_PERSISTED_QUERY', async () => {
    const pq = persistedQueries();
    for (const body of [
      { extensions: ext(hash, 2) },
      { extensions: ext('abc') },
      { query: 42 },
      {},
      null,
      { query, extensions: 42 },
      { query, extensions: [ext(hash)] },
    ]) {
      await expect(pq.resolve(body as never), JSON.stringify(body)).rejects.toMatchObject({
        code: 'ERR_GRAPHQL_PERSISTED_QUERY',
      });
    }
  });

  it('a failing store is ERR_GRAPHQL_STORE with the cause', async () => {
    const cause = new Error('down');
    const pq = persistedQueries({ store: { get: () => Promise.reject(cause), set: () => Promise.reject(cause) } });
    await expect(pq.resolve({ extensions: ext(hash) })).rejects.toMatchObject({ code: 'ERR_GRAPHQL_STORE', cause });
  });
});
