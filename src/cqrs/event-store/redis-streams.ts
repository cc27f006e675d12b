import { assertNumber, assertOptionsObject, describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import { defineScript, integerReply, type RedisScriptClient, redisKey } from '../../core/redis-script';
import { ConcurrencyError } from '../errors';
import appendLua from './scripts/append.lua';
import readAllLua from './scripts/read-all.lua';
import readStreamLua from './scripts/read-stream.lua';
import type { EventStore, StoredEvent } from './types';
import { prepareAppend, prepareReadAll, prepareReadStream } from './validate';

const appendScript = defineScript({ name: 'cqrs:append', lua: appendLua, keys: 3 });
const readAllScript = defineScript({ name: 'cqrs:read-all', lua: readAllLua, keys: 1 });
const readStreamScript = defineScript({ name: 'cqrs:read-stream', lua: readStreamLua, keys: 2 });

/**
 * Options of {@link redisEventStore}.
 *
 * @example
 * ```ts
 * const options: RedisEventStoreOptions = { prefix: 'shop:es:', name: 'orders', pageSize: 1_000 };
 * ```
 */
export interface RedisEventStoreOptions {
  /** Prefix of every key. Default `pb:es:`. */
  prefix?: string;
  /** The store's name, used as the hash tag of all its keys (one Cluster slot per store). Default `events`. */
  name?: string;
  /** Events fetched per round trip while reading. Default 500. */
  pageSize?: number;
}

type Entry = [id: string, fields: string[]];

/**
 * An event store in Redis Streams, shared by every process on the same Redis, prefix and name.
 * Each append is one EVALSHA: the `expectedVersion` check, the idempotency check on event ids,
 * and the writes to the stream and the global log happen atomically, timestamped by the Redis
 * server's clock. Reads page through `XRANGE`, one round trip per `pageSize` events.
 *
 * Layout (`P` = prefix, `N` = name): `P{N}:all` is a Redis Stream holding every event, entry id
 * `0-<position>`, one field `e` with the JSON array `[id, streamId, type, version, timestamp, data,
 * metadata]`; `P{N}:stream:<streamId>` is a Redis Stream per stream, entry id `0-<version>`,
 * pointing at the position; `P{N}:ids` is a hash of event id to where it is stored. All keys share
 * the hash tag `{N}`, so the store works on Redis Cluster, in one slot: to spread load, use several
 * stores (one per bounded context). Keys have no TTL: an event store forgets nothing.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisEventStore } from 'patchbay/cqrs';
 *
 * const store = redisEventStore(new Redis(process.env.REDIS_URL), { prefix: 'shop:es:' });
 * await store.append('order-42', [{ type: 'OrderPlaced', data: { total: 30 } }], { expectedVersion: 'no-stream' });
 * ```
 */
export function redisEventStore(redis: RedisScriptClient, options: RedisEventStoreOptions = {}): EventStore {
  assertOptionsObject(options, 'redisEventStore options', 'ERR_CQRS_OPTIONS');
  const { prefix = 'pb:es:', name = 'events', pageSize = 500 } = options;
  if (typeof redis?.evalsha !== 'function' || typeof redis.eval !== 'function') {
    throw new PatchbayError('ERR_CQRS_OPTIONS', 'redisEventStore needs an ioredis client (Redis or Cluster)');
  }
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new PatchbayError('ERR_CQRS_OPTIONS', `prefix must be a string without braces, got ${describe(prefix)}`);
  }
  if (typeof name !== 'string' || name.length === 0 || /[{}]/.test(name)) {
    throw new PatchbayError(
      'ERR_CQRS_OPTIONS',
      `name must be a non-empty string without braces, got ${describe(name)}`,
    );
  }
  assertNumber(pageSize, 'pageSize', 'ERR_CQRS_OPTIONS', { min: 1, integer: true });
  const allKey = redisKey(prefix, name, 'all');
  const idsKey = redisKey(prefix, name, 'ids');
  const streamKey = (streamId: string): string => redisKey(prefix, name, `stream:${streamId}`);

  return {
    async append(streamId, events, appendOptions) {
      const prepared = prepareAppend(streamId, events, appendOptions);
      const args: (string | number)[] = [streamId, prepared.expected, prepared.events.length];
      for (const event of prepared.events) args.push(event.id, event.type, event.data, event.metadata);
      let reply: unknown[];
      try {
        reply = (await appendScript.run(redis, [streamKey(streamId), allKey, idsKey], args)) as unknown[];
      } catch (error) {
        throw new PatchbayError('ERR_CQRS_STORE', `Could not append to stream ${describe(streamId)} in Redis`, {
          cause: error,
        });
      }
      // integerReply: a client made with stringNumbers answers integers as strings
      const [status, version = 0, position = 0] = reply.map(integerReply);
      if (status === -1) throw new ConcurrencyError(streamId, prepared.expected, version);
      if (status === -2) {
        throw new PatchbayError(
          'ERR_CQRS_DUPLICATE',
          `some of these event ids are already stored, but not all of them in stream ${JSON.stringify(streamId)}`,
        );
      }
      return { version, position };
    },
    readStream(streamId, readOptions) {
      const from = prepareReadStream(streamId, readOptions);
      const keys = [streamKey(streamId), allKey];
      return pages(
        (start, count) => readStreamScript.run(redis, keys, [start, count]),
        from,
        Number.POSITIVE_INFINITY,
        pageSize,
        'version',
      );
    },
    readAll(readOptions) {
      const { from, limit } = prepareReadAll(readOptions);
      return pages(
        (start, count) => readAllScript.run(redis, [allKey], [start, count]),
        from,
        limit,
        pageSize,
        'position',
      );
    },
  };
}

async function* pages(
  fetch: (start: number, count: number) => Promise<unknown>,
  from: number,
  limit: number,
  pageSize: number,
  cursor: 'version' | 'position',
): AsyncGenerator<StoredEvent> {
  let next = from;
  let left = limit;
  while (left > 0) {
    const count = Math.min(pageSize, left);
    let entries: Entry[];
    try {
      entries = (await fetch(next, count)) as Entry[];
    } catch (error) {
      throw new PatchbayError('ERR_CQRS_STORE', 'Could not read events from Redis', { cause: error });
    }
    for (const entry of entries) {
      const event = toEvent(entry);
      yield event;
      next = event[cursor] + 1;
    }
    left -= entries.length;
    if (entries.length < count) return;
  }
}

type Envelope = [
  id: string,
  streamId: string,
  type: string,
  version: number,
  timestamp: number,
  data: unknown,
  metadata: Record<string, unknown>,
];

// append.lua stores each event as one JSON array in the field `e`; the position is the entry id
function toEvent([entryId, fields]: Entry): StoredEvent {
  const [id, streamId, type, version, timestamp, data, metadata] = JSON.parse(fields[1]!) as Envelope;
  // every read parses its own copy, so only the envelope is frozen (the memory store shares objects and freezes all)
  return Object.freeze({ id, streamId, type, data, metadata, version, position: Number(entryId.slice(2)), timestamp });
}
