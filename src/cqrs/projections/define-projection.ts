import { describe } from '../../core/assert';
import { PatchbayError } from '../../core/errors';
import type { RedisArg } from '../../core/redis-script';
import type { StoredEvent } from '../event-store/types';

/**
 * What a projection handler gets besides the event.
 *
 * @example
 * ```ts
 * const onPlaced = async (event: StoredEvent, ctx: ProjectionContext) => {
 *   ctx.write('hincrby', 'shop:{orders-by-customer}:counts', String(event.data), 1);
 * };
 * ```
 */
export interface ProjectionContext {
  /** The projection's name. */
  readonly projection: string;
  /** 1 on the first try, 2 on the first retry, ... */
  readonly attempt: number;
  /**
   * Queues a Redis write command (`command key ...args`) that the runner runs in the same atomic
   * step as the checkpoint, once the batch is done: the read model and the checkpoint move
   * together, so a crash can never apply it twice. Needs `redisCheckpointStore` (on the same
   * Redis as the read model); throws `ERR_CQRS_HANDLER` with a store that has no transactions,
   * and `ERR_CQRS_INPUT` past 7 000 arguments after the key (split a bigger write into several).
   * Writes of a try that throws are dropped. Call it before the handler settles (await what
   * leads to it): called later, it throws `ERR_CQRS_HANDLER`, as the try's writes were already
   * taken. A write Redis refuses at commit (a key of another type, an unknown command) parks the
   * event with Redis's error: its writes before that one stay applied (Redis cannot undo them),
   * its later ones are not run, and no write is ever run twice.
   */
  write(command: string, key: string, ...args: RedisArg[]): void;
}

/**
 * A typed projection handler.
 *
 * @example
 * ```ts
 * const handler: ProjectionHandler<'OrderPlaced', { customerId: string }> = async (event) => {
 *   counts.set(event.data.customerId, (counts.get(event.data.customerId) ?? 0) + 1);
 * };
 * ```
 */
export type ProjectionHandler<Type extends string, Data> = (
  event: StoredEvent<Type, Data>,
  ctx: ProjectionContext,
) => Promise<void> | void;

/**
 * The definition given to {@link defineProjection}: `Events` maps event types to their data.
 *
 * @example
 * ```ts
 * const definition: ProjectionDefinition<{ OrderPlaced: { customerId: string } }> = {
 *   name: 'orders-by-customer',
 *   handlers: { OrderPlaced: (event) => void index.add(event.data.customerId) },
 * };
 * ```
 */
export interface ProjectionDefinition<Events extends Record<string, unknown>> {
  /** Unique per checkpoint store; no braces (it is the hash tag of the projection's Redis keys). */
  name: string;
  /** One handler per event type the projection cares about; other types are skipped. */
  handlers: { [Type in keyof Events & string]?: ProjectionHandler<Type, Events[Type]> };
  /** Empties the read model; `rebuild` calls it before replaying from position 1. */
  reset?: () => Promise<void> | void;
}

/**
 * A projection as the runner sees it: its name, the event types it handles, and how to apply one.
 *
 * @example
 * ```ts
 * const projections: Projection[] = [ordersByCustomer, revenueByDay];
 * ```
 */
export interface Projection {
  readonly name: string;
  readonly eventTypes: readonly string[];
  /** Applies one event (of a type in `eventTypes`). */
  apply(event: StoredEvent, ctx: ProjectionContext): Promise<void> | void;
  /** Empties the read model, if the definition says how. */
  reset(): Promise<void> | void;
}

/**
 * Defines a projection: a read model built from events, by type, in global position order. Give
 * it to `createProjectionRunner`. Throws `ERR_CQRS_INPUT` on a bad name or handlers.
 *
 * @example
 * ```ts
 * import { defineProjection } from 'patchbay/cqrs';
 *
 * type Events = { OrderPlaced: { orderId: string; customerId: string } };
 * const ordersByCustomer = new Map<string, string[]>();
 * const projection = defineProjection<Events>({
 *   name: 'orders-by-customer',
 *   handlers: {
 *     OrderPlaced: ({ data }) => {
 *       ordersByCustomer.set(data.customerId, [...(ordersByCustomer.get(data.customerId) ?? []), data.orderId]);
 *     },
 *   },
 *   reset: () => ordersByCustomer.clear(),
 * });
 * ```
 */
export function defineProjection<Events extends Record<string, unknown>>(
  definition: ProjectionDefinition<Events>,
): Projection {
  const { name, handlers, reset } = definition ?? ({} as ProjectionDefinition<Events>);
  if (typeof name !== 'string' || name.length === 0 || /[{}]/.test(name)) {
    throw new PatchbayError(
      'ERR_CQRS_INPUT',
      `projection name must be a non-empty string without braces, got ${describe(name)}`,
    );
  }
  if (typeof handlers !== 'object' || handlers === null) {
    throw new PatchbayError('ERR_CQRS_INPUT', `projection ${name} needs a handlers object, got ${describe(handlers)}`);
  }
  const table = new Map<string, ProjectionHandler<string, unknown>>();
  for (const [type, handler] of Object.entries(handlers)) {
    if (handler === undefined) continue;
    if (typeof handler !== 'function') {
      throw new PatchbayError('ERR_CQRS_INPUT', `projection ${name}: handler of ${type} must be a function`);
    }
    table.set(type, handler as ProjectionHandler<string, unknown>);
  }
  if (reset !== undefined && typeof reset !== 'function') {
    throw new PatchbayError('ERR_CQRS_INPUT', `projection ${name}: reset must be a function, got ${describe(reset)}`);
  }
  return Object.freeze({
    name,
    eventTypes: Object.freeze([...table.keys()]),
    apply: (event: StoredEvent, ctx: ProjectionContext) => table.get(event.type)?.(event, ctx),
    reset: () => reset?.(),
  });
}
