// patchbay's interceptors return one object per call that implements grpc-js's call interfaces
// directly, rather than grpc-js's InterceptingCall / ServerInterceptingCall. These tests mix them
// with interceptors written the grpc-js way, including ones that hold the call back
// asynchronously (which only grpc-js's classes buffer for), on both sides of a real connection.
import {
  InterceptingCall,
  type Interceptor,
  Metadata,
  ServerInterceptingCall,
  type ServerInterceptor,
  status,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  authInterceptor,
  type CallMetrics,
  deadlineInterceptor,
  identityOf,
  loggingInterceptor,
  metricsInterceptor,
  retryInterceptor,
  serverAuthInterceptor,
  serverLoggingInterceptor,
  serverRateLimitInterceptor,
  serverRecoveryInterceptor,
} from '../../src/grpc/index';
import { tokenBucket } from '../../src/ratelimit/index';
import { cleanups, echoHandlers, type LabHandlers, labClient, startLab } from './support/lab';
import { memoryLogger } from './support/logger';

const after = cleanups();
afterEach(() => after.run());

/** A grpc-js style client interceptor that adds a header after a delay, so its layer buffers messages. */
const slowHeader: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      setTimeout(() => {
        metadata.set('x-slow', 'yes');
        next(metadata, listener);
      }, 5);
    },
  });

/** A grpc-js style server interceptor that lets the metadata up only after a delay. */
const slowMetadata: ServerInterceptor = (_descriptor, call) =>
  new ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(metadata, nextMetadata) {
          setTimeout(() => nextMetadata(metadata), 5);
        },
      });
    },
  });

const handlers: Partial<LabHandlers> = {
  Unary: (call, callback) =>
    callback(null, { text: `${call.request.text} ${identityOf<string>(call)} ${slowSeen(call.metadata)}`, index: 0 }),
  ClientStream: (call, callback) => {
    const texts: string[] = [];
    call.on('data', (request: { text: string }) => texts.push(request.text));
    call.on('end', () => callback(null, { text: `${texts.join(',')} ${identityOf<string>(call)}`, index: 0 }));
  },
  ServerStream: echoHandlers.ServerStream,
};

const slowSeen = (metadata: Metadata): string => String(metadata.get('x-slow')[0] ?? 'no');

describe("patchbay's interceptors beside grpc-js's own", () => {
  it('carry every call type through asynchronous grpc-js layers placed between them, on both sides', async () => {
    const serverLog = memoryLogger();
    const clientLog = memoryLogger();
    const metrics: CallMetrics[] = [];
    const server = after.add(
      await startLab({
        interceptors: [
          serverLoggingInterceptor({ logger: serverLog }),
          slowMetadata,
          serverRecoveryInterceptor(),
          serverAuthInterceptor({
            verify: async (metadata) => (metadata.get('authorization')[0] ? 'alice' : undefined),
          }),
          slowMetadata,
          serverRateLimitInterceptor({ limiter: tokenBucket({ capacity: 100, refillPerSecond: 1 }), key: () => 'k' }),
        ],
        handlers,
      }),
      (s) => s.stop(),
    );
    const client = after.add(
      labClient(server.address, [
        loggingInterceptor({ logger: clientLog }),
        slowHeader,
        metricsInterceptor({ onCall: (m) => metrics.push(m) }),
        deadlineInterceptor({ defaultMs: 5_000 }),
        retryInterceptor(),
        slowHeader,
        authInterceptor({ token: () => 'token' }),
      ]),
      (c) => c.close(),
    );

    await expect(client.unary({ text: 'hello' })).resolves.toEqual({ text: 'hello alice yes', index: 0 });
    await expect(client.clientStream([{ text: 'a' }, { text: 'b' }, { text: 'c' }])).resolves.toEqual({
      text: 'a,b,c alice',
      index: 0,
    });
    await expect(client.serverStream({ text: 's', count: 3 })).resolves.toMatchObject({
      messages: [{ index: 0 }, { index: 1 }, { index: 2 }],
      error: undefined,
    });
    expect(clientLog.lines.map((l) => [l.type, l.status, l.requestMessages, l.responseMessages])).toEqual([
      ['unary', 'OK', 1, 1],
      ['client_stream', 'OK', 3, 1],
      ['server_stream', 'OK', 1, 3],
    ]);
    expect(serverLog.lines.map((l) => [l.type, l.status, l.requestMessages, l.responseMessages])).toEqual([
      ['unary', 'OK', 1, 1],
      ['client_stream', 'OK', 3, 1],
      ['server_stream', 'OK', 1, 3],
    ]);
    // { text: 'hello', count: 0 }: 9 bytes; { text: 'a', count: 0 }: 5 bytes; { text: 's', count: 3 }: 5 bytes.
    expect(metrics.map((m) => [m.type, m.requestMessages, m.requestBytes])).toEqual([
      ['unary', 1, 9],
      ['client_stream', 3, 15],
      ['server_stream', 1, 5],
    ]);
  });

  it('ends a call whose client leaves while an async gate decides, without running its handler', async () => {
    let handled = 0;
    const serverLog = memoryLogger();
    const server = after.add(
      await startLab({
        interceptors: [
          serverLoggingInterceptor({ logger: serverLog }),
          serverAuthInterceptor({
            verify: () => new Promise<string>((resolve) => setTimeout(() => resolve('late'), 100)),
          }),
        ],
        handlers: {
          Unary: (call, callback) => {
            handled++;
            echoHandlers.Unary(call, callback);
          },
        },
      }),
      (s) => s.stop(),
    );
    const client = after.add(labClient(server.address), (c) => c.close());
    // Cancelled rather than left at a deadline: a call that ends at its deadline is logged as
    // DEADLINE_EXCEEDED on the server, or as CANCELLED when the client's cancellation comes first.
    const ended = new Promise((resolve) => {
      const call = client.raw.Unary({ text: '', count: 0 }, new Metadata(), {}, resolve);
      setTimeout(() => call.cancel(), 30);
    });
    await expect(ended).resolves.toMatchObject({ code: status.CANCELLED });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(handled).toBe(0);
    expect(serverLog.lines.map((l) => l.status)).toEqual(['CANCELLED']);
  });
});
