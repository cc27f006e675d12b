import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { ReconnectingEventSource } from '../../src/realtime/event-source';
import { createSseStream } from '../../src/realtime/sse-server';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { type KillableServer, killableServer } from './support/servers';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function serve(handler: Parameters<typeof killableServer>[0]): Promise<KillableServer> {
  const server = await killableServer(handler);
  cleanup.push(() => server.kill());
  return server;
}

function open(url: string, options: ConstructorParameters<typeof ReconnectingEventSource>[1] = {}) {
  const source = new ReconnectingEventSource(url, { backoff: { initialMs: 10, maxMs: 50 }, ...options });
  cleanup.push(() => source.close());
  return source;
}

function formData(fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await sleep(5);
    }
  })();
}

describe('ReconnectingEventSource', () => {
  it('speaks the EventSource API: open, message, named events, lastEventId, readyState', async () => {
    const server = await serve((_req, res) => {
      const stream = createSseStream(res);
      stream.send({ id: '1', data: 'hello' });
      stream.send({ id: '2', event: 'order', data: { id: 7 } });
      stream.send({ data: 'line one\nline two' });
    });
    const source = open(server.url);
    expect(source.readyState).toBe(ReconnectingEventSource.CONNECTING);
    const seen: string[] = [];
    let opened = 0;
    source.onopen = () => opened++;
    source.onmessage = (event) => seen.push(`message:${event.data}:${event.lastEventId}`);
    const orders: Event[] = [];
    source.addEventListener('order', (event) => {
      orders.push(event);
      seen.push(`order:${(event as MessageEvent).data}`);
    });
    await until(() => seen.length === 3);
    // a standard MessageEvent, as a browser's EventSource delivers it
    expect(orders[0]).toBeInstanceOf(MessageEvent);
    expect(orders[0]).toMatchObject({ type: 'order', lastEventId: '2', origin: new URL(server.url).origin });
    expect(orders[0]?.target).toBe(source);
    expect(opened).toBe(1);
    expect(source.readyState).toBe(ReconnectingEventSource.OPEN);
    expect(seen).toEqual(['message:hello:1', 'order:{"id":7}', 'message:line one\nline two:2']);
    expect(source.lastEventId).toBe('2');
    source.close();
    expect(source.readyState).toBe(ReconnectingEventSource.CLOSED);
  });

  it('reconnects with Last-Event-ID after the server ends the stream, honouring retry:', async () => {
    let connections = 0;
    const server = await serve((req, res) => {
      connections++;
      const stream = createSseStream(res, { retryMs: 150 });
      const from = Number(req.headers['last-event-id'] ?? 0);
      for (let id = from + 1; id <= from + 3; id++) stream.send({ id: String(id), data: `event ${id}` });
      stream.close();
    });
    const source = open(server.url);
    const ids: string[] = [];
    const reconnects: number[] = [];
    source.onmessage = (event) => ids.push(event.lastEventId);
    source.addEventListener('reconnecting', (event) => reconnects.push((event as CustomEvent).detail.delayMs));
    await until(() => ids.length >= 9);
    source.close();
    expect(ids.slice(0, 9)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(server.requests[0]!['last-event-id']).toBeUndefined();
    expect(server.requests[1]!['last-event-id']).toBe('3');
    expect(server.requests[2]!['last-event-id']).toBe('6');
    expect(Math.min(...reconnects)).toBeGreaterThanOrEqual(150);
    expect(connections).toBeGreaterThanOrEqual(3);
  });

  it('sends a non-ASCII Last-Event-ID as UTF-8, so the server can resume from it', async () => {
    const ids = ['✓42', 'é1', '日本😀'];
    const resumedFrom: string[] = [];
    const server = await serve((req, res) => {
      const header = req.headers['last-event-id'];
      // node:http reads header bytes as Latin-1: decode them as the UTF-8 they are
      if (header !== undefined) resumedFrom.push(Buffer.from(String(header), 'latin1').toString('utf8'));
      const id = ids[server.requests.length - 1];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // the last connection stays open
      if (id === undefined) res.flushHeaders();
      else res.end(`id: ${id}\ndata: ${id}\n\n`);
    });
    const source = open(server.url);
    await until(() => resumedFrom.length === ids.length, 3_000);
    expect(resumedFrom).toEqual(ids);
    expect(source.lastEventId).toBe(ids.at(-1));
  });

  it('resumes from a Last-Event-ID given in headers, then sends only the latest id, however the header is spelled', async () => {
    const server = await serve((req, res) => {
      const from = Number(req.headers['last-event-id']);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`id: ${from + 1}\ndata: ${from + 1}\n\n`);
    });
    // a service resuming from the position it stored, with the header's usual spelling
    const source = open(server.url, { headers: { 'Last-Event-ID': '5', Accept: 'text/event-stream' } });
    await until(() => server.requests.length >= 3);
    source.close();
    expect(server.requests.slice(0, 3).map((h) => h['last-event-id'])).toEqual(['5', '6', '7']);
    expect(server.requests.slice(0, 3).map((h) => h.accept)).toEqual(Array(3).fill('text/event-stream'));
  });

  it('drops an event that grows past maxEventLength and reconnects, instead of buffering it without end', async () => {
    let connections = 0;
    const closed: boolean[] = [];
    const server = await serve((_req, res) => {
      connections++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: small\n\ndata: ');
      const chunk = 'x'.repeat(16 * 1024);
      // One data line that never ends: only the client can stop it.
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => closed.push(!res.writableFinished));
      pump();
    });
    const source = open(server.url, { maxEventLength: 100_000, backoff: { initialMs: 5_000, maxMs: 5_000 } });
    const data: string[] = [];
    const reasons: unknown[] = [];
    source.onmessage = (event) => data.push(event.data);
    source.addEventListener('reconnecting', (event) => reasons.push((event as CustomEvent).detail.reason));
    await until(() => reasons.length === 1 && closed.length === 1);
    source.close();
    expect(reasons[0]).toMatchObject({ code: 'ERR_REALTIME_EVENT_TOO_LARGE' });
    expect(data).toEqual(['small']);
    expect(source.lastEventId).toBe('1');
    expect(closed).toEqual([true]);
    expect(connections).toBe(1);
  });

  it.each(['false', 1, 'true'])(
    'refuses a non-boolean withCredentials (%j): "false" would send cookies',
    (withCredentials) => {
      expect(
        () => new ReconnectingEventSource('http://127.0.0.1:1/', { withCredentials: withCredentials as never }),
      ).toThrow(expect.objectContaining({ code: 'ERR_REALTIME_OPTIONS' }));
    },
  );

  it.each(['not a url', 'ws://example.com/', '/stream', 42])(
    'refuses url %j with ERR_REALTIME_INPUT, not a TypeError',
    (url) => {
      expect(() => new ReconnectingEventSource(url as never)).toThrow(
        expect.objectContaining({ code: 'ERR_REALTIME_INPUT' }),
      );
    },
  );

  it.each([
    ['options null', null],
    ['fetch not a function', { fetch: 'fetch' }],
    ['a method with a space', { method: 'GE T' }],
    ['a header value fetch refuses', { headers: { 'x-token': 'a\nb' } }],
    ['a header name fetch refuses', { headers: { 'bad name': 'x' } }],
    ['backoff not an object', { backoff: 'slow' }],
    ['a backoff core refuses', { backoff: { initialMs: -1 } }],
  ])('refuses %s at construction with ERR_REALTIME_OPTIONS, instead of failing every attempt', (_, options) => {
    expect(() => new ReconnectingEventSource('http://127.0.0.1:1/', options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_REALTIME_OPTIONS' }),
    );
  });

  it.each([
    ['a number as body', { method: 'POST', body: 42 }, /body must be/],
    ['a plain object as body', { method: 'POST', body: { topic: 'orders' } }, /body must be/],
    ['null as body', { method: 'POST', body: null }, /body must be/],
    ['a SharedArrayBuffer as body', { method: 'POST', body: new SharedArrayBuffer(4) }, /body must be/],
    ['a ReadableStream as body (read once)', { method: 'POST', body: new ReadableStream() }, /sent only once/],
    ['an async iterable as body', { method: 'POST', body: (async function* () {})() }, /sent only once/],
    ['a body with the default method, GET', { body: 'x' }, /GET request cannot have a body/],
    ['a body with method get', { method: 'get', body: 'x' }, /GET request cannot have a body/],
    ['a body with method HEAD', { method: 'HEAD', body: 'x' }, /HEAD request cannot have a body/],
  ])('refuses %s at construction with ERR_REALTIME_OPTIONS', (_, options, message) => {
    expect(() => new ReconnectingEventSource('http://127.0.0.1:1/', options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_REALTIME_OPTIONS', message: expect.stringMatching(message) }),
    );
  });

  it.each([
    ['a string', '{"topic":"orders"}', '{"topic":"orders"}'],
    ['a Uint8Array', new TextEncoder().encode('topic=orders'), 'topic=orders'],
    ['an ArrayBuffer', new TextEncoder().encode('topic=orders').buffer, 'topic=orders'],
    ['a Blob', new Blob(['topic=orders']), 'topic=orders'],
    ['URLSearchParams', new URLSearchParams({ topic: 'orders' }), 'topic=orders'],
    ['FormData', formData({ topic: 'orders' }), expect.stringContaining('name="topic"\r\n\r\norders\r\n')],
  ])('sends %s as the body again on every reconnection', async (_, body, expected) => {
    const bodies: string[] = [];
    const server = await serve(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk);
      bodies.push(Buffer.concat(chunks).toString());
      const stream = createSseStream(res, { heartbeatMs: 0 });
      stream.send({ data: 'ok' });
      stream.close(); // the client reconnects, and must send the body again
    });
    const source = open(server.url, { method: 'POST', body });
    await until(() => bodies.length >= 3);
    source.close();
    expect(bodies.slice(0, 3)).toEqual([expected, expected, expected]);
  });

  it('refuses a maxEventLength that is not a positive number', () => {
    expect(() => new ReconnectingEventSource('http://127.0.0.1:1/', { maxEventLength: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_REALTIME_OPTIONS' }),
    );
  });

  it('waits out a retry: longer than a timer can count instead of reconnecting at once', async () => {
    let connections = 0;
    const server = await serve((_req, res) => {
      connections++;
      // A year, far past the 2^31 - 1 ms a timer can count.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('retry: 31536000000\ndata: bye\n\n');
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      const source = open(server.url);
      const reconnects: number[] = [];
      source.addEventListener('reconnecting', (event) => reconnects.push((event as CustomEvent).detail.delayMs));
      await until(() => reconnects.length === 1);
      await sleep(300);
      expect(reconnects).toEqual([31_536_000_000]);
      expect(connections).toBe(1);
      source.close();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it.each([
    ['204 No Content', (res: ServerResponse) => res.writeHead(204).end()],
    [
      'a wrong content type',
      (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
    ],
    ['401', (res: ServerResponse) => res.writeHead(401).end()],
  ])('stops for good on %s', async (_, answer) => {
    const server = await serve((_req, res) => answer(res));
    const source = open(server.url);
    let errors = 0;
    source.onerror = () => errors++;
    await until(() => source.readyState === ReconnectingEventSource.CLOSED);
    await sleep(100);
    expect(server.requests).toHaveLength(1);
    expect(errors).toBe(1);
  });

  it('retries 5xx and network errors, with fresh headers each attempt', async () => {
    let calls = 0;
    const server = await serve((req, res) => {
      calls++;
      if (calls < 3) {
        res.writeHead(503).end();
        return;
      }
      createSseStream(res).send({ data: String(req.headers.authorization) });
    });
    let token = 0;
    const source = open(server.url, { headers: async () => ({ authorization: `Bearer t${++token}` }) });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await until(() => data.length === 1);
    expect(data).toEqual(['Bearer t3']);
    expect(server.requests.map((h) => h.authorization)).toEqual(['Bearer t1', 'Bearer t2', 'Bearer t3']);
  });

  it.each([507, 520, 522, 524])(
    'retries a %i as it does every 5xx (a CDN answers 520-524 while the origin is down), rather than stopping for good',
    async (status) => {
      const server = await serve((_req, res) => {
        if (server.requests.length < 3) res.writeHead(status).end();
        else createSseStream(res).send({ data: 'back' });
      });
      const source = open(server.url);
      const data: string[] = [];
      source.onmessage = (event) => data.push(event.data);
      await until(() => data.length === 1 || source.readyState === ReconnectingEventSource.CLOSED);
      expect(data).toEqual(['back']);
      expect(server.requests).toHaveLength(3);
    },
  );

  it('gives message events the origin of the URL the stream came from after a redirect', async () => {
    const target = await serve((_req, res) => createSseStream(res).send({ data: 'from the target' }));
    const redirect = await serve((_req, res) => {
      res.writeHead(307, { location: target.url });
      res.end();
    });
    const source = open(redirect.url);
    const origins: string[] = [];
    source.onmessage = (event) => origins.push(event.origin);
    await until(() => origins.length === 1);
    expect(origins).toEqual([new URL(target.url).origin]);
    expect(new URL(target.url).origin).not.toBe(new URL(redirect.url).origin);
  });

  it('sends method and body, for POST streams', async () => {
    const server = await serve(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      createSseStream(res).send({ data: `${req.method} ${body}` });
    });
    const source = open(server.url, { method: 'POST', body: '{"topic":"orders"}' });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await until(() => data.length === 1);
    expect(data).toEqual(['POST {"topic":"orders"}']);
  });

  it('reconnects a stream that went silent (idleTimeoutMs), and heartbeats keep it alive', async () => {
    const server = await serve((req, res) => {
      const silent = req.headers['last-event-id'] === undefined;
      const stream = createSseStream(res, { heartbeatMs: silent ? 0 : 20 });
      stream.send({ id: silent ? '1' : '2', data: silent ? 'then silence' : 'heartbeats follow' });
    });
    const source = open(server.url, { idleTimeoutMs: 600 });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await until(() => data.length === 2);
    await sleep(1_500); // heartbeats every 20 ms, well inside 600 ms: no further reconnect
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after maxRetries failed attempts in a row', async () => {
    const server = await serve((_req, res) => res.writeHead(503).end());
    const source = open(server.url, { maxRetries: 3 });
    await until(() => source.readyState === ReconnectingEventSource.CLOSED);
    expect(server.requests).toHaveLength(4);
  });

  it("keeps reconnecting at the backoff's ceiling, with no unhandled rejection, when its random source throws", async () => {
    const faults = recordFaults();
    cleanup.push(() => faults.stop());
    const server = await serve((_req, res) => res.writeHead(503).end());
    const random = (): never => {
      throw new Error('random failed');
    };
    const source = open(server.url, { backoff: { initialMs: 10, maxMs: 20, random } });
    const delays: number[] = [];
    source.addEventListener('reconnecting', (event) => delays.push((event as CustomEvent).detail.delayMs));
    await until(() => server.requests.length >= 4);
    expect(delays.slice(0, 3)).toEqual([10, 20, 20]);
    expect(faults.faults).toEqual([]);
  });

  it('delivers 10 000 events exactly once, in order, while the server is killed and restarted 20 times', async () => {
    const total = 10_000;
    const server = await serve((req, res) => {
      const stream = createSseStream(res, { heartbeatMs: 0 });
      let next = Number(req.headers['last-event-id'] ?? 0) + 1;
      const pump = (): void => {
        if (stream.closed) return;
        for (let i = 0; i < 25 && next <= total; i++, next++) stream.send({ id: String(next), data: String(next) });
        if (next <= total) setTimeout(pump, 1);
      };
      pump();
    });
    const source = open(server.url, { backoff: { initialMs: 5, maxMs: 40 } });
    const received: number[] = [];
    source.onmessage = (event) => received.push(Number(event.data));
    for (let kill = 0; kill < 20; kill++) {
      const before = received.length;
      await until(() => received.length > before + 100 || received.length === total);
      await server.kill();
      await sleep(10);
      await server.start();
    }
    await until(() => received.length >= total, 30_000);
    await sleep(50);
    expect(received).toHaveLength(total);
    expect(received.every((n, i) => n === i + 1)).toBe(true);
    expect(server.requests.length).toBeGreaterThanOrEqual(21);
  });

  it('reports a throwing onerror and keeps reconnecting, with no unhandled rejection', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: hi\n\n'); // every stream ends at once: an error and a reconnection each time
    });
    const result = await runIsolated(
      `
      import { ReconnectingEventSource } from './src/realtime/index';
      const reported = [];
      let rejections = 0;
      process.on('uncaughtException', (error) => reported.push(error.message));
      process.on('unhandledRejection', () => rejections++);
      const source = new ReconnectingEventSource(process.env.URL, { backoff: { initialMs: 5, maxMs: 10 } });
      let errors = 0;
      let opens = 0;
      source.onerror = () => {
        errors++;
        throw new Error('bug in onerror');
      };
      const finish = () => {
        clearTimeout(timer);
        source.close();
        setTimeout(() => console.log(JSON.stringify({ opens, errors, reported, rejections })), 20);
      };
      const timer = setTimeout(finish, 3_000);
      source.addEventListener('open', () => ++opens === 4 && finish());
      `,
      { env: { URL: server.url } },
    );
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    const { opens, errors, reported, rejections } = JSON.parse(result.stdout);
    expect(opens).toBe(4);
    expect(errors).toBeGreaterThanOrEqual(3);
    expect(reported).toEqual(Array(errors).fill('bug in onerror'));
    expect(rejections).toBe(0);
  });

  it('reports a throwing onopen or onmessage and delivers the rest of the chunk, without reconnecting', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\ndata: 2\n\ndata: 3\n\n'); // one chunk, three events; the stream stays open
    });
    const result = await runIsolated(
      `
      import { ReconnectingEventSource } from './src/realtime/index';
      const reported = [];
      process.on('uncaughtException', (error) => reported.push(error.message));
      const source = new ReconnectingEventSource(process.env.URL, { backoff: { initialMs: 5, maxMs: 10 } });
      const got = [];
      let reconnects = 0;
      source.onopen = () => {
        throw new Error('bug in onopen');
      };
      source.onmessage = (event) => {
        got.push(event.data);
        if (event.data === '1') throw new Error('bug in onmessage');
      };
      source.addEventListener('reconnecting', () => reconnects++);
      const finish = () => {
        clearTimeout(timer);
        source.close();
        console.log(JSON.stringify({ got, reconnects, reported }));
      };
      const timer = setTimeout(finish, 3_000);
      source.addEventListener('message', () => got.length === 3 && setTimeout(finish, 100));
      `,
      { env: { URL: server.url } },
    );
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    expect(JSON.parse(result.stdout)).toEqual({
      got: ['1', '2', '3'],
      reconnects: 0,
      reported: ['bug in onopen', 'bug in onmessage'],
    });
  });

  it('announces no reconnection when onerror closes the source, the usual way to stop one', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: hi\n\n');
    });
    const source = open(server.url);
    const reconnecting: unknown[] = [];
    source.addEventListener('reconnecting', (event) => reconnecting.push((event as CustomEvent).detail));
    let errors = 0;
    source.onerror = () => {
      errors++;
      source.close();
    };
    await until(() => errors === 1);
    await sleep(100);
    expect(reconnecting).toEqual([]);
    expect(source.readyState).toBe(ReconnectingEventSource.CLOSED);
    expect(server.requests).toHaveLength(1);
  });

  it('lets the process exit after close(), even mid-reconnect', async () => {
    const server = await serve((_req, res) => res.writeHead(503).end());
    const result = await runIsolated(
      `
      import { ReconnectingEventSource } from './src/realtime/index';
      const source = new ReconnectingEventSource(process.env.URL, { backoff: { initialMs: 60_000, maxMs: 60_000 }, idleTimeoutMs: 60_000 });
      source.addEventListener('reconnecting', () => { source.close(); console.log('closed'); });
      `,
      { env: { URL: server.url } },
    );
    expect(result.stdout.trim()).toBe('closed');
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
  });
});
