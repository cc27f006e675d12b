import { createHash, randomUUID } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createWebhookSigner,
  createWebhookVerifier,
  memoryIdempotencyStore,
  redisIdempotencyStore,
  type VerifiedWebhook,
  type WebhookHandlerOptions,
  webhookHandler,
} from '../../src/webhooks/index';
import { runIsolated } from '../support/isolated';
import { connectRedis, redisUrl, testPrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';
import { listen, type TestServer } from './support/http';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const signer = createWebhookSigner({ scheme: 'standard', secret });
const verifier = createWebhookVerifier({ scheme: 'standard', secret });
const prefix = testPrefix(import.meta.url);
let redis: Redis;
let servers: TestServer[] = [];

beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await redis?.quit();
});
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

async function receiver(options: Partial<WebhookHandlerOptions> & Pick<WebhookHandlerOptions, 'handle'>) {
  const server = await listen(webhookHandler({ verifier, ...options }));
  servers.push(server);
  return server.url;
}

function delivery(id: string, payload: unknown = { id, type: 'order.paid' }) {
  const body = JSON.stringify(payload);
  return { body, headers: { 'content-type': 'application/json', ...signer.sign({ id, body }) } };
}

async function post(url: string, init: { body: string; headers: Record<string, string> }) {
  const response = await fetch(url, { method: 'POST', ...init });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

describe('webhookHandler', () => {
  it('processes an event once and answers duplicate to redeliveries', async () => {
    const seen: VerifiedWebhook[] = [];
    const url = await receiver({ handle: (event) => void seen.push(event) });
    const message = delivery('msg_once');
    expect(await post(url, message)).toMatchObject({ status: 200, json: { status: 'processed' } });
    expect(await post(url, message)).toMatchObject({ status: 200, json: { status: 'duplicate' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.payload).toEqual({ id: 'msg_once', type: 'order.paid' });
  });

  it('answers 401 with a JSON error for a bad signature and 400 for missing headers, leaking no secret', async () => {
    let runs = 0;
    const url = await receiver({ handle: () => void runs++ });
    const message = delivery('msg_bad');
    const tampered = await post(url, { ...message, body: message.body.replace('paid', 'refunded') });
    expect(tampered).toMatchObject({ status: 401, json: { error: { code: 'ERR_WEBHOOK_SIGNATURE' } } });
    expect(JSON.stringify(tampered.json)).not.toContain(secret.slice(6));
    const bare = await post(url, { body: message.body, headers: { 'content-type': 'application/json' } });
    expect(bare).toMatchObject({ status: 400, json: { error: { code: 'ERR_WEBHOOK_HEADERS' } } });
    const old = signer.sign({ id: 'msg_old', body: message.body, timestamp: Math.floor(Date.now() / 1000) - 3_600 });
    expect(await post(url, { body: message.body, headers: old })).toMatchObject({
      status: 401,
      json: { error: { code: 'ERR_WEBHOOK_TIMESTAMP' } },
    });
    expect(runs).toBe(0);
  });

  it('answers 400 for an authentic body that is not JSON', async () => {
    const url = await receiver({ handle: () => {} });
    const body = 'not json';
    expect(await post(url, { body, headers: signer.sign({ id: 'msg_text', body }) })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_WEBHOOK_PAYLOAD' } },
    });
  });

  it('answers 413 past maxBodyBytes, whether the length is declared or streamed', async () => {
    const url = await receiver({ handle: () => {}, maxBodyBytes: 1_024 });
    const big = delivery('msg_big', { id: 'msg_big', pad: 'x'.repeat(5_000) });
    expect(await post(url, big)).toMatchObject({
      status: 413,
      json: { error: { code: 'ERR_WEBHOOK_BODY_TOO_LARGE' } },
    });
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 64; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1_024)));
        controller.close();
      },
    });
    const response = await fetch(url, {
      method: 'POST',
      body: chunks,
      headers: big.headers,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    await response.body?.cancel();
  });

  it('answers 405 to anything but POST', async () => {
    const url = await receiver({ handle: () => {} });
    const response = await fetch(url);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    await response.body?.cancel();
  });

  it('answers 500 when handle throws and processes the redelivery', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const url = await receiver({
      handle: () => {
        calls++;
        if (calls === 1) throw new Error('database down');
      },
      onError: (error) => errors.push(error),
    });
    const message = delivery('msg_retry');
    const failed = await post(url, message);
    expect(failed).toMatchObject({ status: 500, json: { error: { code: 'ERR_WEBHOOK_HANDLER' } } });
    expect(JSON.stringify(failed.json)).not.toContain('database down');
    expect(errors).toEqual([expect.objectContaining({ message: 'database down' })]);
    expect(await post(url, message)).toMatchObject({ status: 200, json: { status: 'processed' } });
    expect(calls).toBe(2);
  });

  it('survives an async onError that rejects: no unhandled rejection, and the 500 is still sent', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const told: unknown[] = [];
      const url = await receiver({
        handle: async () => {
          throw new Error('database down');
        },
        onError: async (error) => {
          told.push(error);
          throw new Error('logging backend down');
        },
      });
      const response = await post(url, delivery('msg_async_hook'));
      expect(response).toMatchObject({ status: 500, json: { error: { code: 'ERR_WEBHOOK_HANDLER' } } });
      expect(told).toEqual([expect.objectContaining({ message: 'database down' })]);
      // unhandledRejection is emitted once the microtask queue drains; give it a full turn of the loop
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('answers 503 with Retry-After to a redelivery that arrives while the first is still processing', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const url = await receiver({
      handle: async () => {
        calls++;
        await gate;
      },
    });
    const message = delivery('msg_slow');
    const first = post(url, message);
    while (calls === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await post(url, message);
    expect(second).toMatchObject({ status: 503, json: { status: 'in-flight' } });
    expect(second.headers.get('retry-after')).toBe('5');
    release();
    expect(await first).toMatchObject({ status: 200, json: { status: 'processed' } });
    expect(calls).toBe(1);
  });

  it('acknowledges with 202 before slow processing when ackBeforeProcessing is set', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finished = false;
    const url = await receiver({
      ackBeforeProcessing: true,
      handle: async () => {
        await gate;
        finished = true;
      },
    });
    const message = delivery('msg_ack');
    expect(await post(url, message)).toMatchObject({ status: 202, json: { status: 'accepted' } });
    expect(finished).toBe(false);
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(finished).toBe(true);
    expect(await post(url, message)).toMatchObject({ status: 200, json: { status: 'duplicate' } });
  });

  it('deduplicates Stripe events on the id inside the payload', async () => {
    const stripeSecret = 'whsec_stripe_handler';
    let runs = 0;
    const server = await listen(
      webhookHandler({
        verifier: createWebhookVerifier({ scheme: 'stripe', secret: stripeSecret }),
        handle: () => void runs++,
      }),
    );
    servers.push(server);
    const body = JSON.stringify({ id: 'evt_123', type: 'charge.succeeded' });
    const sign = () => createWebhookSigner({ scheme: 'stripe', secret: stripeSecret }).sign({ body });
    expect(await post(server.url, { body, headers: sign() })).toMatchObject({ json: { status: 'processed' } });
    expect(await post(server.url, { body, headers: sign() })).toMatchObject({ json: { status: 'duplicate' } });
    const anonymous = JSON.stringify({ type: 'charge.succeeded' });
    const headers = createWebhookSigner({ scheme: 'stripe', secret: stripeSecret }).sign({ body: anonymous });
    expect(await post(server.url, { body: anonymous, headers })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_WEBHOOK_ID' } },
    });
    expect(runs).toBe(1);
  });

  it('deduplicates GitHub deliveries on the signed body, so a replay with fresh X-GitHub-Delivery ids runs nothing and stores nothing', async () => {
    const githubSecret = "It's a Secret to Everybody";
    const storePrefix = `${prefix}github-replay:`;
    const seen: unknown[] = [];
    const server = await listen(
      webhookHandler({
        verifier: createWebhookVerifier({ scheme: 'github', secret: githubSecret }),
        store: redisIdempotencyStore(redis, { prefix: storePrefix, resultTtlMs: 600_000 }),
        handle: (event) => void seen.push(event.payload),
      }),
    );
    servers.push(server);
    const body = JSON.stringify({ action: 'completed', check_run: { id: 1 }, sender: { login: 'octocat' } });
    const captured = {
      'content-type': 'application/json',
      'x-github-event': 'check_run',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await octokitSign(githubSecret, body),
    };
    expect(await post(server.url, { body, headers: captured })).toMatchObject({ json: { status: 'processed' } });
    for (let i = 0; i < 5; i++) {
      const replay = { ...captured, 'x-github-delivery': randomUUID() };
      expect(await post(server.url, { body, headers: replay })).toMatchObject({
        status: 200,
        json: { status: 'duplicate' },
      });
    }
    // a redelivery from GitHub resends the same body with the same delivery id
    expect(await post(server.url, { body, headers: captured })).toMatchObject({ json: { status: 'duplicate' } });
    expect(seen).toHaveLength(1);
    const digest = createHash('sha256').update(body).digest('hex');
    expect(await redis.keys(`${storePrefix}*`)).toEqual([`${storePrefix}{github:${digest}}`]);

    const next = JSON.stringify({ action: 'completed', check_run: { id: 2 }, sender: { login: 'octocat' } });
    const headers = { ...captured, 'x-hub-signature-256': await octokitSign(githubSecret, next) };
    expect(await post(server.url, { body: next, headers })).toMatchObject({ json: { status: 'processed' } });
    expect(seen).toHaveLength(2);
  });

  it("processes GitHub deliveries sent with GitHub's default content type, a form whose payload field holds the JSON", async () => {
    const githubSecret = "It's a Secret to Everybody";
    const seen: unknown[] = [];
    const server = await listen(
      webhookHandler({
        verifier: createWebhookVerifier({ scheme: 'github', secret: githubSecret }),
        handle: (event) => void seen.push(event.payload),
      }),
    );
    servers.push(server);
    const event = {
      action: 'opened',
      issue: { number: 7, title: 'a & b = c+d, 100% ✓' },
      sender: { login: 'octocat' },
    };
    // what GitHub sends for a webhook left at content_type "form": the JSON, form-encoded, is what it signs
    const body = new URLSearchParams({ payload: JSON.stringify(event) }).toString();
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'x-github-event': 'issues',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await octokitSign(githubSecret, body),
    };
    expect(await post(server.url, { body, headers })).toMatchObject({ status: 200, json: { status: 'processed' } });
    expect(seen).toEqual([event]);
    expect(await post(server.url, { body, headers })).toMatchObject({ status: 200, json: { status: 'duplicate' } });

    // a form without a payload field is refused, not handed on as undefined
    const empty = 'other=1';
    const refused = { ...headers, 'x-hub-signature-256': await octokitSign(githubSecret, empty) };
    expect(await post(server.url, { body: empty, headers: refused })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_WEBHOOK_PAYLOAD' } },
    });
    expect(seen).toHaveLength(1);
  });

  it('uses a body that a framework already read raw, and refuses one it parsed or consumed without keeping', async () => {
    const handler = webhookHandler({ verifier, handle: () => {} });
    const message = delivery('msg_framework');
    for (const [parse, status] of [
      [(text: string) => Buffer.from(text), 200],
      [(text: string) => JSON.parse(text), 500],
      [() => undefined, 500],
    ] as const) {
      const server = await listen((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          Object.assign(req, { body: parse(Buffer.concat(chunks).toString()) });
          handler(req, res);
        });
      });
      servers.push(server);
      const response = await post(server.url, { ...message, headers: { ...message.headers } });
      expect(response.status).toBe(status);
      if (status === 500) expect(JSON.stringify(response.json)).toMatch(/read or parsed before/);
    }
  });

  it('answers 503 when the Redis store is down, then processes once it is back', async () => {
    const server = await startRedisServer();
    const { Redis } = await import('ioredis');
    const client = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    client.on('error', () => {});
    await client.connect();
    try {
      let runs = 0;
      const url = await receiver({
        store: redisIdempotencyStore(client, { prefix, resultTtlMs: 600_000 }),
        handle: () => void runs++,
      });
      await server.stop();
      const message = delivery('msg_store_down');
      expect(await post(url, message)).toMatchObject({ status: 503, json: { error: { code: 'ERR_WEBHOOK_STORE' } } });
      await server.start();
      await new Promise<void>((resolve) => client.once('ready', () => resolve()));
      expect(await post(url, message)).toMatchObject({ status: 200, json: { status: 'processed' } });
      expect(runs).toBe(1);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('answers 503 when Redis stops answering, with a default ioredis client, instead of hanging', async () => {
    const server = await startRedisServer();
    const { Redis } = await import('ioredis');
    // the defaults a user gets from new Redis(): an offline queue and no command timeout
    const client = new Redis(server.url);
    client.on('error', () => {});
    try {
      let runs = 0;
      const url = await receiver({
        store: redisIdempotencyStore(client, { prefix, timeoutMs: 200 }),
        handle: () => void runs++,
      });
      expect(await post(url, delivery('msg_before_pause'))).toMatchObject({ status: 200 });
      server.pause();
      const response = await fetch(url, {
        method: 'POST',
        ...delivery('msg_paused'),
        signal: AbortSignal.timeout(5_000),
      })
        .then(async (answer) => ({ status: answer.status, json: await answer.json() }))
        .catch((error: unknown) => ({ status: 0, json: String(error) }));
      expect(response).toMatchObject({ status: 503, json: { error: { code: 'ERR_WEBHOOK_STORE' } } });
      expect(runs).toBe(1);
    } finally {
      server.resume();
      client.disconnect();
      await server.stop();
    }
  });

  it('lets the process exit once the server and Redis client are closed: no leaked timers or sockets', async () => {
    const result = await runIsolated(
      `import { once } from 'node:events';
       import { createServer } from 'node:http';
       import { Redis } from 'ioredis';
       import { createWebhookSigner, createWebhookVerifier, redisIdempotencyStore, webhookHandler } from './src/webhooks/index.ts';
       const secret = '${secret}';
       const redis = new Redis('${redisUrl()}');
       const server = createServer(webhookHandler({
         verifier: createWebhookVerifier({ scheme: 'standard', secret }),
         store: redisIdempotencyStore(redis, { prefix: '${prefix}isolated:', resultTtlMs: 600_000 }),
         handle: async () => {},
       })).listen(0, '127.0.0.1');
       await once(server, 'listening');
       const body = '{"a":1}';
       const headers = createWebhookSigner({ scheme: 'standard', secret }).sign({ body });
       const response = await fetch('http://127.0.0.1:' + server.address().port, { method: 'POST', body, headers });
       console.log(response.status, await response.text());
       server.close();
       await redis.quit();`,
      { exitWithinMs: 5_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    expect(result.stdout.trim()).toBe('200 {"status":"processed"}');
  });

  it('rejects bad options with ERR_WEBHOOK_OPTIONS', () => {
    const bad = [
      {},
      { verifier, handle: 'x' },
      { verifier: {}, handle: () => {} },
      { verifier, handle: () => {}, maxBodyBytes: 0 },
      { verifier, handle: () => {}, store: {} },
      { verifier, handle: () => {}, ackBeforeProcessing: 'false' },
      { verifier, handle: () => {}, ackBeforeProcessing: 1 },
      { verifier, handle: () => {}, key: 'x' },
      { verifier, handle: () => {}, onError: 'x' },
    ];
    for (const options of bad) {
      expect(() => webhookHandler(options as never)).toThrow(expect.objectContaining({ code: 'ERR_WEBHOOK_OPTIONS' }));
    }
    expect(() => webhookHandler({ verifier, handle: () => {}, store: memoryIdempotencyStore() })).not.toThrow();
  });
});
