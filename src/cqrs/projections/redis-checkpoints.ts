import { assertOptionsObject, describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import { defineScript, integerReply, type RedisArg, type RedisScriptClient, redisKey } from '../../core/redis-script';
import type { CheckpointStore, ParkedEvent, ProjectionWrite } from './checkpoint-store';
import acquireLua from './scripts/acquire.lua';
import commitLua from './scripts/commit.lua';
import releaseLua from './scripts/release.lua';
import resetLua from './scripts/reset.lua';

// the commit takes a variable number of keys: the checkpoint and parked list, then one per write
const commitScript = defineScript({ name: 'cqrs:commit', lua: commitLua, keys: 'any' });
const acquireScript = defineScript({ name: 'cqrs:acquire', lua: acquireLua, keys: 1 });
const releaseScript = defineScript({ name: 'cqrs:release', lua: releaseLua, keys: 1 });
const loadScript = defineScript({
  name: 'cqrs:load',
  lua: "return redis.call('HMGET', KEYS[1], 'position', 'generation')",
  keys: 1,
});
const fenceScript = defineScript({
  name: 'cqrs:fence',
  lua: "return redis.call('HINCRBY', KEYS[1], 'generation', 1)",
  keys: 1,
});
const parkedScript = defineScript({ name: 'cqrs:parked', lua: "return redis.call('LRANGE', KEYS[1], 0, -1)", keys: 1 });
const resetScript = defineScript({ name: 'cqrs:reset', lua: resetLua, keys: 2 });

/**
 * Adds the batch's events to the commit script's keys and arguments, in position order: handler
 * parked entries and events with writes are interleaved so that the script can list every parked
 * event oldest first, also when a write of an earlier event fails at commit.
 */
function appendBatch(
  keys: string[],
  args: RedisArg[],
  writes: readonly ProjectionWrite[],
  parked: readonly ParkedEvent[],
): void {
  let next = 0;
  const parkBefore = (position: number): void => {
    for (let entry = parked[next]; entry !== undefined && entry.event.position < position; entry = parked[++next]) {
      args.push('p', JSON.stringify(entry));
    }
  };
  // writes go by event, so the script can park the event of a write that fails; the runner
  // queues an event's writes together, so one group per run of the same event
  let countAt = -1;
  let previous: ProjectionWrite['event'] | undefined;
  for (const write of writes) {
    if (write.event !== previous) {
      previous = write.event;
      parkBefore(write.event.position);
      args.push('w', JSON.stringify(write.event), 0);
      countAt = args.length - 1;
    }
    args[countAt] = (args[countAt] as number) + 1;
    keys.push(write.key);
    args.push(write.command, write.args.length, ...write.args);
  }
  parkBefore(Number.POSITIVE_INFINITY);
}

/**
 * Options of {@link redisCheckpointStore}.
 *
 * @example
 * ```ts
 * const options: RedisCheckpointStoreOptions = { prefix: 'shop:cp:' };
 * ```
 */
export interface RedisCheckpointStoreOptions {
  /** Prefix of every key. Default `pb:cp:`. */
  prefix?: string;
}

/**
 * Checkpoints, parked events and leases in Redis, shared by runner processes. Transactional:
 * `commit` runs the writes handlers queued with `ctx.write` and moves the checkpoint in one Lua
 * script, only if the checkpoint is still where the batch started, so a read model in the same
 * Redis gets each write exactly once, across crashes and competing runners. A write that Redis
 * refuses (a key of another type, say) parks its event with Redis's error and skips the event's
 * later writes; its earlier writes stay applied (Redis cannot undo them), and the rest of the
 * batch commits.
 *
 * Keys (`P` = prefix, `N` = projection name): `P{N}:checkpoint` (hash, fields `position` and
 * `generation`),
 * `P{N}:parked` (list of JSON), `P{N}:lease` (string with a TTL). On Redis Cluster, read-model
 * keys written with `ctx.write` must carry the hash tag `{N}` too, so that they share the slot.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createProjectionRunner, redisCheckpointStore, redisEventStore } from 'patchbay/cqrs';
 *
 * const redis = new Redis(process.env.REDIS_URL);
 * const runner = createProjectionRunner({
 *   store: redisEventStore(redis),
 *   projections: [ordersByCustomer],
 *   checkpoints: redisCheckpointStore(redis, { prefix: 'shop:cp:' }),
 * });
 * runner.start();
 * ```
 */
export function redisCheckpointStore(
  redis: RedisScriptClient,
  options: RedisCheckpointStoreOptions = {},
): CheckpointStore {
  assertOptionsObject(options, 'redisCheckpointStore options', 'ERR_CQRS_OPTIONS');
  const { prefix = 'pb:cp:' } = options;
  if (typeof redis?.evalsha !== 'function' || typeof redis.eval !== 'function') {
    throw new PatchbayError('ERR_CQRS_OPTIONS', 'redisCheckpointStore needs an ioredis client (Redis or Cluster)');
  }
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new PatchbayError('ERR_CQRS_OPTIONS', `prefix must be a string without braces, got ${describe(prefix)}`);
  }
  const key = (projection: string, suffix: string): string => redisKey(prefix, projection, suffix);
  const call = async (what: string, work: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await work();
    } catch (error) {
      throw new PatchbayError('ERR_CQRS_STORE', `Could not ${what} in Redis`, { cause: error });
    }
  };
  return {
    transactional: true,
    async load(projection) {
      const [position, generation] = (await call('load a checkpoint', () =>
        loadScript.run(redis, [key(projection, 'checkpoint')], []),
      )) as [string | null, string | null];
      return { position: Number(position ?? 0), generation: Number(generation ?? 0) };
    },
    async commit(projection, { from, to, generation, writes, parked }) {
      const keys = [key(projection, 'checkpoint'), key(projection, 'parked')];
      const args: RedisArg[] = [String(from), String(generation), String(to)];
      appendBatch(keys, args, writes, parked);
      const reply = await call('commit a checkpoint', () => commitScript.run(redis, keys, args));
      // 0 when refused (a string with a stringNumbers client); otherwise the parked entries
      if (!Array.isArray(reply)) return { committed: false, parked: [] };
      return { committed: true, parked: (reply as string[]).map((entry) => JSON.parse(entry) as ParkedEvent) };
    },
    async fence(projection) {
      return Number(
        await call('fence a checkpoint', () => fenceScript.run(redis, [key(projection, 'checkpoint')], [])),
      );
    },
    async reset(projection) {
      return Number(
        await call('reset a checkpoint', () =>
          resetScript.run(redis, [key(projection, 'checkpoint'), key(projection, 'parked')], []),
        ),
      );
    },
    async parked(projection) {
      const entries = (await call('read parked events', () =>
        parkedScript.run(redis, [key(projection, 'parked')], []),
      )) as string[];
      return entries.map((entry) => JSON.parse(entry) as ParkedEvent);
    },
    async acquire(projection, owner, ttlMs) {
      return (
        integerReply(
          await call('take a lease', () =>
            acquireScript.run(redis, [key(projection, 'lease')], [owner, Math.ceil(ttlMs)]),
          ),
        ) === 1
      );
    },
    async release(projection, owner) {
      await call('release a lease', () => releaseScript.run(redis, [key(projection, 'lease')], [owner]));
    },
  };
}
