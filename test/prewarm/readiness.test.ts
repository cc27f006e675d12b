import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrewarmer, readinessHandler } from '../../src/prewarm/index';
import { runIsolated } from '../support/isolated';

let server: Server | undefined;

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
}

afterEach(async () => {
  const current = server;
  server = undefined;
  if (current === undefined) return;
  current.closeAllConnections();
  await new Promise((resolve) => current.close(resolve));
});

describe('readinessHandler', () => {
  it('answers 503 before the first run and 200 with the report once ready, over real HTTP', async () => {
    const prewarmer = createPrewarmer().add({ name: 'dns', run: async () => ['127.0.0.1'] });
    const url = await serve(readinessHandler(prewarmer));

    const before = await fetch(url);
    expect(before.status).toBe(503);
    expect(before.headers.get('content-type')).toMatch(/^application\/json/);
    expect(before.headers.get('cache-control')).toBe('no-store');
    expect(await before.json()).toEqual({ ready: false, degraded: false, pending: ['dns'], failed: [], report: null });

    await prewarmer.run();
    const after = await fetch(url);
    expect(after.status).toBe(200);
    const body = await after.json();
    expect(body).toMatchObject({ ready: true, pending: [], failed: [], report: { ready: true } });
    // Task results can name internal hosts: they stay out of the probe's body.
    expect(body.report.tasks).toEqual([
      { name: 'dns', status: 'ok', required: true, attempts: 1, durationMs: expect.any(Number) },
    ]);
  });

  it('answers 503 with the failed tasks and their error codes when a required task failed', async () => {
    const prewarmer = createPrewarmer()
      .add({
        name: 'redis',
        run: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
        },
      })
      .add({ name: 'cache', dependsOn: ['redis'], run: async () => {} });
    await prewarmer.run();
    const url = await serve(readinessHandler(prewarmer));

    const response = await fetch(url);
    expect(response.status).toBe(503);
    const body = await response.json();
    expect(body).toMatchObject({ ready: false, failed: ['redis', 'cache'] });
    expect(body.report.tasks).toEqual([
      expect.objectContaining({
        name: 'redis',
        status: 'failed',
        error: { message: 'connect ECONNREFUSED 127.0.0.1:6390', code: 'ECONNREFUSED' },
      }),
      expect.objectContaining({
        name: 'cache',
        status: 'skipped',
        error: expect.objectContaining({ code: 'ERR_PREWARM_DEPENDENCY' }),
      }),
    ]);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(await head.text()).toBe('');
  });

  it('answers, and the process lives on, when a task failed with a value that cannot be shown as text', async () => {
    // In a child process: the handler runs in the server's 'request' event, where a throw is uncaught.
    const result = await runIsolated(`
      import { createServer } from 'node:http';
      import { createPrewarmer, readinessHandler } from './src/prewarm/index.ts';
      const { proxy: revoked, revoke } = Proxy.revocable({}, {});
      revoke();
      const failures = {
        'null-prototype': Object.create(null),
        'throwing-toString': { toString() { throw new Error('no text'); } },
        'throwing-message': Object.defineProperty(new Error(), 'message', { get() { throw new Error('no message'); } }),
        'throwing-code': Object.defineProperty(new Error('refused'), 'code', { get() { throw new Error('no code'); } }),
        'revoked-proxy': revoked,
      };
      const prewarmer = createPrewarmer();
      for (const [name, value] of Object.entries(failures)) prewarmer.add({ name, run: () => Promise.reject(value) });
      await prewarmer.run();
      const server = createServer(readinessHandler(prewarmer)).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const url = 'http://127.0.0.1:' + server.address().port + '/readyz';
      const response = await fetch(url);
      const body = await response.json();
      const head = await fetch(url, { method: 'HEAD' });
      server.closeAllConnections();
      server.close();
      console.log(JSON.stringify({ status: response.status, head: head.status, errors: body.report.tasks.map((t) => t.error) }));
    `);
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    expect(result.code).toBe(0);
    const { status, head, errors } = JSON.parse(result.stdout);
    expect(status).toBe(503);
    expect(head).toBe(503);
    expect(errors).toHaveLength(5);
    for (const error of errors) expect(error).toEqual({ message: expect.any(String) });
    expect(errors[0]).toEqual({ message: expect.stringContaining('object') });
    expect(errors[3]).toEqual({ message: 'refused' });
  });

  it('rejects something that is not a prewarmer with ERR_PREWARM_OPTIONS', () => {
    expect(() => readinessHandler({} as never)).toThrow(expect.objectContaining({ code: 'ERR_PREWARM_OPTIONS' }));
  });
});
