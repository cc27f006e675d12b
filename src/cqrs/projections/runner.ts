import { assertNumber, assertOptionsObject, describe } from '../../core/assert';
import { type BackoffOptions, backoff } from '../../core/backoff';
import { type Clock, systemClock } from '../../core/clock';
import { PatchbayError } from '../../core/errors';
import { notify } from '../../core/notify';
import type { RedisArg } from '../../core/redis-script';
import { withTimeout } from '../../core/timeout';
import type { EventStore, StoredEvent } from '../event-store/types';
import type { CheckpointStore, CommitResult, ParkedEvent, ProjectionWrite } from './checkpoint-store';
import type { Projection, ProjectionContext } from './define-projection';
import { memoryCheckpointStore } from './memory-checkpoints';
import { createWaker } from './waker';

/**
 * What a runner reports through `onEvent`.
 *
 * @example
 * ```ts
 * const onEvent = (event: ProjectionRunnerEvent) => {
 *   if (event.type === 'parked') alert(`${event.projection} parked ${event.event.position}: ${event.error}`);
 * };
 * ```
 */
export type ProjectionRunnerEvent =
  | { type: 'batch'; projection: string; from: number; to: number; applied: number }
  | { type: 'retry'; projection: string; event: StoredEvent; attempt: number; error: unknown }
  | { type: 'parked'; projection: string; event: StoredEvent; attempts: number; error: unknown }
  | { type: 'lease-acquired'; projection: string; checkpoint: number }
  | { type: 'lease-lost'; projection: string }
  | { type: 'conflict'; projection: string; from: number }
  | { type: 'error'; projection: string; error: unknown };

/**
 * Options of {@link createProjectionRunner}.
 *
 * @example
 * ```ts
 * const options: ProjectionRunnerOptions = { store, projections: [ordersByCustomer], batchSize: 500 };
 * ```
 */
export interface ProjectionRunnerOptions {
  /** Where the events come from (`readAll`). */
  store: EventStore;
  /** The projections to run; names must be unique. */
  projections: readonly Projection[];
  /** Where positions, parked events and leases live. Default a new `memoryCheckpointStore()`. */
  checkpoints?: CheckpointStore;
  /** Events read and checkpointed together. Default 256. */
  batchSize?: number;
  /**
   * How long an idle projection waits before looking for new events, in ms. Default 100. An idle
   * worker wakes at least every `leaseMs / 3` anyway, to renew its lease.
   */
  pollMs?: number;
  /**
   * Lease time-to-live in ms; a runner that dies is replaced after at most this long. Default 10 000.
   * Renewed every third of it, between the events of a batch too: a batch may take longer, one
   * handler call (with its retries) should not.
   */
  leaseMs?: number;
  /** Tries per event before it is parked, and the wait between them. Default 3 tries, 50 ms to 1 s. */
  retry?: { attempts?: number; backoff?: BackoffOptions };
  /** This runner's lease owner id. Default a random UUID. */
  owner?: string;
  /**
   * Times lease renewals. Default the system clock. When it steps back (an NTP correction), the
   * runner renews at once rather than waiting out the step.
   */
  clock?: Clock;
  /** Progress, retries, parked events, lease changes and errors. */
  onEvent?: (event: ProjectionRunnerEvent) => void;
}

/**
 * Options of `waitFor`.
 *
 * @example
 * ```ts
 * await runner.waitFor(position, { timeoutMs: 2_000, projection: 'orders-by-customer' } satisfies WaitForOptions);
 * ```
 */
export interface WaitForOptions {
  /** Rejects with `TimeoutError` after this long. */
  timeoutMs: number;
  /** Wait for this projection only. Default: all of the runner's projections. */
  projection?: string;
}

/**
 * Runs projections: reads the global log in batches from each projection's checkpoint, applies
 * events in position order, and commits the checkpoint after each batch.
 *
 * @example
 * ```ts
 * const runner: ProjectionRunner = createProjectionRunner({ store, projections: [ordersByCustomer] });
 * runner.start();
 * ```
 */
export interface ProjectionRunner {
  /**
   * Starts a worker per projection. Calling it again while running does nothing. Called while a
   * `stop()` is still finishing its batch, it starts each worker once the old one ended, and the
   * runner keeps its leases throughout.
   */
  start(): void;
  /**
   * Finishes the event in hand, commits what was applied, releases leases; resolves when all
   * workers and any rebuild in progress ended (every call, the first or a repeated one).
   */
  stop(): Promise<void>;
  /**
   * Empties the read model (`reset`), sets the checkpoint to 0 and replays up to the head; resolves
   * when done. On a runner that is not running it then releases the lease, whether it worked or not.
   */
  rebuild(name: string): Promise<void>;
  /** Resolves once the projection(s) got past `position` (read-your-writes); rejects with `TimeoutError` otherwise. */
  waitFor(position: number, options: WaitForOptions): Promise<void>;
  /** The parked events of a projection, oldest first (in position order). */
  parked(name: string): Promise<ParkedEvent[]>;
}

interface Worker {
  readonly projection: Projection;
  readonly handles: ReadonlySet<string>;
  checkpoint: number;
  // the checkpoint's generation when it was loaded; a rebuild elsewhere bumps it and voids our batch
  generation: number;
  leased: boolean;
  // when the lease was last taken or renewed, by `clock`, and when to renew it next
  leaseRenewedAt: number;
  leaseRenewAt: number;
  // batches and rebuilds of one projection never overlap
  lock: Promise<void>;
  done: Promise<void> | undefined;
  // rebuilds under way; while there is one, the lease is theirs and a stopping worker keeps it
  rebuilding: number;
}

const OPTIONS = 'ERR_CQRS_OPTIONS';

// The commit script passes a write's arguments to redis.call with Lua's unpack(), which fails
// past about 8 000 values (Lua 5.1's C stack limit, LUAI_MAXCSTACK) and takes the whole batch's
// commit with it. Refusing at ctx.write makes the handler throw, so the event is retried and
// parked like any failing event; 7 000 leaves room for what else is on the stack.
const MAX_WRITE_ARGS = 7_000;

/**
 * Creates a projection runner. Each projection has one worker; a worker holds the projection's
 * lease in the checkpoint store while it works, so several runners (processes) on one Redis share
 * the projections between them, and a dead runner's projections move to another within `leaseMs`.
 * A batch commits only if the checkpoint is still where it started, and at the same generation
 * (which a rebuild bumps), so even two runners that both believe they hold a lease cannot commit
 * the same events twice, nor a batch read before a rebuild into the rebuilt read model.
 *
 * Delivery: each event reaches a handler at least once, in position order. Writes queued with
 * `ctx.write` (Redis) are applied at most once, and exactly once unless Redis refuses one: they
 * commit atomically with the checkpoint. Other side effects of a batch interrupted by a crash are
 * repeated on restart (make them idempotent with `event.position`). A handler that throws is
 * retried, then its event is parked (recorded with the error, reported through `onEvent`) and the
 * projection goes on. A write Redis refuses at commit (a key of another type, say) parks its event
 * with Redis's error at once: that event's earlier writes stay applied, its later ones are not
 * run, and the rest of the batch commits.
 *
 * @example
 * ```ts
 * import { createProjectionRunner, defineProjection, memoryEventStore } from 'patchbay/cqrs';
 *
 * const store = memoryEventStore();
 * const runner = createProjectionRunner({ store, projections: [ordersByCustomer], onEvent: console.log });
 * runner.start();
 * const { position } = await store.append('order-1', [{ type: 'OrderPlaced', data: { orderId: '1', customerId: 'c1' } }]);
 * await runner.waitFor(position, { timeoutMs: 1_000 });
 * await runner.stop();
 * ```
 */
export function createProjectionRunner(options: ProjectionRunnerOptions): ProjectionRunner {
  const {
    store,
    projections,
    checkpoints = memoryCheckpointStore(),
    batchSize = 256,
    pollMs = 100,
    leaseMs = 10_000,
    retry = {},
    owner = globalThis.crypto.randomUUID(),
    clock = systemClock,
    onEvent,
  } = options ?? ({} as ProjectionRunnerOptions);
  if (typeof store?.readAll !== 'function') throw new PatchbayError(OPTIONS, 'store must be an EventStore');
  if (!Array.isArray(projections) || projections.length === 0) {
    throw new PatchbayError(OPTIONS, `projections must be a non-empty array, got ${describe(projections)}`);
  }
  if (typeof checkpoints?.commit !== 'function')
    throw new PatchbayError(OPTIONS, 'checkpoints must be a CheckpointStore');
  assertNumber(batchSize, 'batchSize', OPTIONS, { min: 1, integer: true });
  assertNumber(pollMs, 'pollMs', OPTIONS, { min: 1 });
  assertNumber(leaseMs, 'leaseMs', OPTIONS, { min: 10 });
  assertOptionsObject(retry, 'retry', OPTIONS);
  const attempts = retry.attempts ?? 3;
  assertNumber(attempts, 'retry.attempts', OPTIONS, { min: 1, integer: true });
  if (retry.backoff !== undefined) assertOptionsObject(retry.backoff, 'retry.backoff', OPTIONS);
  let retryDelay: ReturnType<typeof backoff>;
  try {
    retryDelay = backoff(retry.backoff ?? { initialMs: 50, maxMs: 1_000 });
  } catch (error) {
    throw new PatchbayError(OPTIONS, `retry.backoff: ${(error as Error).message}`, { cause: error });
  }
  if (typeof owner !== 'string' || owner.length === 0)
    throw new PatchbayError(OPTIONS, 'owner must be a non-empty string');
  if (onEvent !== undefined && typeof onEvent !== 'function')
    throw new PatchbayError(OPTIONS, 'onEvent must be a function');

  const workers = new Map<string, Worker>();
  for (const projection of projections) {
    if (typeof projection?.apply !== 'function') {
      throw new PatchbayError(OPTIONS, 'projections must be made with defineProjection');
    }
    if (workers.has(projection.name)) throw new PatchbayError(OPTIONS, `two projections are named ${projection.name}`);
    workers.set(projection.name, {
      projection,
      handles: new Set(projection.eventTypes),
      checkpoint: 0,
      generation: 0,
      leased: false,
      leaseRenewedAt: 0,
      leaseRenewAt: 0,
      lock: Promise.resolve(),
      done: undefined,
      rebuilding: 0,
    });
  }

  // three wakers, so that waking idle workers for a waitFor does not cut a retry backoff short
  const idle = createWaker();
  const progress = createWaker();
  const backoffWait = createWaker();
  let running = false;
  let stopping: AbortController | undefined;
  // the workers' end, kept so that every stop() until then waits for it, not just the first
  let draining: Promise<unknown> = Promise.resolve();
  const rebuilds = new Set<Promise<void>>();

  // a failing observer, sync or async, must not stop the projections it observes
  const emit = (event: ProjectionRunnerEvent): void => {
    if (onEvent) notify(onEvent, event);
  };

  const exclusive = <T>(worker: Worker, fn: () => Promise<T>): Promise<T> => {
    const result = worker.lock.then(fn);
    worker.lock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  };

  /** Takes or renews the lease when due; false when another runner holds it. */
  const holdLease = async (worker: Worker): Promise<boolean> => {
    const name = worker.projection.name;
    const now = clock.now();
    // a clock that stepped back (an NTP correction of Date.now()) would put the next renewal as far
    // off as the step, while the lease expires in the store's time: renew at once instead
    if (worker.leased && now < worker.leaseRenewAt && now >= worker.leaseRenewedAt) return true;
    const held = await checkpoints.acquire(name, owner, leaseMs);
    if (!held) {
      if (worker.leased) emit({ type: 'lease-lost', projection: name });
      worker.leased = false;
      return false;
    }
    // renew at a third of the TTL, so two missed renewals still leave time before it expires
    worker.leaseRenewedAt = clock.now();
    worker.leaseRenewAt = worker.leaseRenewedAt + leaseMs / 3;
    if (!worker.leased) {
      // load before claiming, so a failed load cannot leave a stale checkpoint behind a held lease
      ({ position: worker.checkpoint, generation: worker.generation } = await checkpoints.load(name));
      worker.leased = true;
      emit({ type: 'lease-acquired', projection: name, checkpoint: worker.checkpoint });
    }
    return true;
  };

  /** Applies one event, retrying; returns its queued writes, or the parked entry when it kept failing. */
  const apply = async (
    worker: Worker,
    event: StoredEvent,
    signal: AbortSignal | undefined,
  ): Promise<{ writes: ProjectionWrite[] } | { parked: ParkedEvent } | undefined> => {
    const name = worker.projection.name;
    for (let attempt = 1; ; attempt++) {
      const writes: ProjectionWrite[] = [];
      let settled = false;
      const ctx: ProjectionContext = {
        projection: name,
        attempt,
        write(command: string, key: string, ...args: RedisArg[]) {
          // the try's writes were taken (or dropped) when its handler settled: a later write, from
          // work the handler started without awaiting, would be lost without a word
          if (settled) {
            throw new PatchbayError(
              'ERR_CQRS_HANDLER',
              `ctx.write was called after the handler of event ${event.position} settled: await the work that writes`,
            );
          }
          if (!checkpoints.transactional) {
            throw new PatchbayError(
              'ERR_CQRS_HANDLER',
              'ctx.write needs a transactional checkpoint store (redisCheckpointStore)',
            );
          }
          if (typeof command !== 'string' || command.length === 0 || typeof key !== 'string' || key.length === 0) {
            throw new PatchbayError('ERR_CQRS_INPUT', 'ctx.write needs a command name and a key');
          }
          if (args.length > MAX_WRITE_ARGS) {
            throw new PatchbayError(
              'ERR_CQRS_INPUT',
              `ctx.write takes at most ${MAX_WRITE_ARGS} arguments after the key, got ${args.length}: split the write`,
            );
          }
          writes.push({ command, key, args, event });
        },
      };
      try {
        await worker.projection.apply(event, ctx);
        settled = true;
        return { writes };
      } catch (error) {
        settled = true;
        if (attempt >= attempts) {
          emit({ type: 'parked', projection: name, event, attempts, error });
          return { parked: { event, error: error instanceof Error ? error.message : String(error), attempts } };
        }
        emit({ type: 'retry', projection: name, event, attempt, error });
        await backoffWait.wait(retryDelay.delay(attempt - 1), signal);
        // stopped while waiting to retry: leave the event for the next run rather than park it
        if (signal?.aborted) return undefined;
      }
    }
  };

  /** Reads and applies one batch and commits it; returns how many events it got past. */
  const runBatch = async (worker: Worker, signal: AbortSignal | undefined): Promise<number> => {
    const name = worker.projection.name;
    const from = worker.checkpoint;
    const writes: ProjectionWrite[] = [];
    const parked: ParkedEvent[] = [];
    let to = from;
    let applied = 0;
    // reading the log can fail part way (a batch spans several pages of a Redis store): the
    // handlers of the events before it already ran, and a read model outside the commit (in
    // process, say) holds their effects, so those events are committed before the failure is
    // reported, rather than run again by the next try
    let failure: { error: unknown } | undefined;
    try {
      for await (const event of store.readAll({ fromPosition: from + 1, limit: batchSize })) {
        // a batch can outlast the lease (slow handlers, a large batchSize): renewed between events,
        // it is not taken by another runner that would run the same events again. Once lost, the
        // rest is left to the runner that holds it; the compare-and-set decides what we applied.
        if (!worker.leased || !(await holdLease(worker))) break;
        if (worker.handles.has(event.type)) {
          const outcome = await apply(worker, event, signal);
          if (outcome === undefined) break;
          if ('parked' in outcome) parked.push(outcome.parked);
          else {
            for (const write of outcome.writes) writes.push(write);
            applied++;
          }
        }
        to = event.position;
        // stopping mid-batch: commit what was applied so far, nothing more
        if (signal?.aborted) break;
      }
    } catch (error) {
      failure = { error };
    }
    const settle = (moved: number): number => {
      if (failure) throw failure.error;
      return moved;
    };
    if (to === from) return settle(0);
    let result: CommitResult;
    try {
      result = await checkpoints.commit(name, { from, to, generation: worker.generation, writes, parked });
    } catch (error) {
      // the store is down for both, most likely: the read failure came first
      throw failure ? failure.error : error;
    }
    if (!result.committed) {
      // another runner moved the checkpoint, or a rebuild fenced it: our batch is void, start
      // again from where it is
      emit({ type: 'conflict', projection: name, from });
      ({ position: worker.checkpoint, generation: worker.generation } = await checkpoints.load(name));
      return settle(0);
    }
    worker.checkpoint = to;
    for (const entry of result.parked) {
      const error = new PatchbayError(
        'ERR_CQRS_STORE',
        `a ctx.write of event ${entry.event.position} failed in the commit: ${entry.error}`,
      );
      emit({ type: 'parked', projection: name, event: entry.event, attempts: entry.attempts, error });
    }
    emit({ type: 'batch', projection: name, from, to, applied: applied - result.parked.length });
    progress.wake();
    return settle(to - from);
  };

  const releaseLease = async (worker: Worker): Promise<void> => {
    if (!worker.leased) return;
    worker.leased = false;
    try {
      await checkpoints.release(worker.projection.name, owner);
    } catch (error) {
      // the lease expires after leaseMs anyway; the caller's own outcome matters more
      emit({ type: 'error', projection: worker.projection.name, error });
    }
  };

  const work = async (worker: Worker, signal: AbortSignal): Promise<void> => {
    while (!signal.aborted) {
      let moved = 0;
      const woken = idle.generation();
      try {
        if (!(await holdLease(worker))) {
          await idle.wait(Math.min(leaseMs / 3, 1_000), signal);
          continue;
        }
        moved = await exclusive(worker, () => runBatch(worker, signal));
      } catch (error) {
        emit({ type: 'error', projection: worker.projection.name, error });
      }
      // an idle worker still wakes to renew its lease, however long the poll: it would expire unseen
      if (moved === 0) await idle.wait(Math.min(pollMs, leaseMs / 3), signal, woken);
    }
    // start() during our drain queued a loop behind us: the lease is its own now, and giving it
    // up would let another runner take the projection from a running runner
    if (worker.rebuilding === 0 && !running) await releaseLease(worker);
  };

  const rebuildWorker = async (worker: Worker): Promise<void> => {
    const name = worker.projection.name;
    worker.rebuilding++;
    try {
      if (!(await holdLease(worker))) {
        throw new PatchbayError('ERR_CQRS_LEASE', `another runner holds projection ${name}; rebuild it there`);
      }
      await exclusive(worker, async () => {
        // fence before emptying the read model: a runner that lost the lease in the middle of a batch
        // (paused past leaseMs) could otherwise commit that batch into the emptied model, and the
        // replay would apply its events again. The reset fences once more, for a runner that
        // reloaded the checkpoint in between.
        await checkpoints.fence(name);
        await worker.projection.reset();
        worker.generation = await checkpoints.reset(name);
        worker.checkpoint = 0;
        // replay batch by batch up to the head, renewing the lease as the worker would: a replay
        // of a long log outlives the lease taken at its start, and the worker waits meanwhile
        for (;;) {
          if (!(await holdLease(worker))) {
            throw new PatchbayError('ERR_CQRS_LEASE', `another runner took projection ${name} during its rebuild`);
          }
          const moved = await runBatch(worker, undefined);
          // a batch refused because another runner committed moves nothing either: only with the
          // lease still held does nothing moved mean the head was reached
          if (moved === 0 && (await holdLease(worker))) break;
        }
      });
    } finally {
      worker.rebuilding--;
      // a runner that is not running must not keep other runners off the projection, failed or not
      if (!running && worker.rebuilding === 0) await releaseLease(worker);
    }
  };

  const workerOf = (name: unknown): Worker => {
    const worker = typeof name === 'string' ? workers.get(name) : undefined;
    if (!worker) throw new PatchbayError('ERR_CQRS_INPUT', `no projection named ${describe(name)} in this runner`);
    return worker;
  };

  return {
    start() {
      if (running) return;
      running = true;
      const controller = new AbortController();
      stopping = controller;
      // a stop() may still be draining: each worker's new loop waits for its old one, so two loops
      // of one projection never run side by side (work() never rejects)
      for (const worker of workers.values()) {
        worker.done = (worker.done ?? Promise.resolve()).then(() => work(worker, controller.signal));
      }
    },
    async stop() {
      if (running) {
        running = false;
        stopping?.abort();
        idle.wake();
        draining = Promise.all([...workers.values()].map((worker) => worker.done));
      }
      await draining;
      // a rebuild is not cut short: it ends, then gives the lease up, before stop() resolves
      await Promise.allSettled(rebuilds);
    },
    async rebuild(name) {
      const rebuilt = rebuildWorker(workerOf(name));
      rebuilds.add(rebuilt);
      try {
        await rebuilt;
      } finally {
        rebuilds.delete(rebuilt);
      }
    },
    async waitFor(position, waitOptions) {
      assertNumber(position, 'position', 'ERR_CQRS_INPUT', { min: 0, integer: true });
      assertNumber(waitOptions?.timeoutMs, 'timeoutMs', 'ERR_CQRS_INPUT', { min: 0, exclusiveMin: true });
      const names =
        waitOptions.projection === undefined ? [...workers.keys()] : [workerOf(waitOptions.projection).projection.name];
      // new events may be waiting behind an idle worker's poll: look now
      idle.wake();
      await withTimeout(
        async (signal) => {
          while (!signal.aborted) {
            const committed = progress.generation();
            const reached = await Promise.all(names.map((name) => checkpoints.load(name)));
            if (reached.every((at) => at.position >= position)) return;
            await progress.wait(pollMs, signal, committed);
          }
        },
        waitOptions.timeoutMs,
        { message: `projections did not reach position ${position} within ${waitOptions.timeoutMs} ms` },
      );
    },
    parked(name) {
      return checkpoints.parked(workerOf(name).projection.name);
    },
  };
}
