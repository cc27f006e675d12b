import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../src/ratelimit/headers';
import { rateLimitMiddleware } from '../../src/ratelimit/middleware';
import { slidingWindow } from '../../src/ratelimit/sliding-window';
import { memoryStore } from '../../src/ratelimit/stores/memory';
import type { RateLimitRedis } from '../../src/ratelimit/stores/redis';
import { redisStore } from '../../src/ratelimit/stores/redis';
import { tokenBucket } from '../../src/ratelimit/token-bucket';

const options = { code: 'ERR_RATELIMIT_OPTIONS' };
const input = { code: 'ERR_RATELIMIT_INPUT' };

describe('bad options fail at the factory with ERR_RATELIMIT_OPTIONS', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', undefined])('slidingWindow limit %s', (limit) => {
    expect(() => slidingWindow({ limit: limit as number, windowMs: 1_000 })).toThrow(expect.objectContaining(options));
  });

  it.each([0, -1000, 0.5, Number.NaN, null])('slidingWindow windowMs %s', (windowMs) => {
    expect(() => slidingWindow({ limit: 1, windowMs: windowMs as number })).toThrow(expect.objectContaining(options));
  });

  it.each([0, -1, 2.5, Number.NaN])('tokenBucket capacity %s', (capacity) => {
    expect(() => tokenBucket({ capacity, refillPerSecond: 1 })).toThrow(expect.objectContaining(options));
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('tokenBucket refillPerSecond %s', (refillPerSecond) => {
    expect(() => tokenBucket({ capacity: 1, refillPerSecond })).toThrow(expect.objectContaining(options));
  });

  it.each(['', 'has space', 'quo"te', 'br{ace}', 'ünïcode'])('name %j', (name) => {
    expect(() => slidingWindow({ limit: 1, windowMs: 1, name })).toThrow(expect.objectContaining(options));
  });

  it('a store that is not a store', () => {
    expect(() => slidingWindow({ limit: 1, windowMs: 1, store: {} as never })).toThrow(
      expect.objectContaining(options),
    );
  });

  it.each([0, -5, 1.5])('memoryStore maxKeys %s', (maxKeys) => {
    expect(() => memoryStore({ maxKeys })).toThrow(expect.objectContaining(options));
  });

  it('redisStore without a client, with a braced prefix, an unknown mode, a bad timeout or batch size', () => {
    const fake = { evalsha: async () => null, eval: async () => null, del: async () => 0 } as unknown as RateLimitRedis;
    expect(() => redisStore(undefined as never)).toThrow(expect.objectContaining(options));
    expect(() => redisStore(fake, { prefix: 'a{b}' })).toThrow(expect.objectContaining(options));
    expect(() => redisStore(fake, { onError: 'ignore' as never })).toThrow(expect.objectContaining(options));
    expect(() => redisStore(fake, { timeoutMs: 0 })).toThrow(expect.objectContaining(options));
    expect(() => redisStore(fake, { maxBatch: 0 })).toThrow(expect.objectContaining(options));
    expect(() => redisStore(fake, { maxBatch: 1.5 })).toThrow(expect.objectContaining(options));
  });

  it('middleware without a limiter or a key function', () => {
    const limiter = slidingWindow({ limit: 1, windowMs: 1 });
    expect(() => rateLimitMiddleware({} as never, { key: () => 'k' })).toThrow(expect.objectContaining(options));
    expect(() => rateLimitMiddleware(limiter, {} as never)).toThrow(expect.objectContaining(options));
  });

  it.each([null, 'x', 5])('factories given %j as options', (bad) => {
    const fake = { evalsha: async () => null, eval: async () => null, del: async () => 0 } as unknown as RateLimitRedis;
    for (const make of [slidingWindow, tokenBucket, memoryStore, (o: never) => redisStore(fake, o)]) {
      expect(() => make(bad as never)).toThrow(expect.objectContaining(options));
    }
    expect(() => memoryStore(undefined)).not.toThrow();
    expect(() => redisStore(fake, undefined)).not.toThrow();
  });

  it.each(['false', 'true', 0, 1, null])('slidingWindow approximate %j', (approximate) => {
    expect(() => slidingWindow({ limit: 1, windowMs: 1, approximate: approximate as never })).toThrow(
      expect.objectContaining(options),
    );
  });

  it.each(['x', {}, 1])('redisStore onEvent %j', (onEvent) => {
    const fake = { evalsha: async () => null, eval: async () => null, del: async () => 0 } as unknown as RateLimitRedis;
    expect(() => redisStore(fake, { onEvent: onEvent as never })).toThrow(expect.objectContaining(options));
  });

  it.each(['2', -1, Number.NaN, Number.POSITIVE_INFINITY, null])(
    'middleware cost %j, not a 500 on every request',
    (cost) => {
      const limiter = slidingWindow({ limit: 1, windowMs: 1 });
      expect(() => rateLimitMiddleware(limiter, { key: () => 'k', cost: cost as never })).toThrow(
        expect.objectContaining(options),
      );
    },
  );

  it('headers with a bad policy name or window', () => {
    const decision = { allowed: true, limit: 1, remaining: 1, resetAt: 0, retryAfterMs: 0 };
    expect(() => rateLimitHeaders(decision, { policyName: 'a b' })).toThrow(expect.objectContaining(options));
    expect(() => rateLimitHeaders(decision, { windowMs: -1 })).toThrow(expect.objectContaining(options));
  });
});

describe('bad input rejects the call with ERR_RATELIMIT_INPUT', () => {
  const limiter = slidingWindow({ limit: 5, windowMs: 1_000 });

  it.each(['', undefined, null, 42, {}])('key %j', async (key) => {
    await expect(limiter.consume(key as string)).rejects.toMatchObject(input);
    await expect(limiter.peek(key as string)).rejects.toMatchObject(input);
    await expect(limiter.reset(key as string)).rejects.toMatchObject(input);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '2'])('cost %s', async (cost) => {
    await expect(limiter.consume('k', { cost: cost as number })).rejects.toMatchObject(input);
  });

  const decision = { allowed: false, limit: 1, remaining: 0, resetAt: 1_000, retryAfterMs: 1_000 };

  it.each([
    ['null', null],
    ['an empty object', {}],
    ['no resetAt', { ...decision, resetAt: undefined }],
    ['a string remaining', { ...decision, remaining: '1' }],
    ['a NaN limit', { ...decision, limit: Number.NaN }],
    ['a string allowed', { ...decision, allowed: 'false' }],
    ['a negative retryAfterMs', { ...decision, retryAfterMs: -1 }],
  ])('rateLimitHeaders given %s as the decision', (_, bad) => {
    expect(() => rateLimitHeaders(bad as never)).toThrow(expect.objectContaining(input));
  });

  it.each([Number.NaN, '1', null, Number.POSITIVE_INFINITY])('rateLimitHeaders now %s', (now) => {
    expect(() => rateLimitHeaders(decision, { now: now as never })).toThrow(expect.objectContaining(input));
  });

  it('rateLimitHeaders takes a decision that can never be admitted', () => {
    expect(rateLimitHeaders({ ...decision, retryAfterMs: Number.POSITIVE_INFINITY }, { now: 0 })).not.toHaveProperty(
      'Retry-After',
    );
  });

  it('a rejected call took nothing', async () => {
    await limiter.consume('x', { cost: -1 }).catch(() => {});
    expect((await limiter.peek('x')).remaining).toBe(5);
  });
});
