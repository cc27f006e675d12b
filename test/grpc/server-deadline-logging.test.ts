import http2 from 'node:http2';
import { Metadata, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { serverAuthInterceptor, serverDeadlineInterceptor, serverLoggingInterceptor } from '../../src/grpc/index';
import { recordFaults } from '../support/faults';
import { cleanups, echoHandlers, grpcError, labClient, startLab } from './support/lab';
import { memoryLogger } from './support/logger';

const after = cleanups();
afterEach(() => after.run());

async function lab(options: Parameters<typeof startLab>[0] = {}) {
  return after.add(await startLab(options), (s) => s.stop());
}
function client(address: string) {
  return after.add(labClient(address), (c) => c.close());
}

describe('serverDeadlineInterceptor', () => {
  it('rejects calls of every type that carry no deadline, before the handler runs', async () => {
    let handled = 0;
    const server = await lab({
      interceptors: [serverDeadlineInterceptor()],
      handlers: {
        Unary: (call, callback) => {
          handled++;
          echoHandlers.Unary(call, callback);
        },
      },
    });
    const lab1 = client(server.address);
    const required = { code: status.INVALID_ARGUMENT, details: 'A deadline is required' };
    await expect(lab1.unary({})).rejects.toMatchObject(required);
    await expect(lab1.clientStream([{}])).rejects.toMatchObject(required);
    await expect(lab1.serverStream({ count: 1 })).resolves.toMatchObject({ messages: [], error: required });
    await expect(lab1.bidi([{}])).resolves.toMatchObject({ messages: [], error: required });
    expect(handled).toBe(0);
    const deadline = Date.now() + 5_000;
    await expect(lab1.unary({ text: 'ok' }, { deadline })).resolves.toMatchObject({ text: 'ok' });
    await expect(lab1.bidi([{ text: 'b' }], { deadline })).resolves.toMatchObject({ error: undefined });
    expect(handled).toBe(1);
  });

  it('rejects a deadline further away than maxMs, and skips the methods it is told to', async () => {
    const server = await lab({
      interceptors: [serverDeadlineInterceptor({ maxMs: 1_000, skip: (m) => m.endsWith('/ServerStream') })],
    });
    const lab1 = client(server.address);
    await expect(lab1.unary({}, { deadline: Date.now() + 60_000 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'The deadline must be at most 1000 ms away',
    });
    await expect(lab1.unary({ text: 'in time' }, { deadline: Date.now() + 900 })).resolves.toMatchObject({
      text: 'in time',
    });
    await expect(lab1.serverStream({ count: 1 })).resolves.toMatchObject({ error: undefined });
  });

  it('rejects bad options with ERR_GRPC_OPTIONS', () => {
    for (const bad of [null, { maxMs: 0 }, { maxMs: '5' }, { skip: true }]) {
      expect(() => serverDeadlineInterceptor(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
      );
    }
  });
});

describe('serverLoggingInterceptor', () => {
  it('logs every finished call, including those rejected by later interceptors and those the client cancels', async () => {
    const logger = memoryLogger();
    const server = await lab({
      interceptors: [
        serverLoggingInterceptor({ logger }),
        serverAuthInterceptor({ verify: (metadata) => metadata.get('authorization').length === 0 || undefined }),
      ],
      handlers: {
        Unary: (call, callback) =>
          call.request.text === 'fail'
            ? callback(grpcError(status.FAILED_PRECONDITION, 'not now') as never)
            : echoHandlers.Unary(call, callback),
        ServerStream: (call) => {
          call.write({ text: 'one', index: 0 });
          // then never ends: the client cancels
        },
      },
    });
    const lab1 = client(server.address);
    await lab1.unary({ text: 'hi' });
    await lab1.clientStream([{}, {}]);
    await lab1.bidi([{}, {}, {}]);
    await lab1.unary({ text: 'fail' }).catch(() => {});
    const withAuth = new Metadata();
    withAuth.set('authorization', 'Bearer nope');
    await lab1.unary({}, {}, withAuth).catch(() => {});
    await new Promise<void>((resolve) => {
      const stream = lab1.raw.ServerStream({ text: '', count: 0 }, new Metadata(), {});
      stream.on('data', () => stream.cancel());
      stream.on('error', () => resolve());
    });
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(
      logger.lines.map(({ type, status: name, level, requestMessages, responseMessages }) => [
        type,
        name,
        level,
        requestMessages,
        responseMessages,
      ]),
    ).toEqual([
      ['unary', 'OK', 'info', 1, 1],
      ['client_stream', 'OK', 'info', 2, 1],
      ['bidi', 'OK', 'info', 3, 3],
      ['unary', 'FAILED_PRECONDITION', 'warn', 1, 0],
      ['unary', 'UNAUTHENTICATED', 'info', 0, 0],
      ['server_stream', 'CANCELLED', 'info', 1, 1],
    ]);
    expect(logger.lines[3]).toMatchObject({ side: 'server', method: '/patchbay.test.Lab/Unary', details: 'not now' });
    expect(logger.lines[0]?.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('logs a call whose deadline passed on the server as DEADLINE_EXCEEDED, at warn', async () => {
    const logger = memoryLogger();
    const server = await lab({
      interceptors: [serverLoggingInterceptor({ logger })],
      handlers: { Unary: () => {} }, // never answers
    });
    // A raw HTTP/2 client that never cancels, so that the server's own deadline ends the call
    // (a grpc-js client cancels at its deadline, which races the server's).
    const session = after.add(http2.connect(`http://${server.address}`), (s) => s.close());
    session.on('error', () => {});
    const request = session.request({
      ':method': 'POST',
      ':path': '/patchbay.test.Lab/Unary',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '100m',
    });
    request.end(Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x01, 0x61])); // LabRequest { text: 'a' }
    const received = await new Promise<unknown>((resolve) => {
      request.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) resolve(headers['grpc-status']);
      });
      request.on('trailers', (trailers) => resolve(trailers['grpc-status']));
      request.resume();
    });
    expect(received).toBe(String(status.DEADLINE_EXCEEDED));
    await sleep(50);
    expect(logger.lines).toMatchObject([
      {
        type: 'unary',
        code: status.DEADLINE_EXCEEDED,
        status: 'DEADLINE_EXCEEDED',
        level: 'warn',
        details: 'Deadline exceeded',
      },
    ]);
  });

  it('answers, tells the handler of a cancellation and keeps the process up when the logger throws', async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    const boom = (): never => {
      throw new Error('logger bug');
    };
    let cancelled = 0;
    const server = await lab({
      interceptors: [serverLoggingInterceptor({ logger: { info: boom, warn: boom, error: boom } })],
      handlers: {
        Unary: (call, callback) => {
          if (call.request.text !== 'hang') return echoHandlers.Unary(call, callback);
          call.on('cancelled', () => cancelled++);
        },
      },
    });
    const lab1 = client(server.address);
    await expect(lab1.unary({ text: 'answered' })).resolves.toMatchObject({ text: 'answered' });
    await expect(lab1.unary({ text: 'hang' }, { deadline: Date.now() + 100 })).rejects.toMatchObject({
      code: status.DEADLINE_EXCEEDED,
    });
    await sleep(50);
    expect(cancelled).toBe(1);
    expect(faults.faults).toEqual([]);
  });

  it('rejects a bad logger with ERR_GRPC_OPTIONS', () => {
    for (const bad of [undefined, {}, { logger: console, level: 3 }, { logger: { info() {} } }]) {
      expect(() => serverLoggingInterceptor(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
      );
    }
  });
});
