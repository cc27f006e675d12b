import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { type CallMetrics, loggingInterceptor, metricsInterceptor, retryInterceptor } from '../../src/grpc/index';
import { recordFaults } from '../support/faults';
import { cleanups, echoHandlers, grpcError, type LabHandlers, labClient, startLab } from './support/lab';
import { memoryLogger } from './support/logger';

const after = cleanups();
afterEach(() => after.run());

async function lab(handlers: Partial<LabHandlers> = {}) {
  return after.add(await startLab({ handlers }), (s) => s.stop());
}

const boom = (): never => {
  throw new Error('hook bug');
};

const rejecting = async (): Promise<never> => {
  throw new Error('async hook bug');
};

describe('async client hooks', () => {
  it('serves the caller with no unhandled rejection when the logger, onCall and onRetry reject', async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    let calls = 0;
    const server = await lab({
      Unary: (call, callback) =>
        ++calls === 1 ? callback(grpcError(status.UNAVAILABLE, 'once') as never) : echoHandlers.Unary(call, callback),
    });
    const client = after.add(
      labClient(server.address, [
        metricsInterceptor({ onCall: rejecting }),
        loggingInterceptor({ logger: { info: rejecting, warn: rejecting, error: rejecting } }),
        retryInterceptor({ backoff: { initialMs: 5, maxMs: 5 }, onRetry: rejecting }),
      ]),
      (c) => c.close(),
    );
    await expect(client.unary({ text: 'observed' })).resolves.toMatchObject({ text: 'observed' });
    expect(calls).toBe(2);
    await sleep(20);
    expect(faults.faults).toEqual([]);
  });
});

describe('loggingInterceptor', () => {
  it('logs each finished call of every type once, at a level that follows its status', async () => {
    const server = await lab({
      Unary: (call, callback) =>
        call.request.text === 'boom'
          ? callback(grpcError(status.INTERNAL, 'it broke') as never)
          : call.request.text === 'missing'
            ? callback(grpcError(status.NOT_FOUND, 'no such thing') as never)
            : echoHandlers.Unary(call, callback),
    });
    const logger = memoryLogger();
    const client = after.add(labClient(server.address, [loggingInterceptor({ logger })]), (c) => c.close());
    await client.unary({ text: 'hi' });
    await client.clientStream([{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
    await client.serverStream({ text: 's', count: 4 });
    await client.bidi([{ text: 'x' }, { text: 'y' }]);
    await client.unary({ text: 'boom' }).catch(() => {});
    await client.unary({ text: 'missing' }).catch(() => {});

    expect(
      logger.lines.map(({ type, status: name, level, requestMessages, responseMessages }) => ({
        type,
        name,
        level,
        requestMessages,
        responseMessages,
      })),
    ).toEqual([
      { type: 'unary', name: 'OK', level: 'info', requestMessages: 1, responseMessages: 1 },
      { type: 'client_stream', name: 'OK', level: 'info', requestMessages: 3, responseMessages: 1 },
      { type: 'server_stream', name: 'OK', level: 'info', requestMessages: 1, responseMessages: 4 },
      { type: 'bidi', name: 'OK', level: 'info', requestMessages: 2, responseMessages: 2 },
      { type: 'unary', name: 'INTERNAL', level: 'error', requestMessages: 1, responseMessages: 0 },
      { type: 'unary', name: 'NOT_FOUND', level: 'info', requestMessages: 1, responseMessages: 0 },
    ]);
    expect(logger.lines[0]).toMatchObject({
      side: 'client',
      method: '/patchbay.test.Lab/Unary',
      code: 0,
      message: 'grpc call OK',
      peer: server.address,
      durationMs: expect.any(Number),
    });
    expect(logger.lines[0]).not.toHaveProperty('details');
    expect(logger.lines[4]).toMatchObject({ details: 'it broke' });
  });

  it('logs once per call when placed before the retry interceptor, and per attempt after it', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (call, callback) =>
        ++calls % 2 === 1
          ? callback(grpcError(status.UNAVAILABLE, 'flap') as never)
          : echoHandlers.Unary(call, callback),
    });
    const outer = memoryLogger();
    const inner = memoryLogger();
    const client = after.add(
      labClient(server.address, [
        loggingInterceptor({ logger: outer }),
        retryInterceptor({ backoff: { initialMs: 1, maxMs: 1 } }),
        loggingInterceptor({ logger: inner, level: () => 'warn' }),
      ]),
      (c) => c.close(),
    );
    await client.unary({ text: 'x' });
    expect(outer.lines.map((l) => l.status)).toEqual(['OK']);
    expect(inner.lines.map((l) => [l.status, l.level])).toEqual([
      ['UNAVAILABLE', 'warn'],
      ['OK', 'warn'],
    ]);
  });

  it('serves the caller and keeps the process up when the logger or its level function throws', async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    const server = await lab();
    const throwingLogger = after.add(
      labClient(server.address, [loggingInterceptor({ logger: { info: boom, warn: boom, error: boom } })]),
      (c) => c.close(),
    );
    const throwingLevel = after.add(
      labClient(server.address, [loggingInterceptor({ logger: memoryLogger(), level: boom })]),
      (c) => c.close(),
    );
    await expect(throwingLogger.unary({ text: 'logged' })).resolves.toMatchObject({ text: 'logged' });
    await expect(throwingLevel.serverStream({ text: 'leveled', count: 2 })).resolves.toMatchObject({
      messages: [{ text: 'leveled' }, { text: 'leveled' }],
      error: undefined,
    });
    await sleep(20);
    expect(faults.faults).toEqual([]);
  });

  it('rejects a logger without info, warn and error with ERR_GRPC_OPTIONS', () => {
    for (const bad of [
      undefined,
      {},
      { logger: {} },
      { logger: { info() {}, warn() {} } },
      { logger: memoryLogger(), level: 'info' },
    ]) {
      expect(() => loggingInterceptor(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
    }
  });
});

describe('metricsInterceptor', () => {
  it('reports method, type, code, duration, message counts and sizes for every call type', async () => {
    const server = await lab({
      ServerStream: (call) => {
        call.write({ text: 'one', index: 0 });
        call.emit('error', grpcError(status.ABORTED, 'stopped'));
      },
    });
    const calls: CallMetrics[] = [];
    const client = after.add(
      labClient(server.address, [
        metricsInterceptor({ onCall: (m) => calls.push(m), responseSize: (m) => JSON.stringify(m).length }),
      ]),
      (c) => c.close(),
    );
    await client.unary({ text: 'hello' });
    await client.clientStream([{ text: 'ab' }, { text: 'cd' }]);
    await client.serverStream({ text: 's', count: 3 });
    await client.bidi([{ text: 'x' }]);

    // LabRequest { text: 'hello', count: 0 } is 9 bytes on the wire: tag, length and 5 bytes of
    // text, then tag and value of count (protobufjs writes the explicit 0).
    expect(calls[0]).toEqual({
      method: '/patchbay.test.Lab/Unary',
      type: 'unary',
      code: 0,
      status: 'OK',
      durationMs: expect.any(Number),
      requestMessages: 1,
      responseMessages: 1,
      requestBytes: 9,
      responseBytes: JSON.stringify({ text: 'hello', index: 0 }).length,
    });
    expect(calls[1]).toMatchObject({
      type: 'client_stream',
      requestMessages: 2,
      requestBytes: 12,
      responseMessages: 1,
    });
    expect(calls[2]).toMatchObject({
      type: 'server_stream',
      code: status.ABORTED,
      status: 'ABORTED',
      responseMessages: 1,
    });
    expect(calls[3]).toMatchObject({ type: 'bidi', code: 0, requestMessages: 1, responseMessages: 1 });
    expect(calls.every((m) => m.durationMs >= 0)).toBe(true);
  });

  it('leaves sizes undefined when told not to measure them, or when responses are not bytes', async () => {
    const server = await lab();
    const calls: CallMetrics[] = [];
    const client = after.add(labClient(server.address, [metricsInterceptor({ onCall: (m) => calls.push(m) })]), (c) =>
      c.close(),
    );
    await client.unary({ text: 'a' });
    const noSizes = after.add(
      labClient(server.address, [metricsInterceptor({ onCall: (m) => calls.push(m), sizes: false })]),
      (c) => c.close(),
    );
    await noSizes.unary({ text: 'a' });
    expect(calls.map((m) => [m.requestBytes, m.responseBytes])).toEqual([
      [5, undefined],
      [undefined, undefined],
    ]);
  });

  it('lets grpc-js fail a request it cannot serialize with INTERNAL, as without the interceptor', async () => {
    const server = await lab();
    const calls: CallMetrics[] = [];
    const bare = after.add(labClient(server.address), (c) => c.close());
    const measured = after.add(labClient(server.address, [metricsInterceptor({ onCall: (m) => calls.push(m) })]), (c) =>
      c.close(),
    );
    const unserializable = { text: 'a', count: 1n } as never; // a BigInt cannot become an int32
    const expected = await bare.unary(unserializable).catch((e: Error & { code: number; details: string }) => e);
    expect(expected).toMatchObject({ code: status.INTERNAL });
    const error = await measured.unary(unserializable).catch((e: Error & { code: number }) => e);
    expect(error).toMatchObject({ code: status.INTERNAL, details: (expected as { details: string }).details });
    expect(calls).toMatchObject([{ code: status.INTERNAL, requestMessages: 1, requestBytes: undefined }]);
  });

  it('serves the caller and keeps the process up when onCall or responseSize throws', async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    const server = await lab();
    const throwingOnCall = after.add(labClient(server.address, [metricsInterceptor({ onCall: boom })]), (c) =>
      c.close(),
    );
    const calls: CallMetrics[] = [];
    const throwingSize = after.add(
      labClient(server.address, [metricsInterceptor({ onCall: (m) => calls.push(m), responseSize: boom })]),
      (c) => c.close(),
    );
    await expect(throwingOnCall.unary({ text: 'measured' })).resolves.toMatchObject({ text: 'measured' });
    await expect(throwingSize.unary({ text: 'sized' })).resolves.toMatchObject({ text: 'sized' });
    expect(calls).toMatchObject([{ code: status.OK, responseMessages: 1, responseBytes: undefined }]);
    await sleep(20);
    expect(faults.faults).toEqual([]);
  });

  it('rejects a missing onCall with ERR_GRPC_OPTIONS', () => {
    for (const bad of [
      undefined,
      {},
      { onCall: 1 },
      { onCall() {}, responseSize: 2 },
      { onCall() {}, sizes: 'false' },
      { onCall() {}, sizes: 0 },
    ]) {
      expect(() => metricsInterceptor(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
    }
  });
});
