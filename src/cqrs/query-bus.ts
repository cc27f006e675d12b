import { type Bus, type BusOptions, createBus, type MessageMap } from './bus';

/**
 * Creates a typed query bus, the read-side twin of `createCommandBus`: `Queries` maps each query
 * name to its input and result, one handler per query, the same middleware pipeline and context.
 *
 * @example
 * ```ts
 * import { createQueryBus } from 'patchbay/cqrs';
 *
 * type Queries = { OrdersByCustomer: { input: { customerId: string }; result: string[] } };
 * const queries = createQueryBus<Queries>();
 * queries.register('OrdersByCustomer', ({ customerId }) => [...(ordersByCustomer.get(customerId) ?? [])]);
 * const orders = await queries.execute('OrdersByCustomer', { customerId: 'c1' });
 * ```
 */
export function createQueryBus<Queries extends MessageMap>(options: BusOptions = {}): Bus<Queries> {
  return createBus<Queries>('query', options);
}
