import { createHash } from 'node:crypto';
import { assertNumber, assertOptionsObject, describe } from '../core/assert';
import { PatchbayError } from '../core/errors';
import { defineScript, type RedisScriptClient, redisKey } from '../core/redis-script';
import { withTimeout } from '../core/timeout';
import { optionsError } from './limits';

/**
 * Where registered queries live, by lowercase hex SHA-256 of the query text.
 *
 * @example
 * ```ts
 * const store: PersistedQueryStore = memoryPersistedQueryStore({ maxEntries: 1_000 });
 * await store.set(hash, query);
 * ```
 */
export interface PersistedQueryStore {
  /** The query registered under `hash`, or `undefined`. */
  get(hash: string): Promise<string | undefined>;
  /** Registers `query` under `hash` (already verified to be its SHA-256). */
  set(hash: string, query: string): Promise<void>;
}

/**
 * An allowlist: `{ [sha256Hash]: query }`, or an Apollo persisted query manifest
 * (`{ operations: [{ id, body }] }`, as `generate-persisted-query-manifest` writes it).
 *
 * @example
 * ```ts
 * const manifest: PersistedQueryManifest = { operations: [{ id: hash, body: '{ me { id } }' }] };
 * ```
 */
export type PersistedQueryManifest =
  | Readonly<Record<string, string>>
  | { readonly operations: readonly { readonly id: string; readonly body: string }[] };

/**
 * Options of {@link persistedQueries}.
 *
 * @example
 * ```ts
 * const options: PersistedQueriesOptions = { mode: 'allowlist', manifest };
 * ```
 */
export interface PersistedQueriesOptions {
  /** Registered queries in `apq` mode (default: a {@link memoryPersistedQueryStore}). */
  store?: PersistedQueryStore;
  /** `apq` (default): clients register queries by sending them once. `allowlist`: only the manifest runs. */
  mode?: 'apq' | 'allowlist';
  /** The queries allowed in `allowlist` mode; every hash is verified when the guard is created. */
  manifest?: PersistedQueryManifest;
  /**
   * In `apq` mode, the longest query stored, in characters (default 65 536). A longer query sent
   * with its hash still resolves, but is not stored: registration is open to anyone, and a store
   * that keeps whatever it is sent can be filled with huge queries.
   */
  maxQueryLength?: number;
}

/**
 * The part of a GraphQL-over-HTTP request persisted queries read: a POST body, or the parameters
 * of a GET request, where `extensions` is a JSON string.
 *
 * @example
 * ```ts
 * const body: PersistedQueryBody = { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } };
 * const get: PersistedQueryBody = Object.fromEntries(new URL(req.url, 'http://x').searchParams);
 * ```
 */
export interface PersistedQueryBody {
  query?: string | null | undefined;
  extensions?:
    | { persistedQuery?: { version?: unknown; sha256Hash?: unknown } | null | undefined }
    | string
    | null
    | undefined;
}

/**
 * Why a request was not given a query. `PERSISTED_QUERY_NOT_FOUND` tells an APQ client to send
 * the query with its hash (Apollo clients do this by themselves).
 *
 * @example
 * ```ts
 * const error: PersistedQueryError = 'PERSISTED_QUERY_NOT_FOUND';
 * ```
 */
export type PersistedQueryError =
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_NOT_ALLOWED'
  | 'PERSISTED_QUERY_HASH_MISMATCH';

/**
 * Resolves request bodies to query text, see {@link persistedQueries}.
 *
 * @example
 * ```ts
 * const result = await pq.resolve(body);
 * if ('error' in result) respond(200, { errors: [{ message: result.error, extensions: { code: result.error } }] });
 * ```
 */
export interface PersistedQueries {
  /**
   * The query to run for `body` (a POST body, or a GET request's parameters with `extensions` as
   * a JSON string), or why there is none. Throws `PatchbayError` `ERR_GRAPHQL_PERSISTED_QUERY` on
   * a malformed body (version other than 1, a hash that is not 64 hex digits, a query that is not
   * a string, extensions that are neither an object nor its JSON) and `ERR_GRAPHQL_STORE` when
   * the store fails.
   */
  resolve(body: PersistedQueryBody): Promise<{ query: string } | { error: PersistedQueryError }>;
}

/**
 * Persisted queries. In `apq` mode it speaks Apollo's Automatic Persisted Queries: a body with
 * `extensions.persistedQuery.sha256Hash` (version 1) and no query is looked up
 * (`PERSISTED_QUERY_NOT_FOUND` when unknown); with the query, the hash is verified
 * (`PERSISTED_QUERY_HASH_MISMATCH`) before it is stored. Plain queries pass through. In
 * `allowlist` mode only the manifest's queries run, whether sent by hash or in full;
 * everything else is `PERSISTED_QUERY_NOT_ALLOWED`.
 *
 * @example
 * ```ts
 * import { persistedQueries, redisPersistedQueryStore } from 'patchbay/graphql';
 *
 * const pq = persistedQueries({ store: redisPersistedQueryStore(redis) });
 * const result = await pq.resolve(JSON.parse(rawBody));
 * if ('query' in result) runQuery(result.query);
 * ```
 */
export function persistedQueries(options: PersistedQueriesOptions = {}): PersistedQueries {
  assertOptionsObject(options, 'persistedQueries options', 'ERR_GRAPHQL_OPTIONS');
  const { mode = 'apq', manifest } = options;
  if (mode !== 'apq' && mode !== 'allowlist')
    throw optionsError(`mode must be 'apq' or 'allowlist', got ${describe(mode)}`);
  if (mode === 'allowlist') {
    if (manifest === undefined) throw optionsError("mode 'allowlist' needs a manifest");
    const allowed = readManifest(manifest);
    return {
      async resolve(body) {
        const { query, hash } = readBody(body);
        const known = allowed.get(hash ?? sha256(query ?? ''));
        if (known === undefined || (query !== undefined && query !== known))
          return { error: 'PERSISTED_QUERY_NOT_ALLOWED' };
        return { query: known };
      },
    };
  }
  const store = options.store ?? memoryPersistedQueryStore();
  if (typeof store?.get !== 'function' || typeof store.set !== 'function') {
    throw optionsError('store must have get(hash) and set(hash, query)');
  }
  const { maxQueryLength = 65_536 } = options;
  if (!Number.isInteger(maxQueryLength) || maxQueryLength < 1) {
    throw optionsError('maxQueryLength must be an integer >= 1');
  }
  return {
    async resolve(body) {
      const { query, hash } = readBody(body);
      if (hash === undefined) {
        if (query === undefined) throw inputError('The body has neither a query nor a persisted query hash');
        return { query };
      }
      if (query === undefined) {
        const stored = await storeCall(() => store.get(hash));
        return stored === undefined ? { error: 'PERSISTED_QUERY_NOT_FOUND' } : { query: stored };
      }
      if (sha256(query) !== hash) return { error: 'PERSISTED_QUERY_HASH_MISMATCH' };
      if (query.length <= maxQueryLength) await storeCall(() => store.set(hash, query));
      return { query };
    },
  };
}

function readBody(body: PersistedQueryBody): { query: string | undefined; hash: string | undefined } {
  if (typeof body !== 'object' || body === null) throw inputError('The body must be an object');
  const { query } = body;
  if (query !== undefined && query !== null && typeof query !== 'string') throw inputError('query must be a string');
  const persisted = readExtensions(body.extensions)?.persistedQuery;
  if (persisted === undefined || persisted === null) return { query: query ?? undefined, hash: undefined };
  if (persisted.version !== 1)
    throw inputError(`persistedQuery.version ${String(persisted.version)} is not supported (1 is)`);
  const hash = persisted.sha256Hash;
  if (typeof hash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hash)) {
    throw inputError('persistedQuery.sha256Hash must be 64 hex digits');
  }
  return { query: query ?? undefined, hash: hash.toLowerCase() };
}

// A GET request carries extensions as a JSON string (GraphQL over HTTP); ignored, it would turn
// a hashed GET into a plain request with no query, or run the query without checking its hash.
function readExtensions(
  extensions: PersistedQueryBody['extensions'],
): Exclude<PersistedQueryBody['extensions'], string> {
  let value: unknown = extensions;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw inputError('extensions is a string that is not JSON');
    }
  }
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw inputError(`extensions must be an object or its JSON, got ${describe(value)}`);
  }
  return value as Exclude<PersistedQueryBody['extensions'], string>;
}

function readManifest(manifest: PersistedQueryManifest): Map<string, string> {
  // usually JSON read from a file at startup: a wrong file must name the option, not be a TypeError
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw optionsError(`manifest must be an object, got ${describe(manifest)}`);
  }
  const entries: [unknown, unknown][] =
    'operations' in manifest && Array.isArray(manifest.operations)
      ? manifest.operations.map((operation: unknown) => {
          if (typeof operation !== 'object' || operation === null) {
            throw optionsError(`manifest operations must be objects with id and body, got ${describe(operation)}`);
          }
          const { id, body } = operation as { id?: unknown; body?: unknown };
          return [id, body];
        })
      : Object.entries(manifest);
  const allowed = new Map<string, string>();
  for (const [hash, query] of entries) {
    if (typeof hash !== 'string' || typeof query !== 'string' || sha256(query) !== hash.toLowerCase()) {
      throw optionsError(`manifest entry ${String(hash)} is not the SHA-256 of its query`);
    }
    allowed.set(hash.toLowerCase(), query);
  }
  return allowed;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function inputError(message: string): PatchbayError {
  return new PatchbayError('ERR_GRAPHQL_PERSISTED_QUERY', message);
}

async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new PatchbayError('ERR_GRAPHQL_STORE', 'The persisted query store failed', { cause: error });
  }
}

/**
 * Options of {@link memoryPersistedQueryStore}.
 *
 * @example
 * ```ts
 * const options: MemoryPersistedQueryStoreOptions = { maxEntries: 5_000, maxTotalLength: 8 * 1024 * 1024 };
 * ```
 */
export interface MemoryPersistedQueryStoreOptions {
  /** Most queries kept (default 10 000). */
  maxEntries?: number;
  /** Most characters kept over all queries (default 16 Mi, about 32 MB of strings). */
  maxTotalLength?: number;
}

/**
 * An in-process {@link PersistedQueryStore} that keeps the most recently used queries, at most
 * `maxEntries` of them (default 10,000) and `maxTotalLength` characters in all (default 16 Mi), so
 * clients registering queries cannot grow it without bound, by number or by size.
 *
 * @example
 * ```ts
 * const pq = persistedQueries({ store: memoryPersistedQueryStore({ maxEntries: 5_000 }) });
 * ```
 */
export function memoryPersistedQueryStore(options: MemoryPersistedQueryStoreOptions = {}): PersistedQueryStore {
  assertOptionsObject(options, 'memoryPersistedQueryStore options', 'ERR_GRAPHQL_OPTIONS');
  const { maxEntries = 10_000, maxTotalLength = 16 * 1024 * 1024 } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw optionsError('maxEntries must be an integer >= 1');
  if (!Number.isInteger(maxTotalLength) || maxTotalLength < 1) {
    throw optionsError('maxTotalLength must be an integer >= 1');
  }
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recently used.
  const entries = new Map<string, string>();
  let totalLength = 0;
  return {
    async get(hash) {
      const query = entries.get(hash);
      if (query !== undefined) {
        entries.delete(hash);
        entries.set(hash, query);
      }
      return query;
    },
    async set(hash, query) {
      if (query.length > maxTotalLength) return;
      const previous = entries.get(hash);
      if (previous !== undefined) {
        entries.delete(hash);
        totalLength -= previous.length;
      }
      entries.set(hash, query);
      totalLength += query.length;
      for (const [oldest, kept] of entries) {
        if (entries.size <= maxEntries && totalLength <= maxTotalLength) break;
        entries.delete(oldest);
        totalLength -= kept.length;
      }
    },
  };
}

/**
 * Options of {@link redisPersistedQueryStore}.
 *
 * @example
 * ```ts
 * const options: RedisPersistedQueryStoreOptions = { prefix: 'myapp:pq:', ttlSeconds: 86_400, timeoutMs: 500 };
 * ```
 */
export interface RedisPersistedQueryStoreOptions {
  /** Key prefix (default `pb:pq:`); each key is `${prefix}{${hash}}`. */
  prefix?: string;
  /** Seconds a query is kept after it was last used (default 7 days). */
  ttlSeconds?: number;
  /**
   * Longest wait for one Redis call, in ms (default 1 000); past it `resolve()` rejects with
   * `ERR_GRAPHQL_STORE`, whose `cause` is a `TimeoutError`.
   */
  timeoutMs?: number;
}

// GET and refresh the TTL in one round trip, so queries in use never expire.
const getScript = defineScript({
  name: 'graphql:pq-get',
  lua: "local q = redis.call('GET', KEYS[1]) if q then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return q",
  keys: 1,
});
const setScript = defineScript({
  name: 'graphql:pq-set',
  lua: "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1",
  keys: 1,
});

/**
 * A {@link PersistedQueryStore} in Redis, shared by every server: one EVALSHA per lookup, which
 * also refreshes the key's TTL. `redis` is an ioredis `Redis` or `Cluster`. Each call is bounded
 * by `timeoutMs`, so a Redis that is down or frozen fails requests with `ERR_GRAPHQL_STORE`
 * instead of holding them.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { persistedQueries, redisPersistedQueryStore } from 'patchbay/graphql';
 *
 * const pq = persistedQueries({ store: redisPersistedQueryStore(new Redis(process.env.REDIS_URL)) });
 * ```
 */
export function redisPersistedQueryStore(
  redis: RedisScriptClient,
  options: RedisPersistedQueryStoreOptions = {},
): PersistedQueryStore {
  assertOptionsObject(options, 'redisPersistedQueryStore options', 'ERR_GRAPHQL_OPTIONS');
  const { prefix = 'pb:pq:', ttlSeconds = 7 * 24 * 3_600, timeoutMs = 1_000 } = options;
  if (typeof redis?.evalsha !== 'function') throw optionsError('redis must be an ioredis client');
  // braces would become the Cluster hash tag instead of the hash: every query in one slot
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw optionsError(`prefix must be a string without braces, got ${describe(prefix)}`);
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw optionsError('ttlSeconds must be an integer >= 1');
  assertNumber(timeoutMs, 'timeoutMs', 'ERR_GRAPHQL_OPTIONS', { min: 1 });
  // ioredis queues commands while it reconnects and waits for ever on a server that does not
  // answer: unbounded, every APQ request would hang for as long as Redis is away
  const bounded = <T>(work: Promise<T>): Promise<T> =>
    withTimeout(work, timeoutMs, { message: `Redis did not answer within ${timeoutMs} ms` });
  return {
    async get(hash) {
      const query = await bounded(getScript.run(redis, [redisKey(prefix, hash)], [ttlSeconds]));
      return typeof query === 'string' ? query : undefined;
    },
    async set(hash, query) {
      await bounded(setScript.run(redis, [redisKey(prefix, hash)], [query, ttlSeconds]));
    },
  };
}
