import { assertOptionsObject } from '../../core/assert';
import { type Clock, systemClock } from '../../core/clock';
import { PatchbayError } from '../../core/errors';
import { ConcurrencyError } from '../errors';
import type { EventStore, StoredEvent } from './types';
import { type PreparedEvent, parseFrozen, prepareAppend, prepareReadAll, prepareReadStream } from './validate';

/**
 * Options of {@link memoryEventStore}.
 *
 * @example
 * ```ts
 * const options: MemoryEventStoreOptions = { clock: { now: () => 0 } };
 * ```
 */
export interface MemoryEventStoreOptions {
  /** Source of `timestamp`. Default the system clock. */
  clock?: Clock;
}

/**
 * An event store in this process's memory, for tests, examples and single-process services. It
 * keeps the same contract as `redisEventStore`: appends are atomic (the version check and the
 * write happen with no `await` between them), events are stored as JSON and handed out frozen.
 *
 * @example
 * ```ts
 * import { memoryEventStore } from 'patchbay/cqrs';
 *
 * const store = memoryEventStore();
 * const { version, position } = await store.append('order-42', [{ type: 'OrderPlaced', data: { total: 30 } }], {
 *   expectedVersion: 'no-stream',
 * });
 * for await (const event of store.readStream('order-42')) show(event.type);
 * ```
 */
export function memoryEventStore(options: MemoryEventStoreOptions = {}): EventStore {
  assertOptionsObject(options, 'memoryEventStore options', 'ERR_CQRS_OPTIONS');
  const { clock = systemClock } = options;
  if (typeof clock?.now !== 'function') throw new PatchbayError('ERR_CQRS_OPTIONS', 'clock must have a now() method');
  const log: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  const byId = new Map<string, StoredEvent>();

  const repeat = (streamId: string, events: PreparedEvent[]): StoredEvent | undefined => {
    const stored = events.map((event) => byId.get(event.id));
    if (stored.every((event) => event === undefined)) return undefined;
    if (stored.every((event) => event?.streamId === streamId)) {
      return stored.reduce((last, event) => (event!.position > last!.position ? event : last));
    }
    throw new PatchbayError(
      'ERR_CQRS_DUPLICATE',
      `some of these event ids are already stored, but not all of them in stream ${JSON.stringify(streamId)}`,
    );
  };

  return {
    async append(streamId, events, appendOptions) {
      const prepared = prepareAppend(streamId, events, appendOptions);
      const previous = repeat(streamId, prepared.events);
      if (previous) return { version: previous.version, position: previous.position };
      const stream = streams.get(streamId) ?? [];
      if (prepared.expected !== -1 && prepared.expected !== stream.length) {
        throw new ConcurrencyError(streamId, prepared.expected, stream.length);
      }
      const timestamp = clock.now();
      for (const event of prepared.events) {
        const stored: StoredEvent = Object.freeze({
          id: event.id,
          streamId,
          type: event.type,
          data: parseFrozen(event.data),
          metadata: parseFrozen(event.metadata) as Record<string, unknown>,
          version: stream.length + 1,
          position: log.length + 1,
          timestamp,
        });
        stream.push(stored);
        log.push(stored);
        byId.set(event.id, stored);
      }
      streams.set(streamId, stream);
      return { version: stream.length, position: log.length };
    },
    readStream(streamId, readOptions) {
      const from = prepareReadStream(streamId, readOptions);
      return iterate(() => streams.get(streamId) ?? [], from - 1, Number.POSITIVE_INFINITY);
    },
    readAll(readOptions) {
      const { from, limit } = prepareReadAll(readOptions);
      return iterate(() => log, from - 1, limit);
    },
  };
}

// reads live by index, so events appended while a reader is iterating are seen, as with Redis
async function* iterate(list: () => readonly StoredEvent[], start: number, limit: number): AsyncGenerator<StoredEvent> {
  for (let index = start, yielded = 0; yielded < limit; index++, yielded++) {
    const event = list()[index];
    if (event === undefined) return;
    yield event;
  }
}
