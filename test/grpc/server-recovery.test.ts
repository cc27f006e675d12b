import {
  ServerInterceptingCall,
  type ServerInterceptor,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type RecoveryEvent,
  recoverHandlers,
  serverAuthInterceptor,
  serverLoggingInterceptor,
  serverRateLimitInterceptor,
  serverRecoveryInterceptor,
} from '../../src/grpc/index';
import { slidingWindow } from '../../src/ratelimit/index';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { foreignPromise } from './support/foreign-promise';
import {
  cleanups,
  echoHandlers,
  grpcError,
  type LabHandlers,
  type LabRequest,
  labClient,
  startLab,
} from './support/lab';

const after = cleanups();
afterEach(() => after.run());

const secret = 'password=hunter2 at /srv/app/db.ts:42';

/** Handlers that fail in the ways real code does, on `text`: throw, reject, or pass a plain Error on. */
const failing: LabHandlers = {
  Unary: async (call, callback) => {
    if (call.request.text === 'throw') throw new Error(secret);
    if (call.request.text === 'reject') await Promise.reject(new Error(secret));
    if (call.request.text === 'plain') return callback(new Error(secret) as never);
    if (call.request.text === 'coded') return callback(grpcError(status.NOT_FOUND, 'no such order') as never);
    echoHandlers.Unary(call, callback);
  },
  ClientStream: (call, callback) => {
    call.on('data', (request: LabRequest) => {
      if (request.text === 'plain') callback(new Error(secret) as never);
    });
    call.on('end', () => callback(null, { text: 'done', index: 0 }));
  },
  ServerStream: async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new Error(secret);
  },
  Bidi: () => {
    throw new Error(secret);
  },
};

describe('serverRecoveryInterceptor', () => {
  it('answers INTERNAL without the message for a throw, a rejection and a plain error, and keeps serving', async () => {
    const events: RecoveryEvent[] = [];
    const server = after.add(
      await startLab({
        interceptors: [serverRecoveryInterceptor({ onError: (event) => events.push(event) })],
        implementation: recoverHandlers(failing as unknown as UntypedServiceImplementation),
      }),
      (s) => s.stop(),
    );
    const lab = after.add(labClient(server.address), (c) => c.close());
    for (const text of ['throw', 'reject', 'plain']) {
      const error = await lab.unary({ text }).catch((e: Error & { details: string }) => e);
      expect(error).toMatchObject({ code: status.INTERNAL, details: 'Internal server error' });
      expect(JSON.stringify(error)).not.toContain('hunter2');
      expect((error as Error).message).not.toContain('hunter2');
    }
    await expect(lab.clientStream([{ text: 'plain' }])).rejects.toMatchObject({
      code: status.INTERNAL,
      details: 'Internal server error',
    });
    await expect(lab.serverStream({ count: 1 })).resolves.toMatchObject({
      error: { code: status.INTERNAL, details: 'Internal server error' },
    });
    await expect(lab.bidi([{}])).resolves.toMatchObject({
      error: { code: status.INTERNAL, details: 'Internal server error' },
    });

    // Deliberate answers pass; the server is still serving.
    await expect(lab.unary({ text: 'coded' })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: 'no such order',
    });
    await expect(lab.unary({ text: 'fine' })).resolves.toEqual({ text: 'fine', index: 0 });

    expect(events).toHaveLength(6);
    expect(events.every((e) => e.method.startsWith('/patchbay.test.Lab/'))).toBe(true);
    expect(JSON.stringify(events.map((e) => e.error))).toContain('hunter2');
  });

  it('hides an error whose numeric code is not a gRPC status, such as a MongoDB duplicate key error', async () => {
    const events: RecoveryEvent[] = [];
    // What the MongoDB driver rejects with: a MongoServerError whose `code` is the server's number.
    const duplicate = Object.assign(
      new Error(
        'E11000 duplicate key error collection: shop.users index: email_1 dup key: { email: "bob@example.com" }',
      ),
      { code: 11000 },
    );
    const server = after.add(
      await startLab({
        interceptors: [serverRecoveryInterceptor({ onError: (event) => events.push(event) })],
        implementation: recoverHandlers({
          ...echoHandlers,
          Unary: async () => {
            await Promise.reject(duplicate);
          },
          ServerStream: (call: Parameters<LabHandlers['ServerStream']>[0]) =>
            call.emit('error', Object.assign(new Error(secret), { code: -1 })),
        } as unknown as UntypedServiceImplementation),
      }),
      (s) => s.stop(),
    );
    const lab = after.add(labClient(server.address), (c) => c.close());
    const error = await lab.unary({}).catch((e: Error) => e);
    expect(error).toMatchObject({ code: status.INTERNAL, details: 'Internal server error' });
    expect((error as Error).message).not.toContain('bob@example.com');
    await expect(lab.serverStream({ count: 1 })).resolves.toMatchObject({
      error: { code: status.INTERNAL, details: 'Internal server error' },
    });
    expect(events.map((event) => (event.error as { code: number }).code)).toEqual([11000, -1]);
  });

  it('answers INTERNAL for a handler whose promise, from another library, rejects', async () => {
    const foreignFailure: Partial<LabHandlers> = {
      Unary: () => foreignPromise(Promise.reject(new Error(secret))) as never,
    };
    const server = after.add(
      await startLab({
        interceptors: [serverRecoveryInterceptor()],
        implementation: recoverHandlers(foreignFailure as unknown as UntypedServiceImplementation),
      }),
      (s) => s.stop(),
    );
    const lab = after.add(labClient(server.address), (c) => c.close());
    await expect(lab.unary({}, { deadline: Date.now() + 2_000 })).rejects.toMatchObject({
      code: status.INTERNAL,
      details: 'Internal server error',
    });
  });

  it('hides the message of a synchronous throw, which grpc-js itself answers with UNKNOWN', async () => {
    const server = after.add(
      await startLab({
        interceptors: [serverRecoveryInterceptor()],
        handlers: {
          Unary: () => {
            throw new Error(secret);
          },
        },
      }),
      (s) => s.stop(),
    );
    const lab = after.add(labClient(server.address), (c) => c.close());
    await expect(lab.unary({})).rejects.toMatchObject({ code: status.INTERNAL, details: 'Internal server error' });
  });

  it('turns an exception thrown by a later interceptor into INTERNAL', async () => {
    const server = after.add(
      await startLab({
        interceptors: [
          serverRecoveryInterceptor(),
          (_descriptor, call) => {
            return new ServerInterceptingCall(call, {
              start: (next) =>
                next({
                  onReceiveMessage: () => {
                    throw new Error(secret);
                  },
                }),
            });
          },
        ],
      }),
      (s) => s.stop(),
    );
    const lab = after.add(labClient(server.address), (c) => c.close());
    await expect(lab.unary({ text: 'x' })).rejects.toMatchObject({
      code: status.INTERNAL,
      details: 'Internal server error',
    });
  });

  it('answers INTERNAL, tells onError, with no unhandled rejection, when an interceptor after an async gate throws', async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    const reported: RecoveryEvent[] = [];
    const throwing: ServerInterceptor = (_descriptor, call) =>
      new ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: () => {
              throw new Error(secret);
            },
          }),
      });
    const gates: Record<string, ServerInterceptor> = {
      'async verify': serverAuthInterceptor({ verify: async () => ({ sub: 'a' }) }),
      'rate limit': serverRateLimitInterceptor({
        limiter: slidingWindow({ limit: 10, windowMs: 60_000 }),
        key: () => 'everyone',
      }),
    };
    for (const [name, gate] of Object.entries(gates)) {
      const recovery = serverRecoveryInterceptor({ onError: (event) => reported.push(event) });
      const server = after.add(await startLab({ interceptors: [recovery, gate, throwing] }), (s) => s.stop());
      const lab = after.add(labClient(server.address), (c) => c.close());
      const started = performance.now();
      const error = await lab.unary({ text: name }, { deadline: Date.now() + 5_000 }).catch((e: unknown) => e);
      expect(error, name).toMatchObject({ code: status.INTERNAL, details: 'Internal server error' });
      // answered by the gate, not by the deadline
      expect(performance.now() - started, name).toBeLessThan(2_000);
    }
    expect(reported).toEqual([
      { method: '/patchbay.test.Lab/Unary', error: new Error(secret) },
      { method: '/patchbay.test.Lab/Unary', error: new Error(secret) },
    ]);
    // An unhandled rejection is reported after the microtasks of the turn that caused it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(faults.faults).toEqual([]);
  });

  it('keeps a server with async handlers alive through rejections (without recoverHandlers, Node would exit)', async () => {
    const source = (wrap: boolean) => `
      import { credentials, makeGenericClientConstructor, Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
      import { recoverHandlers, serverRecoveryInterceptor } from './src/grpc/index.ts';
      const bytes = { requestSerialize: (v) => v, requestDeserialize: (b) => b, responseSerialize: (v) => v, responseDeserialize: (b) => b };
      const service = { Unary: { path: '/patchbay.test.Lab/Unary', requestStream: false, responseStream: false, ...bytes } };
      const implementation = { Unary: async () => { throw new Error('${secret}'); } };
      const server = new Server({ interceptors: [serverRecoveryInterceptor()] });
      server.addService(service, ${wrap ? 'recoverHandlers(implementation)' : 'implementation'});
      const port = await new Promise((resolve) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (_e, p) => resolve(p)));
      const client = new (makeGenericClientConstructor(service, 'Lab'))('127.0.0.1:' + port, credentials.createInsecure());
      const call = () => new Promise((resolve) => client.Unary(Buffer.alloc(0), new Metadata(), { deadline: Date.now() + 2_000 }, (e) => resolve(e?.code + ' ' + e?.details)));
      console.log(JSON.stringify([await call(), await call()]));
      client.close();
      server.forceShutdown();
    `;
    const recovered = await runIsolated(source(true));
    expect(recovered).toMatchObject({ hung: false, code: 0 });
    expect(JSON.parse(recovered.stdout)).toEqual(['13 Internal server error', '13 Internal server error']);
    const crashed = await runIsolated(source(false));
    expect(crashed.code).not.toBe(0);
    expect(crashed.stderr).toContain('hunter2');
  });

  it('answers at once and keeps serving when the onError hook itself throws', async () => {
    let told = 0;
    const server = after.add(
      await startLab({
        interceptors: [
          serverRecoveryInterceptor({
            onError: () => {
              told++;
              throw new Error('broken logger');
            },
          }),
        ],
        implementation: recoverHandlers(failing as unknown as UntypedServiceImplementation),
      }),
      (s) => s.stop(),
    );
    const lab = after.add(labClient(server.address), (c) => c.close());
    for (const text of ['throw', 'plain']) {
      const started = performance.now();
      const error = await lab
        .unary({ text }, { deadline: Date.now() + 5_000 })
        .catch((e: Error & { code: number }) => e);
      expect(error).toMatchObject({ code: status.INTERNAL, details: 'Internal server error' });
      // answered by the interceptor, not by the deadline
      expect(performance.now() - started).toBeLessThan(2_000);
    }
    expect(told).toBe(2);
    expect(await lab.unary({ text: 'still serving' })).toMatchObject({ text: 'still serving' });
  });

  it('answers INTERNAL with no unhandled rejection when onError and a server logger are async and reject', async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    const rejecting = async (): Promise<never> => {
      throw new Error('async hook bug');
    };
    const server = after.add(
      await startLab({
        interceptors: [
          serverRecoveryInterceptor({ onError: rejecting }),
          serverLoggingInterceptor({ logger: { info: rejecting, warn: rejecting, error: rejecting } }),
        ],
        implementation: recoverHandlers(failing as unknown as UntypedServiceImplementation),
      }),
      (s) => s.stop(),
    );
    const lab = after.add(labClient(server.address), (c) => c.close());
    await expect(lab.unary({ text: 'throw' })).rejects.toMatchObject({ code: status.INTERNAL });
    expect(await lab.unary({ text: 'still serving' })).toMatchObject({ text: 'still serving' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(faults.faults).toEqual([]);
  });

  it('rejects bad input with ERR_GRPC_OPTIONS', () => {
    expect(() => serverRecoveryInterceptor({ onError: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    expect(() => serverRecoveryInterceptor(null as never)).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    expect(() => recoverHandlers({ Unary: 'no' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    expect(() => recoverHandlers(undefined as never)).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
  });
});
