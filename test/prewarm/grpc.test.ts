import { type Client, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError } from '../../src/core/errors';
import { createPrewarmer, type GrpcReadyClient, warmGrpc } from '../../src/prewarm/index';
import { runIsolated } from '../support/isolated';
import { freePort } from '../support/redis-server';
import { NOT_SERVING, SERVING, startGrpcServer, type TestGrpcServer } from './support/grpc-server';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const EchoClient = makeGenericClientConstructor({}, 'test.Echo');

function client(address: string): Client {
  const created = new EchoClient(address, credentials.createInsecure());
  cleanup.push(() => created.close());
  return created;
}

async function server(options?: { healthStatus?: number }): Promise<TestGrpcServer> {
  const started = await startGrpcServer(options);
  cleanup.push(() => started.stop());
  return started;
}

describe('warmGrpc', () => {
  it('connects the channel and reports SERVING from the standard health check', async () => {
    const upstream = await server({ healthStatus: SERVING });
    const orders = client(upstream.address);
    // A grpc-js client fits the structural type with no cast.
    const ready: GrpcReadyClient = orders;
    const result = await warmGrpc(ready, { deadlineMs: 5_000, healthService: 'test.Echo' })();
    expect(result).toEqual({ health: 'SERVING', durationMs: expect.any(Number) });
    expect(upstream.healthChecks).toEqual(['test.Echo']);
    expect(orders.getChannel().getConnectivityState(false)).toBe(2); // READY
  });

  it('asks about the whole server by default, and accepts a server without a health service', async () => {
    const withHealth = await server({ healthStatus: SERVING });
    await warmGrpc(client(withHealth.address), { deadlineMs: 5_000 })();
    expect(withHealth.healthChecks).toEqual(['']);

    const without = await server();
    await expect(warmGrpc(client(without.address), { deadlineMs: 5_000 })()).resolves.toMatchObject({
      health: 'unimplemented',
    });
    await expect(
      warmGrpc(client(without.address), { deadlineMs: 5_000, healthService: false })(),
    ).resolves.toMatchObject({ health: 'skipped' });
  });

  it('fails with ERR_PREWARM_GRPC when the server says it is not serving', async () => {
    const draining = await server({ healthStatus: NOT_SERVING });
    await expect(warmGrpc(client(draining.address), { deadlineMs: 5_000 })()).rejects.toMatchObject({
      code: 'ERR_PREWARM_GRPC',
      message: expect.stringContaining('NOT_SERVING'),
    });
  });

  it('fails with ERR_PREWARM_GRPC when nothing listens before the deadline; a retry finds a server started later', async () => {
    const port = await freePort();
    const orders = client(`127.0.0.1:${port}`);
    await expect(warmGrpc(orders, { deadlineMs: 200 })()).rejects.toMatchObject({ code: 'ERR_PREWARM_GRPC' });

    const upstream = await server({ healthStatus: SERVING });
    const report = await createPrewarmer()
      .add({ name: 'grpc', run: warmGrpc(client(upstream.address), { deadlineMs: 2_000 }) })
      .run();
    expect(report.tasks[0]).toMatchObject({ status: 'ok', result: { health: 'SERVING' } });
  });

  it("lets the process exit once an aborted warm-up's client is closed, long before its deadline", async () => {
    const port = await freePort();
    const result = await runIsolated(`
      import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
      import { createPrewarmer, warmGrpc } from './src/prewarm/index.ts';
      const client = new (makeGenericClientConstructor({}, 'test.Echo'))('127.0.0.1:${port}', credentials.createInsecure());
      const report = await createPrewarmer({ deadlineMs: 100 })
        .add({ name: 'grpc', run: warmGrpc(client, { deadlineMs: 60_000 }) })
        .run();
      client.close();
      console.log(report.tasks[0].status);
    `);
    expect(result).toMatchObject({ hung: false, code: 0, stderr: '' });
    expect(result.stdout.trim()).toBe('timed-out');
  });

  it('returns at once on abort, fails for a closed client, and rejects bad input at the call', async () => {
    const upstream = await server();
    await expect(warmGrpc(client(upstream.address), { deadlineMs: 1_000 })(AbortSignal.abort())).rejects.toBeInstanceOf(
      AbortError,
    );
    expect(() => warmGrpc({} as never, { deadlineMs: 100 })).toThrow(
      expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }),
    );
    const closed = client(upstream.address);
    closed.close();
    await expect(warmGrpc(closed, { deadlineMs: 1_000 })()).rejects.toMatchObject({
      code: 'ERR_PREWARM_GRPC',
      message: expect.stringContaining('closed'),
    });
    const orders = client(upstream.address);
    for (const options of [{ deadlineMs: 0 }, {}, { deadlineMs: 100, healthService: 1 }]) {
      expect(() => warmGrpc(orders, options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }),
      );
    }
  });
});
