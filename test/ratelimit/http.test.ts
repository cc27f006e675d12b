import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../src/ratelimit/headers';
import { rateLimitMiddleware } from '../../src/ratelimit/middleware';
import { slidingWindow } from '../../src/ratelimit/sliding-window';
import { memoryStore } from '../../src/ratelimit/stores/memory';
import { tokenBucket } from '../../src/ratelimit/token-bucket';
import { manualClock } from '../support/clock';
import { runIsolated } from '../support/isolated';

describe('rateLimitHeaders', () => {
  const now = 1_700_000_000_000;

  it('writes RateLimit-Policy and RateLimit per the IETF draft', () => {
    const headers = rateLimitHeaders(
      { allowed: true, limit: 100, remaining: 42, resetAt: now + 29_001, retryAfterMs: 0 },
      { windowMs: 60_000, now },
    );
    expect(headers).toEqual({ 'RateLimit-Policy': '"default";q=100;w=60', RateLimit: '"default";r=42;t=30' });
  });

  it('adds Retry-After in whole seconds, rounded up, when denied', () => {
    const headers = rateLimitHeaders(
      { allowed: false, limit: 5, remaining: 0, resetAt: now + 10_000, retryAfterMs: 1_200 },
      { policyName: 'login', now },
    );
    expect(headers).toEqual({
      'RateLimit-Policy': '"login";q=5',
      RateLimit: '"login";r=0;t=10',
      'Retry-After': '2',
    });
  });

  it('omits Retry-After when retrying can never help, and never reports a negative reset', () => {
    const headers = rateLimitHeaders(
      { allowed: false, limit: 5, remaining: 5, resetAt: now - 500, retryAfterMs: Number.POSITIVE_INFINITY },
      { now },
    );
    expect(headers['Retry-After']).toBeUndefined();
    expect(headers.RateLimit).toBe('"default";r=5;t=0');
  });

  it('caps every number at the 15 digits a structured-field integer allows, never writing 1e+21', () => {
    const huge = 10 ** 21;
    const headers = rateLimitHeaders(
      { allowed: false, limit: huge, remaining: huge, resetAt: now + huge, retryAfterMs: huge },
      { windowMs: huge, now },
    );
    const max = '999999999999999';
    expect(headers).toEqual({
      'RateLimit-Policy': `"default";q=${max};w=${max}`,
      RateLimit: `"default";r=${max};t=${max}`,
      'Retry-After': max,
    });
  });
});

describe('rateLimitMiddleware over real HTTP', () => {
  let server: Server | undefined;

  afterEach(async () => {
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  it('passes admitted requests on with headers, answers the rest with 429, headers and JSON', async () => {
    const clock = manualClock(Date.now());
    const limiter = slidingWindow({ limit: 2, windowMs: 60_000, store: memoryStore({ clock }), name: 'api' });
    const limit = rateLimitMiddleware(limiter, { key: (req) => String(req.headers['x-client'] ?? 'anonymous') });
    const url = await listen((req, res) => limit(req, res, () => res.end('ok')));

    const responses = [];
    for (let i = 0; i < 3; i++) responses.push(await fetch(url, { headers: { 'x-client': 'a' } }));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(await responses[0]!.text()).toBe('ok');
    expect(responses[0]!.headers.get('ratelimit-policy')).toBe('"api";q=2;w=60');
    expect(responses[1]!.headers.get('ratelimit')).toMatch(/^"api";r=0;t=(59|60)$/);
    const denied = responses[2]!;
    expect(denied.headers.get('content-type')).toBe('application/json');
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    const body = await denied.json();
    expect(body).toMatchObject({ error: 'rate_limited' });
    expect(body.retryAfterMs).toBeGreaterThan(59_000);
    // another client has its own quota
    expect((await fetch(url, { headers: { 'x-client': 'b' } })).status).toBe(200);
  });

  it('charges the cost a function of the request gives', async () => {
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: 0.001 });
    const limit = rateLimitMiddleware(limiter, {
      key: () => 'everyone',
      cost: (req) => (req.url === '/search' ? 4 : 1),
    });
    const url = await listen((req, res) => limit(req, res, () => res.end()));
    const statuses = [];
    for (const path of ['/search', '/search', '/search', '/', '/']) statuses.push((await fetch(url + path)).status);
    expect(statuses).toEqual([200, 200, 429, 200, 200]);
  });

  it('hands errors to next(error), Express-style', async () => {
    const limiter = slidingWindow({ limit: 1, windowMs: 1_000 });
    const limit = rateLimitMiddleware(limiter, {
      key: () => {
        throw new Error('no key');
      },
    });
    const seen: unknown[] = [];
    const url = await listen((req, res) =>
      limit(req, res, (error) => {
        seen.push(error);
        res.statusCode = 503;
        res.end();
      }),
    );
    expect((await fetch(url)).status).toBe(503);
    expect((seen[0] as Error).message).toBe('no key');
  });

  it('answers 500 itself when there is no next, and the server stays up', async () => {
    const limiter = slidingWindow({ limit: 1, windowMs: 1_000 });
    const limit = rateLimitMiddleware(limiter, { key: () => '' }); // empty key: ERR_RATELIMIT_INPUT
    const url = await listen((req, res) => limit(req, res));
    const response = await fetch(url);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'internal_error' });
    expect((await fetch(url)).status).toBe(500);
  });

  it('ends a response another handler already started, when it denies or fails, without a second answer or next()', async () => {
    const limiter = slidingWindow({ limit: 1, windowMs: 60_000 });
    let passedOn = 0;
    const errors: unknown[] = [];
    for (const key of [() => 'caller', () => '']) {
      const limit = rateLimitMiddleware(limiter, { key });
      const url = await listen((req, res) => {
        // a handler before the limiter has begun to answer (a streaming response, say)
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('started;');
        limit(req, res, (error) => {
          if (error === undefined) passedOn++;
          else errors.push(error);
          res.end();
        });
      });
      if (key() === 'caller') await fetch(url).then((r) => r.text()); // takes the one request allowed
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('started;');
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
    }
    expect(passedOn).toBe(1);
    // the empty key still reaches next(error), as an Express error handler expects
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_RATELIMIT_INPUT' })]);
    // without next, a failure ends the answer begun, with no JSON error appended to its body
    const limit = rateLimitMiddleware(limiter, { key: () => '' });
    const url = await listen((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('started;');
      limit(req, res);
    });
    expect(await (await fetch(url)).text()).toBe('started;');
  });

  it('runs the downstream handler once when it throws, raising its error as it would be without the middleware', async () => {
    const result = await runIsolated(`
      import { createServer } from 'node:http';
      import { rateLimitMiddleware, slidingWindow } from './src/ratelimit/index';
      const seen = { runs: 0, uncaught: [], unhandled: [] };
      process.on('uncaughtException', (error) => seen.uncaught.push(error.message));
      process.on('unhandledRejection', (error) => seen.unhandled.push(String(error)));
      const limit = rateLimitMiddleware(slidingWindow({ limit: 5, windowMs: 1_000 }), { key: () => 'k' });
      const server = createServer((req, res) =>
        limit(req, res, (error) => {
          seen.runs++;
          res.end(error ? 'error' : 'ok');
          throw new Error('bug after responding');
        }),
      );
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const body = await (await fetch('http://127.0.0.1:' + server.address().port)).text();
      await new Promise((resolve) => setTimeout(resolve, 100));
      server.close();
      console.log(JSON.stringify({ body, ...seen }));
    `);
    expect(result.hung).toBe(false);
    expect(JSON.parse(result.stdout)).toEqual({
      body: 'ok',
      runs: 1,
      uncaught: ['bug after responding'],
      unhandled: [],
    });
  });

  it('raises an error that next(error) throws as it would be without the middleware, not as an unhandled rejection', async () => {
    const result = await runIsolated(`
      import { createServer } from 'node:http';
      import { rateLimitMiddleware, slidingWindow } from './src/ratelimit/index';
      const seen = { runs: 0, uncaught: [], unhandled: [] };
      process.on('uncaughtException', (error) => seen.uncaught.push(error.message));
      process.on('unhandledRejection', (error) => seen.unhandled.push(String(error)));
      const limit = rateLimitMiddleware(slidingWindow({ limit: 5, windowMs: 1_000 }), {
        key: () => {
          throw new Error('no api key header');
        },
      });
      const server = createServer((req, res) =>
        limit(req, res, (error) => {
          seen.runs++;
          res.statusCode = error ? 400 : 200;
          res.end(error ? 'bad' : 'ok');
          if (error) throw error; // a framework error path that rethrows
        }),
      );
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const response = await fetch('http://127.0.0.1:' + server.address().port);
      const body = await response.text();
      await new Promise((resolve) => setTimeout(resolve, 100));
      server.close();
      console.log(JSON.stringify({ status: response.status, body, ...seen }));
    `);
    expect(result.hung).toBe(false);
    expect(JSON.parse(result.stdout)).toEqual({
      status: 400,
      body: 'bad',
      runs: 1,
      uncaught: ['no api key header'],
      unhandled: [],
    });
  });
});
