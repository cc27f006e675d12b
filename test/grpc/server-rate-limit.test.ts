import { Metadata, type ServerInterceptor, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  authInterceptor,
  bearerToken,
  identityOf,
  retryInterceptor,
  serverAuthInterceptor,
  serverRateLimitInterceptor,
} from '../../src/grpc/index';
import type { Decision, RateLimiter } from '../../src/ratelimit/index';
import { slidingWindow, tokenBucket } from '../../src/ratelimit/index';
import { foreignPromise } from './support/foreign-promise';
import { cleanups, labClient, startLab } from './support/lab';

const after = cleanups();
afterEach(() => after.run());

async function lab(interceptors: ServerInterceptor[]) {
  return after.add(await startLab({ interceptors }), (s) => s.stop());
}
function client(address: string, interceptors: Parameters<typeof labClient>[1] = []) {
  return after.add(labClient(address, interceptors), (c) => c.close());
}

describe('serverRateLimitInterceptor', () => {
  it('answers RESOURCE_EXHAUSTED with retry-after trailers once the limit is used up', async () => {
    const server = await lab([
      serverRateLimitInterceptor({
        limiter: slidingWindow({ limit: 3, windowMs: 60_000 }),
        key: (call) => call.getPeer().split(':')[0] ?? '',
      }),
    ]);
    const lab1 = client(server.address);
    for (let i = 0; i < 3; i++)
      await expect(lab1.unary({ text: String(i) })).resolves.toMatchObject({ text: String(i) });
    const denied = await lab1
      .unary({ text: 'one too many' })
      .catch((error: { code: number; details: string; metadata: Metadata }) => error);
    expect(denied).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: 'Rate limit exceeded' });
    const trailers = (denied as { metadata: Metadata }).metadata;
    const retryAfter = Number(trailers.get('retry-after')[0]);
    const pushback = Number(trailers.get('grpc-retry-pushback-ms')[0]);
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(pushback).toBeGreaterThan(58_000);
    expect(pushback).toBeLessThanOrEqual(60_000);
  });

  it('counts each stream once, whatever it sends, for every call type', async () => {
    const server = await lab([
      serverRateLimitInterceptor({
        limiter: tokenBucket({ capacity: 4, refillPerSecond: 0.001 }),
        key: () => 'everyone',
      }),
    ]);
    const lab1 = client(server.address);
    await expect(lab1.unary({})).resolves.toBeDefined();
    await expect(lab1.clientStream([{}, {}, {}, {}, {}])).resolves.toMatchObject({ index: 5 });
    await expect(lab1.serverStream({ count: 5 })).resolves.toMatchObject({ error: undefined });
    await expect(lab1.bidi([{}, {}, {}])).resolves.toMatchObject({ error: undefined });
    await expect(lab1.bidi([{}])).resolves.toMatchObject({ messages: [], error: { code: status.RESOURCE_EXHAUSTED } });
    await expect(lab1.serverStream({ count: 1 })).resolves.toMatchObject({
      error: { code: status.RESOURCE_EXHAUSTED },
    });
    await expect(lab1.clientStream([{}])).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it('limits by the identity the auth interceptor verified, and by method', async () => {
    const server = await lab([
      serverAuthInterceptor({ verify: (metadata) => bearerToken(metadata) }),
      serverRateLimitInterceptor({
        limiter: slidingWindow({ limit: 2, windowMs: 60_000 }),
        key: (call, method) => `${identityOf<string>(call)}:${method}`,
      }),
    ]);
    const alice = client(server.address, [authInterceptor({ token: () => 'alice' })]);
    const bob = client(server.address, [authInterceptor({ token: () => 'bob' })]);
    await alice.unary({});
    await alice.unary({});
    await expect(alice.unary({})).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    await expect(alice.serverStream({ count: 1 })).resolves.toMatchObject({ error: undefined });
    await expect(bob.unary({})).resolves.toBeDefined();
  });

  it("lets the client's retry interceptor wait out the limit, as the pushback trailer says", async () => {
    const server = await lab([
      serverRateLimitInterceptor({ limiter: slidingWindow({ limit: 1, windowMs: 300 }), key: () => 'k' }),
    ]);
    // A minute of backoff would miss the deadline: only the server's pushback lets the retry succeed.
    const lab1 = client(server.address, [retryInterceptor({ backoff: { initialMs: 60_000, maxMs: 60_000 } })]);
    await lab1.unary({ text: 'first' });
    await expect(lab1.unary({ text: 'second' }, { deadline: Date.now() + 10_000 })).resolves.toMatchObject({
      text: 'second',
    });
  });

  it('tells clients not to retry a cost the limiter can never admit', async () => {
    const server = await lab([
      serverRateLimitInterceptor({
        limiter: tokenBucket({ capacity: 2, refillPerSecond: 1 }),
        key: () => 'k',
        cost: 5,
      }),
    ]);
    const error = await client(server.address)
      .unary({})
      .catch((e: { code: number; metadata: Metadata }) => e);
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    const trailers = (error as { metadata: Metadata }).metadata;
    expect(trailers.get('grpc-retry-pushback-ms')).toEqual(['-1']);
    expect(trailers.get('retry-after')).toEqual([]);
  });

  it('decides alike whether the limiter answers at once (memory store) or later, with a cost per method', async () => {
    const memory = tokenBucket({ capacity: 3, refillPerSecond: 0.001 });
    const later = tokenBucket({ capacity: 3, refillPerSecond: 0.001 });
    const slow: RateLimiter = {
      ...later,
      consume: (key, options) => new Promise((resolve) => setTimeout(() => resolve(later.consume(key, options)), 5)),
    };
    const cost = (method: string) => (method.endsWith('/Unary') ? 1 : 2);
    for (const limiter of [memory, slow]) {
      const server = await lab([serverRateLimitInterceptor({ limiter, key: () => 'k', cost })]);
      const lab1 = client(server.address);
      await expect(lab1.unary({ text: 'a' })).resolves.toMatchObject({ text: 'a' });
      await expect(lab1.serverStream({ count: 1 })).resolves.toMatchObject({ error: undefined });
      const denied = await lab1.serverStream({ count: 1 });
      expect(denied).toMatchObject({ messages: [], error: { code: status.RESOURCE_EXHAUSTED } });
      expect(Number(denied.error?.metadata.get('grpc-retry-pushback-ms')[0])).toBeGreaterThan(0);
      await expect(lab1.unary({ text: 'b' })).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    }
  });

  it('waits for a limiter and a key whose promises are not native ones', async () => {
    const limiter = slidingWindow({ limit: 1, windowMs: 60_000 });
    const server = await lab([
      serverRateLimitInterceptor({
        limiter: {
          ...limiter,
          consume: (key, options) => foreignPromise(limiter.consume(key, options)),
        } as RateLimiter,
        key: () => foreignPromise(Promise.resolve('everyone')) as Promise<string>,
      }),
    ]);
    const lab1 = client(server.address);
    await expect(lab1.unary({ text: 'first' })).resolves.toMatchObject({ text: 'first' });
    await expect(lab1.unary({ text: 'second' })).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it('answers UNAVAILABLE when the limiter fails, INTERNAL when key throws, and keeps serving', async () => {
    const broken: RateLimiter = {
      policy: { name: 'broken', limit: 1, windowMs: 1 },
      consume: (): Promise<Decision> => Promise.reject(new Error('redis down')),
      peek: (): Promise<Decision> => Promise.reject(new Error('redis down')),
      reset: () => Promise.resolve(),
    };
    const server = await lab([
      serverRateLimitInterceptor({
        limiter: broken,
        key: (call) => {
          if (call.metadata.get('x-key').length === 0) throw new Error('no key');
          return 'k';
        },
        skip: (method) => method.endsWith('/ServerStream'),
      }),
    ]);
    const lab1 = client(server.address);
    const keyed = new Metadata();
    keyed.set('x-key', 'k');
    await expect(lab1.unary({}, {}, keyed)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: 'Rate limiter unavailable',
    });
    await expect(lab1.unary({})).rejects.toMatchObject({ code: status.INTERNAL, details: 'Internal server error' });
    await expect(lab1.serverStream({ count: 2 })).resolves.toMatchObject({ error: undefined });
  });

  it('answers INTERNAL, not a retryable UNAVAILABLE, when key or cost gives the limiter what it refuses', async () => {
    let calls = 0;
    const server = after.add(
      await startLab({
        interceptors: [
          serverRateLimitInterceptor({
            limiter: slidingWindow({ limit: 100, windowMs: 60_000 }),
            // As in the guide: a client that sends an empty x-api-key gets the key ''.
            key: (call) => call.metadata.get('x-api-key')[0]?.toString() ?? call.getPeer(),
            cost: (method) => (method.endsWith('/ServerStream') ? Number.NaN : 1),
          }),
        ],
        handlers: {
          Unary: (call, callback) => {
            calls++;
            callback(null, { text: call.request.text, index: 0 });
          },
        },
      }),
      (s) => s.stop(),
    );
    let retries = 0;
    const lab1 = client(server.address, [
      retryInterceptor({ backoff: { initialMs: 1, maxMs: 1 }, onRetry: () => retries++ }),
    ]);
    const empty = new Metadata();
    empty.set('x-api-key', '');
    const internal = { code: status.INTERNAL, details: 'Internal server error' };
    await expect(lab1.unary({}, {}, empty)).rejects.toMatchObject(internal);
    await expect(lab1.serverStream({ count: 1 })).resolves.toMatchObject({ error: internal });
    expect(retries).toBe(0);
    await expect(lab1.unary({ text: 'keyed' })).resolves.toMatchObject({ text: 'keyed' });
    expect(calls).toBe(1);
  });

  it('rejects bad options with ERR_GRPC_OPTIONS', () => {
    const limiter = slidingWindow({ limit: 1, windowMs: 1_000 });
    for (const bad of [
      undefined,
      {},
      { limiter: {}, key: () => 'k' },
      { limiter },
      { limiter, key: () => 'k', cost: -1 },
    ]) {
      expect(() => serverRateLimitInterceptor(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
      );
    }
  });
});
