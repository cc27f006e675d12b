import { status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  authInterceptor,
  bearerToken,
  type CallMetrics,
  deadlineInterceptor,
  identityOf,
  loggingInterceptor,
  metricsInterceptor,
  recoverHandlers,
  retryInterceptor,
  serverAuthInterceptor,
  serverDeadlineInterceptor,
  serverLoggingInterceptor,
  serverRateLimitInterceptor,
  serverRecoveryInterceptor,
} from '../../src/grpc/index';
import { slidingWindow } from '../../src/ratelimit/index';
import { cleanups, echoHandlers, grpcError, type LabHandlers, labClient, startLab } from './support/lab';
import { memoryLogger } from './support/logger';

const after = cleanups();
afterEach(() => after.run());

const users: Record<string, string> = { 'token-alice': 'alice', 'token-bob': 'bob' };

/** The recommended chains of docs/grpc.md, on both sides of a real connection. */
async function setup({ token = 'token-alice', limit = 100 } = {}) {
  const serverLog = memoryLogger();
  const clientLog = memoryLogger();
  const metrics: CallMetrics[] = [];
  let flaky = 0;
  const handlers: LabHandlers = {
    ...echoHandlers,
    Unary: async (call, callback) => {
      const user = identityOf<string>(call);
      if (call.request.text === 'flaky' && ++flaky <= 2) {
        return callback(grpcError(status.UNAVAILABLE, 'warming up') as never);
      }
      if (call.request.text === 'crash') throw new Error('secret internals');
      callback(null, { text: `${call.request.text} for ${user}`, index: flaky });
    },
    ServerStream: (call) => {
      for (let index = 0; index < call.request.count; index++) {
        call.write({ text: identityOf<string>(call) ?? '', index });
      }
      call.end();
    },
  };
  const server = after.add(
    await startLab({
      interceptors: [
        serverLoggingInterceptor({ logger: serverLog }),
        serverRecoveryInterceptor(),
        serverDeadlineInterceptor({ maxMs: 30_000 }),
        serverAuthInterceptor({ verify: (metadata) => users[bearerToken(metadata) ?? ''] }),
        serverRateLimitInterceptor({
          limiter: slidingWindow({ limit, windowMs: 250 }),
          key: (call) => identityOf<string>(call) ?? 'anonymous',
        }),
      ],
      implementation: recoverHandlers(handlers as unknown as UntypedServiceImplementation),
    }),
    (s) => s.stop(),
  );
  const client = after.add(
    labClient(server.address, [
      loggingInterceptor({ logger: clientLog }),
      metricsInterceptor({ onCall: (m) => metrics.push(m) }),
      deadlineInterceptor({ defaultMs: 5_000 }),
      retryInterceptor({ backoff: { initialMs: 10, maxMs: 50 } }),
      authInterceptor({ token: () => token }),
    ]),
    (c) => c.close(),
  );
  return { client, server, serverLog, clientLog, metrics };
}

describe('the recommended chains together', () => {
  it('serves unary and streaming calls with the identity, a deadline and one log line per call on each side', async () => {
    const { client, server, serverLog, clientLog, metrics } = await setup();
    await expect(client.unary({ text: 'hello' })).resolves.toEqual({ text: 'hello for alice', index: 0 });
    await expect(client.serverStream({ count: 2 })).resolves.toMatchObject({
      messages: [
        { text: 'alice', index: 0 },
        { text: 'alice', index: 1 },
      ],
      error: undefined,
    });
    await expect(client.clientStream([{ text: 'a' }, { text: 'b' }])).resolves.toEqual({ text: 'a,b', index: 2 });
    await expect(client.bidi([{ text: 'x' }])).resolves.toMatchObject({ messages: [{ text: 'x' }], error: undefined });
    expect(clientLog.lines.map((l) => l.status)).toEqual(['OK', 'OK', 'OK', 'OK']);
    expect(serverLog.lines.map((l) => `${l.type} ${l.status}`)).toEqual([
      'unary OK',
      'server_stream OK',
      'client_stream OK',
      'bidi OK',
    ]);
    expect(metrics.map((m) => m.type)).toEqual(['unary', 'server_stream', 'client_stream', 'bidi']);
    // The client's log line names the server, though the retry interceptor below it has ended its attempt.
    expect(new Set(clientLog.lines.map((l) => l.peer))).toEqual(new Set([server.address]));
  });

  it('retries a server that fails twice with UNAVAILABLE: one call for the client, three for the server', async () => {
    const { client, serverLog, clientLog, metrics } = await setup();
    await expect(client.unary({ text: 'flaky' })).resolves.toEqual({ text: 'flaky for alice', index: 3 });
    expect(clientLog.lines.map((l) => l.status)).toEqual(['OK']);
    expect(metrics).toHaveLength(1);
    expect(serverLog.lines.map((l) => l.status)).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'OK']);
  });

  it('hides a crash as INTERNAL, and does not retry it', async () => {
    const { client, serverLog } = await setup();
    const error = await client.unary({ text: 'crash' }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: status.INTERNAL, details: 'Internal server error' });
    expect(serverLog.lines.map((l) => l.status)).toEqual(['INTERNAL']);
    await expect(client.unary({ text: 'still up' })).resolves.toMatchObject({ text: 'still up for alice' });
  });

  it('rejects an unknown token without retrying, and waits out a rate limit through the pushback trailer', async () => {
    const stranger = await setup({ token: 'token-mallory' });
    await expect(stranger.client.unary({})).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(stranger.serverLog.lines.map((l) => l.status)).toEqual(['UNAUTHENTICATED']);

    const limited = await setup({ token: 'token-bob', limit: 2 });
    const replies = await Promise.all([1, 2, 3].map((i) => limited.client.unary({ text: String(i) })));
    expect(replies.map((r) => r.text)).toEqual(['1 for bob', '2 for bob', '3 for bob']);
    expect(limited.serverLog.lines.filter((l) => l.status === 'RESOURCE_EXHAUSTED')).toHaveLength(1);
    expect(limited.clientLog.lines.map((l) => l.status)).toEqual(['OK', 'OK', 'OK']);
  });
});
