/**
 * An event to append: `type` is required; `id` makes the append idempotent (default: a fresh
 * UUID); `data` and `metadata` must survive `JSON.stringify` (stores keep JSON).
 *
 * @example
 * ```ts
 * const event: NewEvent = { id: 'cmd-7:0', type: 'OrderPlaced', data: { total: 30 }, metadata: { correlationId } };
 * ```
 */
export interface NewEvent<Type extends string = string, Data = unknown> {
  /** Unique event id. Appending an id that is already stored (in the same stream) is a no-op. */
  id?: string;
  /** The event type, a non-empty string. */
  type: Type;
  /** The payload. Default `null`. */
  data?: Data;
  /** Correlation and causation ids, the user, anything that is not the payload. Default `{}`. */
  metadata?: Record<string, unknown>;
}

/**
 * An event as stored: the envelope every reader gets. `version` counts from 1 within its stream;
 * `position` counts from 1 across the store (the global log), with no gaps.
 *
 * @example
 * ```ts
 * for await (const event of store.readStream('order-42')) {
 *   show(event.version, event.position, event.type, event.data);
 * }
 * ```
 */
export interface StoredEvent<Type extends string = string, Data = unknown> {
  readonly id: string;
  readonly streamId: string;
  readonly type: Type;
  readonly data: Data;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** 1 for the stream's first event. */
  readonly version: number;
  /** Place in the global log, 1 for the store's first event. */
  readonly position: number;
  /** When it was stored, epoch ms (the Redis server's clock for `redisEventStore`). */
  readonly timestamp: number;
}

/**
 * The version a stream must be at for an append to go through: a number (the version you read;
 * `0` means the stream has no events), `'no-stream'` (same as `0`) or `'any'` (no check).
 *
 * @example
 * ```ts
 * const expected: ExpectedVersion = 'no-stream';
 * ```
 */
export type ExpectedVersion = number | 'any' | 'no-stream';

/**
 * Options of `append`.
 *
 * @example
 * ```ts
 * await store.append('order-42', events, { expectedVersion: 3 } satisfies AppendOptions);
 * ```
 */
export interface AppendOptions {
  /** Checked atomically with the write; a mismatch throws `ConcurrencyError`. Default `'any'`. */
  expectedVersion?: ExpectedVersion;
}

/**
 * What `append` returns: the stream's version and the global position of its last event after
 * the append (the stored ones, when the append was an idempotent repeat). Pass `position` to a
 * runner's `waitFor` to read your own write.
 *
 * @example
 * ```ts
 * const { version, position } = await store.append('order-42', events);
 * await runner.waitFor(position, { timeoutMs: 2_000 });
 * ```
 */
export interface AppendResult {
  version: number;
  position: number;
}

/**
 * Options of `readStream`.
 *
 * @example
 * ```ts
 * store.readStream('order-42', { fromVersion: 4 } satisfies ReadStreamOptions);
 * ```
 */
export interface ReadStreamOptions {
  /** First version to read (inclusive), at most `Number.MAX_SAFE_INTEGER`. Default 1. */
  fromVersion?: number;
}

/**
 * Options of `readAll`.
 *
 * @example
 * ```ts
 * store.readAll({ fromPosition: checkpoint + 1, limit: 500 } satisfies ReadAllOptions);
 * ```
 */
export interface ReadAllOptions {
  /** First position to read (inclusive), at most `Number.MAX_SAFE_INTEGER`. Default 1. */
  fromPosition?: number;
  /** Most events to yield. Default: all. */
  limit?: number;
}

/**
 * An append-only event store: per-stream versions with optimistic concurrency, and one global
 * log in position order for projections.
 *
 * @example
 * ```ts
 * const store: EventStore = memoryEventStore();
 * await store.append('order-42', [{ type: 'OrderPlaced', data: { total: 30 } }], { expectedVersion: 'no-stream' });
 * ```
 */
export interface EventStore {
  /**
   * Appends `events` to `streamId` atomically (all or none). Throws `ConcurrencyError` when
   * `expectedVersion` does not match, `ERR_CQRS_INPUT` on bad input (including a stream id, event
   * id or type with a lone surrogate, which Redis cannot keep apart), `ERR_CQRS_DUPLICATE` when
   * some ids are stored and some are not (or stored in another stream).
   */
  append(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** The events of one stream in version order. An unknown stream yields nothing. */
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<StoredEvent>;
  /** Every event in position order. */
  readAll(options?: ReadAllOptions): AsyncIterable<StoredEvent>;
}
