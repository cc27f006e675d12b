import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { createSseStream } from '../../src/realtime/sse-server';
import { type KillableServer, killableServer } from './support/servers';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(handler: Parameters<typeof killableServer>[0]): Promise<KillableServer> {
  const server = await killableServer(handler);
  cleanup.push(() => server.kill());
  return server;
}

/** A raw client, so a test can leave early or stop reading as a real one might. */
async function rawRequest(server: KillableServer): Promise<Socket> {
  const client = connect(server.port, '127.0.0.1');
  cleanup.push(() => client.destroy());
  await once(client, 'connect');
  client.write('GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
  return client;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

const activeTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('createSseStream', () => {
  it('is closed from the start on a response whose client already left, and starts no heartbeat', async () => {
    let seen: { timersStarted: number; closed: boolean; sent: boolean; commented: boolean } | undefined;
    const server = await serve(async (_req, res) => {
      await once(res, 'close'); // the client leaves while the handler awaits (an auth lookup, say)
      const before = activeTimers();
      const stream = createSseStream(res, { heartbeatMs: 5, retryMs: 100 });
      seen = {
        timersStarted: activeTimers() - before,
        closed: stream.closed,
        sent: stream.send({ data: 'to nobody' }),
        commented: stream.comment('to nobody'),
      };
      stream.close();
    });
    const client = await rawRequest(server);
    await until(() => server.requests.length === 1);
    client.destroy();
    await until(() => seen !== undefined);
    expect(seen).toEqual({ timersStarted: 0, closed: true, sent: false, commented: false });
  });
});
