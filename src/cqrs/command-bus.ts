import { type Bus, type BusOptions, createBus, type MessageMap } from './bus';

/**
 * Creates a typed command bus: `Commands` maps each command name to its input and result, so
 * `execute('PlaceOrder', input)` checks the input and types the result. Exactly one handler per
 * command; every execution runs through the middleware (outermost first) with correlation and
 * causation ids in its context. Throws `ERR_CQRS_OPTIONS` on bad options.
 *
 * @example
 * ```ts
 * import { createCommandBus, retryOnConcurrency } from 'patchbay/cqrs';
 *
 * type Commands = {
 *   PlaceOrder: { input: { orderId: string; customerId: string; total: number }; result: { version: number } };
 * };
 * const commands = createCommandBus<Commands>({ middleware: [retryOnConcurrency()] });
 * commands.register('PlaceOrder', async (input, ctx) =>
 *   store.append(`order-${input.orderId}`, [{ type: 'OrderPlaced', data: input, metadata: { correlationId: ctx.correlationId } }], {
 *     expectedVersion: 'no-stream',
 *   }),
 * );
 * await commands.execute('PlaceOrder', { orderId: '42', customerId: 'c1', total: 30 });
 * ```
 */
export function createCommandBus<Commands extends MessageMap>(options: BusOptions = {}): Bus<Commands> {
  return createBus<Commands>('command', options);
}
