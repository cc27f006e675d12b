import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createWebhookSender,
  createWebhookVerifier,
  type DeliveryReport,
  type WebhookSenderOptions,
} from '../../src/webhooks/index';
import { runIsolated } from '../support/isolated';
import { listen, type Planned, scriptedReceiver, type TestServer } from './support/http';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const fast = { retries: 3, minTimeout: 10, factor: 2, randomize: false };
let servers: TestServer[] = [];

afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

async function receiver(plan: Planned[]) {
  const server = await scriptedReceiver(plan);
  servers.push(server);
  return server;
}

function sender(overrides: Partial<WebhookSenderOptions> = {}) {
  const deadLetters: DeliveryReport[] = [];
  const instance = createWebhookSender({
    scheme: 'standard',
    secret,
    retry: fast,
    timeoutMs: 2_000,
    onDeadLetter: (report) => void deadLetters.push(report),
    ...overrides,
  });
  return { sender: instance, deadLetters };
}

describe('createWebhookSender', () => {
  it('retries a receiver that fails with 500 twice, then delivers, with the same id and a valid signature each time', async () => {
    const server = await receiver([500, 502, 200]);
    const { sender: s, deadLetters } = sender();
    const report = await s.send(server.url, { id: 'msg_retry', type: 'invoice.paid', payload: { amount: 42 } });
    expect(report).toMatchObject({ id: 'msg_retry', delivered: true, outcome: 'delivered', type: 'invoice.paid' });
    expect(report.attempts.map((attempt) => attempt.status)).toEqual([500, 502, 200]);
    expect(deadLetters).toEqual([]);
    const verifier = createWebhookVerifier({ scheme: 'standard', secret });
    for (const request of server.received) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['webhook-type']).toBe('invoice.paid');
      const event = verifier.verify(request.body, request.headers);
      expect(event.id).toBe('msg_retry');
      expect(event.payload).toEqual({ amount: 42 });
    }
  });

  it('stops at once on 410 and dead-letters the delivery as gone', async () => {
    const server = await receiver([410]);
    const { sender: s, deadLetters } = sender();
    const report = await s.send(server.url, { payload: { a: 1 } });
    expect(report).toMatchObject({ delivered: false, outcome: 'gone' });
    expect(server.received).toHaveLength(1);
    expect(deadLetters).toEqual([report]);
  });

  it('does not retry other 4xx, and does not follow redirects', async () => {
    for (const status of [400, 401, 404, 422]) {
      const server = await receiver([status]);
      const { sender: s } = sender();
      expect((await s.send(server.url, { payload: 1 })).outcome).toBe('rejected');
      expect(server.received).toHaveLength(1);
    }
    const target = await receiver([200]);
    const redirect = await receiver([{ status: 307, headers: { location: target.url } }]);
    expect((await sender().sender.send(redirect.url, { payload: 1 })).outcome).toBe('rejected');
    expect(target.received).toHaveLength(0);
  });

  it('retries 429 and 503, waiting at least the Retry-After the receiver asked for', async () => {
    const server = await receiver([{ status: 429, headers: { 'retry-after': '1' } }, 503, 200]);
    const { sender: s } = sender({ retry: { ...fast, minTimeout: 1 } });
    const started = Date.now();
    const report = await s.send(server.url, { payload: {} });
    expect(report.outcome).toBe('delivered');
    expect(report.attempts[0]).toMatchObject({ status: 429, retryAfterMs: 1_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(server.received).toHaveLength(3);
  });

  it('gives each attempt a timeout against a hung receiver, and dead-letters after the last attempt', async () => {
    const server = await receiver(['hang']);
    const { sender: s, deadLetters } = sender({
      timeoutMs: 100,
      retry: { retries: 2, minTimeout: 10, randomize: false },
    });
    const report = await s.send(server.url, { id: 'msg_hung', payload: {} });
    expect(report).toMatchObject({ delivered: false, outcome: 'exhausted' });
    expect(report.attempts).toHaveLength(3);
    for (const attempt of report.attempts) {
      expect(attempt.error).toMatch(/no response within 100 ms/);
      expect(attempt.durationMs).toBeLessThan(1_000);
    }
    expect(deadLetters).toEqual([report]);
  });

  it('reports an aborted delivery as aborted, without dead-lettering it', async () => {
    const server = await receiver([503]);
    const controller = new AbortController();
    const { sender: s, deadLetters } = sender({
      retry: { retries: 5, minTimeout: 5_000, signal: controller.signal },
    });
    setTimeout(() => controller.abort(), 100);
    const report = await s.send(server.url, { payload: {} });
    expect(report).toMatchObject({ delivered: false, outcome: 'aborted' });
    expect(report.attempts).toHaveLength(1);
    expect(deadLetters).toEqual([]);
  });

  it('abandons the attempt in flight when the signal aborts: settles at once as aborted and closes the socket', async () => {
    const server = await listen(() => {});
    servers.push(server);
    const sockets: Socket[] = [];
    server.server.on('connection', (socket: Socket) => sockets.push(socket));
    const controller = new AbortController();
    const { sender: s, deadLetters } = sender({ timeoutMs: 5_000, retry: { ...fast, signal: controller.signal } });
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const report = await s.send(server.url, { payload: {} });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(report).toMatchObject({ delivered: false, outcome: 'aborted' });
    expect(report.attempts).toHaveLength(1);
    expect(report.attempts[0]?.status).toBeUndefined();
    expect(deadLetters).toEqual([]);
    expect(sockets).toHaveLength(1);
    const socket = sockets[0] as Socket;
    if (!socket.destroyed) {
      const closed = once(socket, 'close').then(() => true);
      const late = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1_000));
      expect(await Promise.race([closed, late])).toBe(true);
    }
  });

  it('reports a 2xx as delivered when the signal aborts after it arrived, so a caller does not send it again', async () => {
    const server = await receiver([200]);
    const controller = new AbortController();
    const { sender: s, deadLetters } = sender({
      retry: { ...fast, signal: controller.signal },
      // the real request and response; the abort lands once the sender has the 200 in hand and
      // is discarding the body, the one moment that cannot be timed from outside
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const body = response.body;
        if (body) {
          const cancel = body.cancel.bind(body);
          body.cancel = (reason) => {
            controller.abort();
            return cancel(reason);
          };
        }
        return response;
      },
    });
    const report = await s.send(server.url, { id: 'msg_late_abort', payload: {} });
    expect(controller.signal.aborted).toBe(true);
    expect(report).toMatchObject({ delivered: true, outcome: 'delivered' });
    expect(report.attempts).toEqual([expect.objectContaining({ attempt: 1, status: 200 })]);
    expect(server.received).toHaveLength(1);
    expect(deadLetters).toEqual([]);
  });

  it('retries network errors (nothing listening) and reports them', async () => {
    const server = await receiver([200]);
    const url = server.url;
    await server.close();
    servers = [];
    const { sender: s } = sender({ retry: { retries: 1, minTimeout: 10 } });
    const report = await s.send(url, { payload: {} });
    expect(report.outcome).toBe('exhausted');
    expect(report.attempts).toHaveLength(2);
    expect(report.attempts[0]?.error).toBeTruthy();
  });

  it('signs github and stripe deliveries that their verifiers accept, github with x-github-event', async () => {
    for (const scheme of ['github', 'stripe'] as const) {
      const server = await receiver([200]);
      const { sender: s } = sender({ scheme, secret: 'plain secret' });
      await s.send(server.url, { id: 'evt_1', type: 'push', payload: { id: 'evt_1' } });
      const [request] = server.received;
      if (!request) throw new Error('nothing received');
      const event = createWebhookVerifier({ scheme, secret: 'plain secret' }).verify(request.body, request.headers);
      expect(event.payload).toEqual({ id: 'evt_1' });
      if (scheme === 'github') expect(request.headers['x-github-event']).toBe('push');
    }
  });

  it('stripe: takes the delivery id from payload.id, which the receiver deduplicates on, and refuses a payload without one', async () => {
    const server = await receiver([200]);
    const { sender: s } = sender({ scheme: 'stripe', secret: 'plain secret' });
    const report = await s.send(server.url, { payload: { id: 'evt_42', object: 'event' } });
    expect(report).toMatchObject({ id: 'evt_42', outcome: 'delivered' });
    for (const webhook of [
      { payload: { object: 'event' } },
      { payload: { id: 42 } },
      { payload: ['evt_1'] },
      { id: 'evt_1', payload: { id: 'evt_2' } },
    ]) {
      await expect(s.send(server.url, webhook), JSON.stringify(webhook)).rejects.toMatchObject({
        code: 'ERR_WEBHOOK_INPUT',
      });
    }
    expect(server.received).toHaveLength(1);
  });

  it('sends extra headers, but its own content-type, type and signature replace theirs, whatever their case', async () => {
    const server = await receiver([200]);
    const { sender: s } = sender({
      headers: { 'User-Agent': 'acme-hooks/1', 'Content-Type': 'text/plain', 'Webhook-Signature': 'v1,forged' },
    });
    await s.send(server.url, { id: 'msg_headers', type: 'invoice.paid', payload: { amount: 1 } });
    const [request] = server.received;
    if (!request) throw new Error('nothing received');
    expect(request.headers['user-agent']).toBe('acme-hooks/1');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-signature']).not.toContain('forged');
    const event = createWebhookVerifier({ scheme: 'standard', secret }).verify(request.body, request.headers);
    expect(event.id).toBe('msg_headers');
  });

  it('rejects bad input at send() and bad options at creation', async () => {
    const { sender: s } = sender();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const [url, webhook] of [
      ['ftp://example.com', { payload: 1 }],
      ['not a url', { payload: 1 }],
      ['http://127.0.0.1:1/', { payload: cyclic }],
      ['http://127.0.0.1:1/', { payload: 10n }],
      ['http://127.0.0.1:1/', { payload: undefined }],
      ['http://127.0.0.1:1/', { payload: 1, id: 'has space' }],
      ['http://127.0.0.1:1/', { payload: 1, type: 'a\nb' }],
    ] as const) {
      await expect(s.send(url, webhook as never)).rejects.toMatchObject({ code: 'ERR_WEBHOOK_INPUT' });
    }
    for (const options of [
      { scheme: 'standard', secret: '' },
      { scheme: 'standard', secret, timeoutMs: 0 },
      { scheme: 'standard', secret, fetch: 'x' },
      { scheme: 'nope', secret },
    ]) {
      expect(() => createWebhookSender(options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_WEBHOOK_OPTIONS' }),
      );
    }
  });

  it.each([
    ['a negative retries', { retries: -1 }],
    ['a string retries', { retries: '3' }],
    ['a NaN retries', { retries: Number.NaN }],
    ['a fractional retries', { retries: 1.5 }],
    ['a string minTimeout', { minTimeout: 'x' }],
    ['a negative factor', { factor: -1 }],
    ['a NaN maxTimeout', { maxTimeout: Number.NaN }],
    ['a string randomize', { randomize: 'false' }],
    ['a non-function onFailedAttempt', { onFailedAttempt: 'x' }],
    ['a signal that is not an AbortSignal', { signal: {} }],
    ['forever', { forever: true }],
    ['a string', 'x'],
    ['null', null],
  ])('rejects %s as retry at creation instead of dead-lettering every send', (_, retry) => {
    let calls = 0;
    const fetch = async () => {
      calls++;
      return new Response('', { status: 503 });
    };
    expect(() => createWebhookSender({ scheme: 'standard', secret, fetch, retry: retry as never })).toThrow(
      expect.objectContaining({ name: 'PatchbayError', code: 'ERR_WEBHOOK_OPTIONS' }),
    );
    expect(calls).toBe(0);
  });

  it('accepts the retry options p-retry accepts, Infinity included', () => {
    for (const retry of [
      { retries: 0 },
      { retries: Number.POSITIVE_INFINITY, maxRetryTime: 60_000 },
      { factor: 0, minTimeout: 0, maxTimeout: Number.POSITIVE_INFINITY, randomize: false },
      { signal: new AbortController().signal, onFailedAttempt: () => {}, shouldRetry: () => true },
    ]) {
      expect(() => createWebhookSender({ scheme: 'standard', secret, retry })).not.toThrow();
    }
  });

  it('rejects a clock without now() at creation', () => {
    for (const clock of ['x', {}]) {
      expect(() => createWebhookSender({ scheme: 'standard', secret, clock: clock as never })).toThrow(
        expect.objectContaining({ code: 'ERR_WEBHOOK_OPTIONS' }),
      );
    }
  });

  it('rejects a type that is not a valid header value at send(), before any attempt', async () => {
    const server = await receiver([200]);
    const { sender: s, deadLetters } = sender();
    for (const type of ['invoice\u0000paid', 'facture.payée€', 'a\rb']) {
      await expect(s.send(server.url, { type, payload: {} })).rejects.toMatchObject({
        name: 'PatchbayError',
        code: 'ERR_WEBHOOK_INPUT',
        message: expect.stringMatching(/^type must be/),
      });
    }
    expect(server.received).toHaveLength(0);
    expect(deadLetters).toEqual([]);
  });

  it('rejects extra headers that fetch would refuse at creation, with ERR_WEBHOOK_OPTIONS', () => {
    for (const headers of [
      { 'user-agent': 'patchbay\u0000' },
      { 'x-team': 'équipe €' },
      { 'bad name': 'x' },
      { 'x-count': 1 },
      'user-agent: x',
      ['user-agent', 'x'],
    ]) {
      expect(() => createWebhookSender({ scheme: 'standard', secret, headers: headers as never })).toThrow(
        expect.objectContaining({ name: 'PatchbayError', code: 'ERR_WEBHOOK_OPTIONS' }),
      );
    }
    expect(() =>
      createWebhookSender({ scheme: 'standard', secret, headers: { 'user-agent': 'acme/1.0' } }),
    ).not.toThrow();
  });

  it('lets the process exit after a timed-out delivery: no leaked timers or sockets', async () => {
    const server = await listen(() => {});
    servers.push(server);
    const result = await runIsolated(
      `import { createWebhookSender } from './src/webhooks/index.ts';
       const sender = createWebhookSender({ scheme: 'standard', secret: '${secret}', timeoutMs: 100, retry: { retries: 1, minTimeout: 10 } });
       const report = await sender.send('${server.url}', { payload: { a: 1 } });
       console.log(report.outcome, report.attempts.length);`,
      { exitWithinMs: 5_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    expect(result.stdout.trim()).toBe('exhausted 2');
  });
});

describe('Retry-After caps', () => {
  it('waits no longer than maxRetryAfterMs, even when the receiver asks for an hour', async () => {
    const server = await scriptedReceiver([{ status: 503, headers: { 'retry-after': '3600' } }, 200]);
    try {
      const s = createWebhookSender({ scheme: 'standard', secret, maxRetryAfterMs: 200, retry: { minTimeout: 10 } });
      const started = Date.now();
      const report = await s.send(server.url, { payload: {} });
      expect(report.outcome).toBe('delivered');
      expect(report.attempts[0]?.retryAfterMs).toBe(3_600_000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await server.close();
    }
  });

  it('does not wait for a Retry-After when no retry follows: shouldRetry said no, or maxRetryTime would pass', async () => {
    const server = await scriptedReceiver([
      { status: 503, headers: { 'retry-after': '3' } },
      { status: 503, headers: { 'retry-after': '3' } },
    ]);
    try {
      for (const retry of [
        { minTimeout: 10, shouldRetry: () => false },
        { minTimeout: 10, maxRetryTime: 1_000 },
      ]) {
        const s = createWebhookSender({ scheme: 'standard', secret, retry });
        const started = Date.now();
        const report = await s.send(server.url, { payload: {} });
        expect(report.outcome).toBe('exhausted');
        expect(report.attempts).toHaveLength(1);
        expect(Date.now() - started).toBeLessThan(1_500);
      }
    } finally {
      await server.close();
    }
  });
});
