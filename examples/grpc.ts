// An orders service and its client, each behind patchbay's recommended interceptor chain:
// a flaky first start that the client retries through, a bug whose message never leaves the
// server, a caller without a token, a burst over the rate limit, and the standard health check.
// Run: npm run build && node examples/grpc.ts
import {
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import {
  authInterceptor,
  bearerToken,
  deadlineInterceptor,
  type GrpcLogEntry,
  healthService,
  identityOf,
  loggingInterceptor,
  metricsInterceptor,
  recoverHandlers,
  retryInterceptor,
  serverAuthInterceptor,
  serverDeadlineInterceptor,
  serverLoggingInterceptor,
  serverRateLimitInterceptor,
  serverRecoveryInterceptor,
} from 'patchbay/grpc';
import { slidingWindow } from 'patchbay/ratelimit';

// A real service gets this from its .proto through @grpc/proto-loader; JSON keeps the example in one file.
const json = {
  requestSerialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  requestDeserialize: (buffer: Buffer) => JSON.parse(buffer.toString()),
  responseSerialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  responseDeserialize: (buffer: Buffer) => JSON.parse(buffer.toString()),
};
const OrdersService: ServiceDefinition = {
  Get: { path: '/shop.v1.Orders/Get', requestStream: false, responseStream: false, ...json },
  List: { path: '/shop.v1.Orders/List', requestStream: false, responseStream: true, ...json },
};

interface Order {
  id: string;
  owner: string;
}
const orders: Order[] = [
  { id: 'o-1', owner: 'alice' },
  { id: 'o-2', owner: 'alice' },
  { id: 'o-3', owner: 'bob' },
];
const tokens: Record<string, string> = { 'alice-token': 'alice', 'bob-token': 'bob' };

const line = (entry: GrpcLogEntry) =>
  `  [${entry.side} log] ${entry.method} ${entry.status}${entry.details ? ` (${entry.details})` : ''}`;
const logger = {
  info: (e: GrpcLogEntry) => console.log(line(e)),
  warn: (e: GrpcLogEntry) => console.log(line(e)),
  error: (e: GrpcLogEntry) => console.log(line(e)),
};

// --- server ---------------------------------------------------------------------------------
let starts = 0;
const implementation = recoverHandlers({
  async Get(call: ServerUnaryCall<{ id: string }, Order>, callback: sendUnaryData<Order>) {
    if (++starts <= 2) return callback({ code: status.UNAVAILABLE, details: 'still warming up' });
    if (call.request.id === 'crash') throw new Error('db password=hunter2 rejected at /srv/db.ts:42');
    const order = orders.find((o) => o.id === call.request.id && o.owner === identityOf<string>(call));
    callback(order ? null : { code: status.NOT_FOUND, details: 'no such order' }, order ?? null);
  },
  List(call: ServerWritableStream<object, Order>) {
    for (const order of orders.filter((o) => o.owner === identityOf<string>(call))) call.write(order);
    call.end();
  },
});

const isHealth = (method: string) => method.startsWith('/grpc.health.v1.');
const health = healthService();
const server = new Server({
  interceptors: [
    serverLoggingInterceptor({ logger }),
    serverRecoveryInterceptor({ onError: ({ method }) => console.log(`  [server] hid a failure of ${method}`) }),
    serverDeadlineInterceptor({ maxMs: 30_000, skip: isHealth }),
    serverAuthInterceptor({ verify: (metadata) => tokens[bearerToken(metadata) ?? ''], skip: isHealth }),
    serverRateLimitInterceptor({
      limiter: slidingWindow({ limit: 6, windowMs: 1_000 }),
      key: (call) => identityOf<string>(call) ?? call.getPeer(),
      skip: isHealth,
    }),
  ],
});
server.addService(OrdersService, implementation);
server.addService(health.definition, health.implementation);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
    error ? reject(error) : resolve(bound),
  ),
);

// --- client ---------------------------------------------------------------------------------
interface OrdersClient {
  Get(request: { id: string }, callback: (error: ServiceError | null, order?: Order) => void): void;
  List(request: object): NodeJS.ReadableStream;
  close(): void;
}
type Insecure = ReturnType<typeof credentials.createInsecure>;
// Generic clients have no method types; a generated (or proto-loader) client has them.
const Orders = makeGenericClientConstructor(OrdersService, 'Orders') as unknown as new (
  address: string,
  creds: Insecure,
  options: object,
) => OrdersClient;
const chain = (token: string) => [
  loggingInterceptor({ logger }),
  metricsInterceptor({
    onCall: (m) => console.log(`  [client metrics] ${m.method} ${m.status} ${m.durationMs.toFixed(1)} ms`),
  }),
  deadlineInterceptor({ defaultMs: 2_000 }),
  retryInterceptor({
    backoff: { initialMs: 50 },
    onRetry: (e) => console.log(`  [client] attempt ${e.attempt} after ${status[e.code]}, waiting ${e.delayMs} ms`),
  }),
  authInterceptor({ token: async () => token }),
];
const address = `127.0.0.1:${port}`;
const alice = new Orders(address, credentials.createInsecure(), { interceptors: chain('alice-token') });
const bob = new Orders(address, credentials.createInsecure(), { interceptors: chain('bob-token') });
const stranger = new Orders(address, credentials.createInsecure(), { interceptors: chain('forged') });

const get = (client: OrdersClient, id: string) =>
  new Promise<string>((resolve) =>
    client.Get({ id }, (error, order) =>
      resolve(error ? `${status[error.code]}: ${error.details}` : `order ${order?.id} of ${order?.owner}`),
    ),
  );

console.log('1. The server fails its first two calls; the client retries:');
console.log(`   -> ${await get(alice, 'o-1')}`);
console.log('2. A handler bug: the client gets INTERNAL, never the message:');
console.log(`   -> ${await get(alice, 'crash')}`);
console.log('3. A caller with a forged token:');
console.log(`   -> ${await get(stranger, 'o-1')}`);
console.log('4. A server stream, filtered by the identity the auth interceptor verified:');
const listed: string[] = [];
for await (const order of alice.List({}) as AsyncIterable<Order>) listed.push(order.id);
console.log(`   -> ${listed.join(', ')}`);
console.log('5. Bob sends 8 calls at once, over his limit of 6 a second; the 2 denied wait out the pushback:');
const burst = await Promise.all(Array.from({ length: 8 }, () => get(bob, 'o-3')));
console.log(`   -> ${burst.filter((r) => r.startsWith('order')).length} of 8 answered: ${burst[7]}`);

const Health = makeGenericClientConstructor(health.definition, 'Health') as unknown as new (
  address: string,
  creds: Insecure,
) => {
  Check(request: { service: string }, callback: (error: ServiceError | null, reply?: { status: number }) => void): void;
  close(): void;
};
const probe = new Health(address, credentials.createInsecure());
const check = () =>
  new Promise<string>((resolve) =>
    probe.Check({ service: '' }, (error, reply) =>
      resolve(error ? error.message : (['UNKNOWN', 'SERVING', 'NOT_SERVING'][reply?.status ?? 0] ?? '?')),
    ),
  );
const before = await check();
health.shutdown();
console.log(`6. Health check: ${before}; after health.shutdown(): ${await check()}`);

for (const client of [alice, bob, stranger, probe]) client.close();
await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
