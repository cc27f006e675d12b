import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSigner } from '../../src/webhooks/index';
import { connectRedis, redisUrl, testPrefix } from '../support/redis';
import { startReceivers } from './support/processes';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const signer = createWebhookSigner({ scheme: 'standard', secret });
const prefix = testPrefix(import.meta.url);
let redis: Redis;

beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await redis?.quit();
});

function delivery(id: string, behaviour?: string) {
  const body = JSON.stringify({ id, behaviour });
  const headers = { 'content-type': 'application/json', ...signer.sign({ id, body }) };
  return (url: string) =>
    fetch(url, { method: 'POST', body, headers }).then(async (response) => ({
      status: response.status,
      json: (await response.json()) as { status?: string; error?: { code: string } },
    }));
}

const count = async (kind: 'runs' | 'done', id: string) => Number((await redis.get(`${prefix}${kind}:${id}`)) ?? 0);

describe('exactly-once across processes sharing Redis', () => {
  it('200 concurrent duplicate deliveries spread over 4 processes run the handler once', async () => {
    const { receivers, stopAll } = await startReceivers(4, { REDIS_URL: redisUrl(), PREFIX: prefix, SECRET: secret });
    try {
      const send = delivery('msg_storm', 'slow');
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => send((receivers[i % 4] as { url: string }).url)),
      );
      expect(await count('runs', 'msg_storm')).toBe(1);
      expect(await count('done', 'msg_storm')).toBe(1);
      const statuses = responses.map((response) => `${response.status} ${response.json.status}`);
      expect(statuses.filter((status) => status === '200 processed')).toHaveLength(1);
      expect(statuses.every((status) => ['200 processed', '200 duplicate', '503 in-flight'].includes(status))).toBe(
        true,
      );
      // every process answers duplicate once the event is done
      for (const receiver of receivers) {
        expect(await send(receiver.url)).toEqual({ status: 200, json: { status: 'duplicate' } });
      }
      expect(await count('runs', 'msg_storm')).toBe(1);
    } finally {
      await stopAll();
    }
  });

  it('a handler that throws lets the redelivery, to another process, run it', async () => {
    const { receivers, stopAll } = await startReceivers(2, { REDIS_URL: redisUrl(), PREFIX: prefix, SECRET: secret });
    try {
      const [a, b] = receivers;
      if (!a || !b) throw new Error('receivers did not start');
      const send = delivery('msg_fails_once', 'fail-first');
      expect((await send(a.url)).status).toBe(500);
      expect(await count('done', 'msg_fails_once')).toBe(0);
      expect(await send(b.url)).toEqual({ status: 200, json: { status: 'processed' } });
      expect(await send(a.url)).toEqual({ status: 200, json: { status: 'duplicate' } });
      expect(await count('runs', 'msg_fails_once')).toBe(2);
      expect(await count('done', 'msg_fails_once')).toBe(1);
    } finally {
      await stopAll();
    }
  });

  it('a processor killed mid-run is taken over by another process once the lock TTL has passed', async () => {
    const env = { REDIS_URL: redisUrl(), PREFIX: prefix, SECRET: secret, LOCK_TTL_MS: '2000' };
    const hanging = await startReceivers(1, { ...env, HANG: '1' });
    const healthy = await startReceivers(1, env);
    try {
      const [victim] = hanging.receivers;
      const [survivor] = healthy.receivers;
      if (!victim || !survivor) throw new Error('receivers did not start');
      const send = delivery('msg_crash');
      const lost = send(victim.url).catch((error: unknown) => error);
      await victim.waitFor('processing msg_crash');
      await victim.kill();
      expect(await lost).toBeInstanceOf(Error);
      const killedAt = Date.now();
      expect(await send(survivor.url)).toEqual({ status: 503, json: { status: 'in-flight' } });
      const ttlLeft = await redis.pttl(`${prefix}{standard:msg_crash}`);
      expect(ttlLeft).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, ttlLeft + 50));
      expect(await send(survivor.url)).toEqual({ status: 200, json: { status: 'processed' } });
      expect(Date.now() - killedAt).toBeLessThan(5_000);
      expect(await count('runs', 'msg_crash')).toBe(2);
      expect(await count('done', 'msg_crash')).toBe(1);
    } finally {
      await hanging.stopAll();
      await healthy.stopAll();
    }
  });
});
