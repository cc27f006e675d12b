import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { service as healthDefinition } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import { healthService, serverAuthInterceptor } from '../../src/grpc/index';
import { warmGrpc } from '../../src/prewarm/index';
import { cleanups, startLab } from './support/lab';

const after = cleanups();
afterEach(() => after.run());

/** A client built from the grpc-health-check package's own proto: proof of wire compatibility. */
interface HealthClient extends Client {
  Check(
    request: { service: string },
    metadata: Metadata,
    options: object,
    callback: (error: ServiceError | null, response?: { status: string }) => void,
  ): void;
  Watch(request: { service: string }, metadata: Metadata, options: object): NodeJS.EventEmitter & { cancel(): void };
}
const HealthClient = makeGenericClientConstructor(healthDefinition, 'grpc.health.v1.Health');

/** The statuses a Watch on `service` receives until the server ends it. */
async function watchToEnd(client: HealthClient, service: string): Promise<string[]> {
  const seen: string[] = [];
  const watch = client.Watch({ service }, new Metadata(), {});
  watch.on('data', (response: { status: string }) => seen.push(response.status));
  watch.on('error', () => {});
  await new Promise<void>((resolve) => watch.on('end', () => resolve()));
  return seen;
}

async function serve(health = healthService()) {
  const server = after.add(
    await startLab({
      // Health checks come from probes that carry no credentials.
      interceptors: [serverAuthInterceptor({ verify: () => undefined, skip: (m) => m.startsWith('/grpc.health.v1.') })],
      services: [[health.definition, health.implementation as never]],
    }),
    (s) => s.stop(),
  );
  const client = after.add(
    new HealthClient(server.address, credentials.createInsecure()) as unknown as HealthClient,
    (c) => c.close(),
  );
  const check = (service: string) =>
    new Promise<{ status: string } | ServiceError>((resolve) =>
      client.Check({ service }, new Metadata(), {}, (error, response) =>
        resolve(error ?? (response as { status: string })),
      ),
    );
  return { server, client, health, check };
}

describe('healthService', () => {
  it('answers grpc.health.v1 Check as the grpc-health-check client expects', async () => {
    const { check, health } = await serve(
      healthService({ statuses: { '': 'SERVING', 'orders.v1.Orders': 'NOT_SERVING' } }),
    );
    await expect(check('')).resolves.toEqual({ status: 'SERVING' });
    await expect(check('orders.v1.Orders')).resolves.toEqual({ status: 'NOT_SERVING' });
    await expect(check('nope.v1.Nope')).resolves.toMatchObject({ code: status.NOT_FOUND });
    health.setStatus('orders.v1.Orders', 'SERVING');
    await expect(check('orders.v1.Orders')).resolves.toEqual({ status: 'SERVING' });
    health.setStatus('a-service-name-longer-than-127-bytes.'.repeat(5), 'UNKNOWN');
    await expect(check('a-service-name-longer-than-127-bytes.'.repeat(5))).resolves.toEqual({ status: 'UNKNOWN' });
    expect(health.getStatus('orders.v1.Orders')).toBe('SERVING');
  });

  it('streams Watch updates, and ends the watches on shutdown so the server can stop', async () => {
    const { client, health, server } = await serve();
    const seen: string[] = [];
    const unknown: string[] = [];
    const watch = client.Watch({ service: '' }, new Metadata(), {});
    const ended = new Promise<void>((resolve) => watch.on('end', () => resolve()));
    watch.on('data', (response: { status: string }) => seen.push(response.status));
    const other = client.Watch({ service: 'later.v1.Later' }, new Metadata(), {});
    other.on('data', (response: { status: string }) => unknown.push(response.status));
    other.on('error', () => {});
    await until(() => seen.length === 1 && unknown.length === 1);
    health.setStatus('', 'NOT_SERVING');
    health.setStatus('later.v1.Later', 'SERVING');
    await until(() => seen.length === 2 && unknown.length === 2);
    health.shutdown();
    await ended;
    // '' was NOT_SERVING already: shutdown() changed nothing for it, so its watcher hears nothing more
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    expect(unknown).toEqual(['SERVICE_UNKNOWN', 'SERVING', 'NOT_SERVING']);
    other.cancel();
    await new Promise<void>((resolve) => server.server.tryShutdown(() => resolve()));
  });

  it('sends a watcher a status only when it changes, as grpc.health.v1 specifies', async () => {
    const { client, health } = await serve();
    const seen: string[] = [];
    const watch = after.add(client.Watch({ service: '' }, new Metadata(), {}), (w) => w.cancel());
    watch.on('data', (response: { status: string }) => seen.push(response.status));
    watch.on('error', () => {});
    await until(() => seen.length === 1);
    health.setStatus('', 'SERVING');
    health.setStatus('', 'SERVING');
    health.setStatus('', 'NOT_SERVING');
    health.setStatus('', 'NOT_SERVING');
    health.setStatus('', 'SERVING');
    // one stream keeps its order: a duplicate would arrive before the last change
    await until(() => seen.length >= 3);
    expect(seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
  });

  it('forgets a watched service once its last watcher leaves, so remote clients cannot grow it without bound', async () => {
    const { value: health, maps } = trackMaps(() => healthService());
    const { client, check } = await serve(health);
    const entries = () => maps.reduce((sum, map) => sum + map.size, 0);
    const atStart = entries();
    const watch = (service: string) => {
      const call = client.Watch({ service }, new Metadata(), {});
      call.on('error', () => {});
      return new Promise<typeof call>((resolve) => call.once('data', () => resolve(call)));
    };

    const calls = await Promise.all(Array.from({ length: 100 }, (_, i) => watch(`unknown.v1.Service${i}`)));
    // proof that what is counted holds the watchers: otherwise the count below would prove nothing
    expect(entries()).toBeGreaterThanOrEqual(atStart + 100);
    for (const call of calls) call.cancel();
    await until(() => entries() === atStart, 5_000);
    expect(entries()).toBe(atStart);

    // a second watcher of the same service keeps it watched when the first leaves
    const [first, second] = await Promise.all([watch('orders.v1.Orders'), watch('orders.v1.Orders')]);
    const seen: string[] = [];
    second.on('data', (response: { status: string }) => seen.push(response.status));
    first.cancel();
    await sleep(50);
    health.setStatus('orders.v1.Orders', 'SERVING');
    await until(() => seen.length === 1);
    expect(seen).toEqual(['SERVING']);
    second.cancel();
    await until(() => entries() === atStart + 1, 5_000); // orders.v1.Orders now has a status
    expect(entries()).toBe(atStart + 1);

    // lookups create nothing
    await check('never.v1.Set');
    expect(health.getStatus('never.v1.Set')).toBeUndefined();
    expect(entries()).toBe(atStart + 1);
  });

  it('ignores setStatus() after shutdown(), as grpc-go does, so a late update cannot call traffic back', async () => {
    const { client, health, check } = await serve(healthService({ statuses: { '': 'SERVING', 'a.v1.A': 'SERVING' } }));
    health.shutdown();
    // a warm-up or a dependency check that finishes while the server drains
    health.setStatus('', 'SERVING');
    health.setStatus('b.v1.B', 'SERVING');
    expect(health.getStatus('')).toBe('NOT_SERVING');
    expect(health.getStatus('b.v1.B')).toBeUndefined();
    await expect(check('')).resolves.toEqual({ status: 'NOT_SERVING' });
    await expect(check('a.v1.A')).resolves.toEqual({ status: 'NOT_SERVING' });
    await expect(check('b.v1.B')).resolves.toMatchObject({ code: status.NOT_FOUND });
    expect(await watchToEnd(client, '')).toEqual(['NOT_SERVING']);
    // bad input is still refused at the call
    expect(() => health.setStatus('', 'READY' as never)).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
  });

  it('ends a Watch opened after shutdown at once, so a watcher that reconnects cannot hold up tryShutdown', async () => {
    const { client, health, server } = await serve();
    health.shutdown();
    // A load balancer whose watch was ended by shutdown() watches again while the server drains.
    expect(await watchToEnd(client, '')).toEqual(['NOT_SERVING']);
    await new Promise<void>((resolve) => server.server.tryShutdown(() => resolve()));
  });

  it("is what patchbay/prewarm's warmGrpc checks", async () => {
    const health = healthService({ statuses: { '': 'NOT_SERVING' } });
    const { server } = await serve(health);
    const Any = makeGenericClientConstructor({}, 'patchbay.test.Lab');
    const lab = after.add(new Any(server.address, credentials.createInsecure()), (c) => c.close());
    await expect(warmGrpc(lab, { deadlineMs: 2_000 })()).rejects.toMatchObject({ code: 'ERR_PREWARM_GRPC' });
    health.setStatus('', 'SERVING');
    await expect(warmGrpc(lab, { deadlineMs: 2_000 })()).resolves.toMatchObject({ health: 'SERVING' });
  });

  it('rejects bad statuses with ERR_GRPC_OPTIONS', () => {
    expect(() => healthService({ statuses: { '': 'READY' as never } })).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    expect(() => healthService().setStatus('', 'SERVICE_UNKNOWN' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    expect(() => healthService(null as never)).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
    // a value String() cannot render is still named, not a TypeError
    expect(() => healthService().setStatus('', Object.create(null) as never)).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS', message: expect.stringContaining('got an object') }),
    );
  });
});

async function until(condition: () => boolean, withinMs = 2_000): Promise<void> {
  const giveUp = Date.now() + withinMs;
  while (!condition() && Date.now() < giveUp) await sleep(5);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `create` while every `new Map()` is recorded, and returns what it made with those maps:
 * the health service keeps its state in maps and exposes no count, and a remote client's growth
 * of that state is what a test must see. Strings (the service names) cannot be weakly referenced
 * and the heap is too noisy beside gRPC's own allocations, so the maps are counted directly.
 */
function trackMaps<T>(create: () => T): { value: T; maps: Map<unknown, unknown>[] } {
  const maps: Map<unknown, unknown>[] = [];
  const Original = globalThis.Map;
  globalThis.Map = class extends Original<unknown, unknown> {
    constructor(entries?: Iterable<readonly [unknown, unknown]> | null) {
      super(entries);
      maps.push(this);
    }
  } as MapConstructor;
  try {
    return { value: create(), maps };
  } finally {
    globalThis.Map = Original;
  }
}
