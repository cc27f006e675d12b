import { Agent, get, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrewarmer, warmHttp } from '../../src/prewarm/index';
import { runIsolated } from '../support/isolated';
import { type CountingServer, startCountingServer } from './support/http-server';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function server(handler?: Parameters<typeof startCountingServer>[0]): Promise<CountingServer> {
  const started = await startCountingServer(handler);
  cleanup.push(() => started.close());
  return started;
}

function keepAliveAgent(options: ConstructorParameters<typeof Agent>[0] = {}): Agent {
  const agent = new Agent({ keepAlive: true, ...options });
  cleanup.push(() => agent.destroy());
  return agent;
}

/** Sends `n` requests at once through `agent` and waits for all the responses. */
function burst(url: string, agent: Agent, n: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        get(url, { agent }, resolve).on('error', reject);
      });
      response.resume();
      await new Promise((resolve) => response.on('end', resolve));
      return response.statusCode ?? 0;
    }),
  );
}

describe('warmHttp', () => {
  it('opens N keep-alive connections per origin, which later requests reuse', async () => {
    const upstream = await server();
    const agent = keepAliveAgent();
    const result = await warmHttp([`${upstream.url}/healthz`], { agent, connections: 4 })();

    expect(upstream.connections()).toBe(4);
    expect(upstream.requests()).toBe(4);
    expect(result.origins).toEqual([
      { origin: upstream.url, opened: 4, reused: 0, statuses: [200, 200, 200, 200], durationMs: expect.any(Number) },
    ]);

    // Four requests at once: all find a warm socket, so the server sees no new connection.
    expect(await burst(`${upstream.url}/`, agent, 4)).toEqual([200, 200, 200, 200]);
    expect(upstream.connections()).toBe(4);
  });

  it('tops the pool up when run again instead of growing it, and warms each origin once', async () => {
    const a = await server();
    const b = await server();
    const agent = keepAliveAgent();
    const warm = warmHttp([`${a.url}/one`, `${a.url}/two`, `${b.url}/`], { agent, connections: 3 });
    await warm();
    const again = await warm();
    expect(a.connections()).toBe(3);
    expect(b.connections()).toBe(3);
    expect(again.origins.map((origin) => [origin.opened, origin.reused])).toEqual([
      [0, 3],
      [0, 3],
    ]);
  });

  it('fails with ERR_PREWARM_HTTP on a 5xx answer and on a stopped server', async () => {
    const broken = await server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const agent = keepAliveAgent();
    await expect(warmHttp([broken.url], { agent })()).rejects.toMatchObject({
      code: 'ERR_PREWARM_HTTP',
      message: expect.stringContaining('503'),
    });

    const stopped = await startCountingServer();
    await stopped.close();
    await expect(warmHttp([stopped.url], { agent })()).rejects.toMatchObject({
      code: 'ERR_PREWARM_HTTP',
      cause: expect.objectContaining({ code: 'ECONNREFUSED' }),
    });
  });

  it('accepts the statuses it is told to', async () => {
    const notFound = await server((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const agent = keepAliveAgent();
    await expect(warmHttp([notFound.url], { agent, acceptStatus: (s) => s === 200 })()).rejects.toMatchObject({
      code: 'ERR_PREWARM_HTTP',
    });
    await expect(warmHttp([notFound.url], { agent })()).resolves.toMatchObject({ origins: [{ statuses: [404] }] });
  });

  it('is timed out by its task against a hanging server, and the aborted requests close their sockets', async () => {
    const hanging = await server(() => {});
    const agent = keepAliveAgent();
    const report = await createPrewarmer()
      .add({ name: 'api', run: warmHttp([hanging.url], { agent, connections: 2 }), timeoutMs: 100 })
      .run();
    expect(report.tasks[0]?.status).toBe('timed-out');
    expect(hanging.connections()).toBe(2);
    for (let i = 0; i < 50 && hanging.open() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(hanging.open()).toBe(0);
  });

  it('cancels the requests still in flight, to every origin, once one fails, so no socket of the agent is held', async () => {
    const hanging = await server(() => {});
    const down = await startCountingServer();
    await down.close(); // nothing listens there any more: connection refused
    const agent = keepAliveAgent({ maxSockets: 4 });
    const report = await createPrewarmer()
      .add({ name: 'api', run: warmHttp([down.url, hanging.url], { agent, connections: 4 }), timeoutMs: 60_000 })
      .run();
    expect(report.tasks[0]).toMatchObject({ status: 'failed', error: { code: 'ERR_PREWARM_HTTP' } });
    for (let i = 0; i < 50 && (hanging.open() > 0 || hanging.connections() < 4); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(hanging.connections()).toBe(4);
    // Left open, these requests would hold all of the agent's 4 sockets to the origin for good,
    // and the service's own requests would queue behind them.
    expect(hanging.open()).toBe(0);
  });

  it('leaves a warm pool that does not keep the process alive by itself', async () => {
    const upstream = await server();
    const result = await runIsolated(`
      import { Agent } from 'node:http';
      import { warmHttp } from './src/prewarm/index.ts';
      const agent = new Agent({ keepAlive: true });
      const { origins } = await warmHttp(['${upstream.url}/'], { agent, connections: 3 })();
      console.log(origins[0].opened);
    `);
    expect(result).toMatchObject({ hung: false, code: 0, stderr: '' });
    expect(result.stdout.trim()).toBe('3');
    expect(upstream.connections()).toBe(3);
  });

  it('rejects bad input with ERR_PREWARM_OPTIONS at the call', () => {
    const url = 'http://127.0.0.1:1/';
    const cases: [unknown, unknown][] = [
      [[], {}],
      [['not a url'], {}],
      [['ftp://example.com/'], {}],
      [[url], { connections: 0 }],
      [[url], { agent: new Agent({ keepAlive: false }) }],
      [[url], { agent: new Agent({ keepAlive: true, maxSockets: 2 }), connections: 4 }],
      [['https://example.com/'], { agent: new Agent({ keepAlive: true }) }],
      [[url], { agent: {} }],
      [[url], null],
      [[url], 'x'],
    ];
    for (const [urls, options] of cases) {
      expect(() => warmHttp(urls as never, options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }),
      );
    }
  });

  it('refuses a method or header that Node cannot send with ERR_PREWARM_OPTIONS at the call, not on every attempt', async () => {
    const upstream = await server();
    const cases: object[] = [
      { method: 'GET /' },
      { method: 42 },
      { headers: { 'x-api-key': undefined } }, // { 'x-api-key': process.env.API_KEY }, unset
      { headers: { 'x-trace': 'a\nb' } },
      { headers: { 'bad name': 'x' } },
      { headers: 'x-api-key: 1' },
    ];
    for (const options of cases) {
      expect(() => warmHttp([upstream.url], options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }),
      );
    }
    expect(upstream.requests()).toBe(0);
    await expect(
      warmHttp([upstream.url], { method: 'HEAD', headers: { 'x-a': 'b', 'x-n': 1 as never, 'x-l': ['c', 'd'] } })(),
    ).resolves.toMatchObject({ origins: [{ statuses: [200] }] });
  });
});
