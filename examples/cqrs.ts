// Orders with CQRS: a PlaceOrder command appends an OrderPlaced event (optimistic concurrency on
// the order's stream), a projection keeps "orders by customer" up to date, and a query reads it
// right after the write (read-your-writes through the runner's waitFor).
// Run: npm run build && node examples/cqrs.ts
// With Redis: redisEventStore(redis) and redisCheckpointStore(redis) instead of the memory defaults.
import {
  ConcurrencyError,
  createCommandBus,
  createProjectionRunner,
  createQueryBus,
  defineProjection,
  type Middleware,
  memoryEventStore,
  retryOnConcurrency,
} from 'patchbay/cqrs';

type OrderPlaced = { orderId: string; customerId: string; total: number };
type Commands = {
  PlaceOrder: { input: OrderPlaced; result: { position: number } };
};
type Queries = {
  OrdersByCustomer: { input: { customerId: string }; result: { orderId: string; total: number }[] };
};

const store = memoryEventStore();

// the read model: customer id -> their orders
const ordersByCustomer = new Map<string, { orderId: string; total: number }[]>();
const projection = defineProjection<{ OrderPlaced: OrderPlaced }>({
  name: 'orders-by-customer',
  handlers: {
    OrderPlaced: ({ data }) => {
      const orders = ordersByCustomer.get(data.customerId) ?? [];
      ordersByCustomer.set(data.customerId, [...orders, { orderId: data.orderId, total: data.total }]);
    },
  },
  reset: () => ordersByCustomer.clear(),
});
const runner = createProjectionRunner({ store, projections: [projection] });
runner.start();

const validate: Middleware = async (ctx, next) => {
  const input = ctx.input as OrderPlaced;
  if (!(input.total > 0)) throw new Error(`order ${input.orderId}: total must be positive`);
  return next();
};
const commands = createCommandBus<Commands>({ middleware: [validate, retryOnConcurrency()] });
commands.register('PlaceOrder', async (input, ctx) => {
  // 'no-stream': placing the same order twice is a conflict, not a second order
  const { position } = await store.append(
    `order-${input.orderId}`,
    [
      {
        id: `${input.orderId}:placed`,
        type: 'OrderPlaced',
        data: input,
        metadata: { correlationId: ctx.correlationId, causationId: ctx.messageId },
      },
    ],
    { expectedVersion: 'no-stream' },
  );
  return { position };
});

const queries = createQueryBus<Queries>();
queries.register('OrdersByCustomer', ({ customerId }) => ordersByCustomer.get(customerId) ?? []);

let last = 0;
for (const [orderId, customerId, total] of [
  ['1', 'alice', 30],
  ['2', 'bob', 12],
  ['3', 'alice', 7],
] as const) {
  ({ position: last } = await commands.execute(
    'PlaceOrder',
    { orderId, customerId, total },
    { correlationId: `req-${orderId}` },
  ));
}

// read your own write: wait until the projection got past the last append, then query
await runner.waitFor(last, { timeoutMs: 2_000 });
console.log('alice:', await queries.execute('OrdersByCustomer', { customerId: 'alice' }));
console.log('bob:  ', await queries.execute('OrdersByCustomer', { customerId: 'bob' }));

// a retried command appends the same event id again: stored once, same position returned
const again = await commands.execute('PlaceOrder', { orderId: '1', customerId: 'alice', total: 30 });
console.log('order 1 placed again: position', again.position, '(stored once)');
// a writer that decided on a stale version gets a ConcurrencyError instead of overwriting
try {
  await store.append('order-2', [{ type: 'OrderCancelled', data: {} }], { expectedVersion: 'no-stream' });
} catch (error) {
  console.log('stale write to order-2:', error instanceof ConcurrencyError ? error.code : error);
}
try {
  await commands.execute('PlaceOrder', { orderId: '4', customerId: 'carol', total: 0 });
} catch (error) {
  console.log('rejected by validation:', (error as Error).message);
}

// rebuild the read model from the log: same result
await runner.rebuild('orders-by-customer');
console.log(
  'after rebuild, alice has',
  (await queries.execute('OrdersByCustomer', { customerId: 'alice' })).length,
  'orders',
);

for await (const event of store.readStream('order-1')) {
  console.log(`order-1 v${event.version} @${event.position}: ${event.type}`, event.metadata);
}
await runner.stop();
