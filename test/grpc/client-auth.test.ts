import { InterceptingCall, type Interceptor, Metadata, propagate, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { authInterceptor, type TokenResult } from '../../src/grpc/index';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { startGateway } from './support/gateway';
import { cleanups, echoHandlers, grpcError, type LabHandlers, labClient, startLab } from './support/lab';
import { within } from './support/within';

const after = cleanups();
afterEach(() => after.run());

/** A server that records the authorization header of every call and rejects tokens in `revoked`. */
async function authLab(revoked = new Set<string>()) {
  const seen: (string | undefined)[] = [];
  const check = (metadata: Metadata): string | undefined => {
    const value = metadata.get('authorization')[0]?.toString();
    seen.push(value);
    return value !== undefined && revoked.has(value) ? 'revoked' : undefined;
  };
  const handlers: Partial<LabHandlers> = {
    Unary: (call, callback) =>
      check(call.metadata)
        ? callback(grpcError(status.UNAUTHENTICATED, 'revoked') as never)
        : echoHandlers.Unary(call, callback),
    ClientStream: (call, callback) => {
      check(call.metadata);
      echoHandlers.ClientStream(call, callback);
    },
    ServerStream: (call) => {
      check(call.metadata);
      echoHandlers.ServerStream(call);
    },
    Bidi: (call) => {
      check(call.metadata);
      echoHandlers.Bidi(call);
    },
  };
  const server = after.add(await startLab({ handlers }), (s) => s.stop());
  return { server, seen };
}

describe('authInterceptor', () => {
  it('sends the bearer token on every call type, asking the provider once', async () => {
    const { server, seen } = await authLab();
    let asked = 0;
    const lab = after.add(
      labClient(server.address, [authInterceptor({ token: async () => `token-${++asked}` })]),
      (c) => c.close(),
    );
    await lab.unary({ text: 'u' });
    await lab.clientStream([{ text: 'c' }]);
    await lab.serverStream({ text: 's', count: 1 });
    await lab.bidi([{ text: 'b' }]);
    await Promise.all(Array.from({ length: 10 }, () => lab.unary({ text: 'again' })));
    expect(asked).toBe(1);
    expect(seen).toHaveLength(14);
    expect(new Set(seen)).toEqual(new Set(['Bearer token-1']));
  });

  it("leaves the caller's Metadata as it was, so the token does not travel with it to another server", async () => {
    const { server: service } = await authLab();
    const { server: partner, seen: partnerSaw } = await authLab();
    const authorized = after.add(
      labClient(service.address, [authInterceptor({ token: async () => 'service-secret' })]),
      (c) => c.close(),
    );
    const plain = after.add(labClient(partner.address), (c) => c.close());
    // A caller's metadata, kept and reused for its calls to both servers (or a handler's
    // incoming call.metadata passed on): the first call waits for the token, the second has it cached.
    const shared = new Metadata();
    shared.set('x-tenant', 'acme');
    await authorized.unary({ text: 'first' }, {}, shared);
    await authorized.unary({ text: 'cached' }, {}, shared);
    expect(shared.get('authorization')).toEqual([]);
    await plain.unary({ text: 'elsewhere' }, {}, shared);
    expect(partnerSaw).toEqual([undefined]);
  });

  it('shares one provider call among concurrent calls', async () => {
    const { server } = await authLab();
    let asked = 0;
    const lab = after.add(
      labClient(server.address, [
        authInterceptor({
          token: () => new Promise<string>((resolve) => setTimeout(() => resolve(`t${++asked}`), 30)),
        }),
      ]),
      (c) => c.close(),
    );
    await Promise.all(Array.from({ length: 20 }, (_, i) => lab.unary({ text: String(i) })));
    expect(asked).toBe(1);
  });

  it('asks again once the token is about to expire', async () => {
    const { server, seen } = await authLab();
    let now = 1_000_000;
    let asked = 0;
    const token = (): TokenResult => ({ token: `t${++asked}`, expiresAt: now + 60_000 });
    const lab = after.add(
      labClient(server.address, [authInterceptor({ token, refreshBeforeMs: 10_000, clock: { now: () => now } })]),
      (c) => c.close(),
    );
    await lab.unary({});
    now += 49_000;
    await lab.unary({});
    now += 2_000; // 9 s left: inside refreshBeforeMs
    await lab.unary({});
    expect(seen).toEqual(['Bearer t1', 'Bearer t1', 'Bearer t2']);
  });

  it('fails the call, and says why, when the provider returns a token already expired (an exp in seconds)', async () => {
    const { server, seen } = await authLab();
    let asked = 0;
    const inSeconds = (): TokenResult => ({ token: `t${++asked}`, expiresAt: Math.floor(Date.now() / 1000) + 3_600 });
    const lab = after.add(labClient(server.address, [authInterceptor({ token: inSeconds })]), (c) => c.close());
    await expect(lab.unary({})).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: expect.stringContaining('not seconds'),
    });
    expect(seen).toEqual([]);
  });

  it('drops the cached token when the server answers UNAUTHENTICATED', async () => {
    const revoked = new Set(['Bearer t1']);
    const { server, seen } = await authLab(revoked);
    let asked = 0;
    const lab = after.add(labClient(server.address, [authInterceptor({ token: () => `t${++asked}` })]), (c) =>
      c.close(),
    );
    await expect(lab.unary({})).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(lab.unary({ text: 'fresh' })).resolves.toMatchObject({ text: 'fresh' });
    expect(seen).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('drops a cached token that the server starts rejecting, on calls that did not wait for it', async () => {
    const revoked = new Set<string>();
    const { server, seen } = await authLab(revoked);
    let asked = 0;
    const lab = after.add(labClient(server.address, [authInterceptor({ token: () => `t${++asked}` })]), (c) =>
      c.close(),
    );
    await lab.unary({ text: 'fetched' });
    await lab.unary({ text: 'cached' });
    revoked.add('Bearer t1');
    await expect(lab.unary({ text: 'cached, revoked' })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(lab.unary({ text: 'fresh' })).resolves.toMatchObject({ text: 'fresh' });
    expect(seen).toEqual(['Bearer t1', 'Bearer t1', 'Bearer t1', 'Bearer t2']);
    expect(asked).toBe(2);
  });

  it('fails the call with UNAVAILABLE when the provider fails, and asks again on the next call', async () => {
    const { server, seen } = await authLab();
    const answers: (() => TokenResult)[] = [
      () => {
        throw new Error('idp down');
      },
      () => 'bad token with spaces',
      () => 'good',
    ];
    const lab = after.add(
      labClient(server.address, [authInterceptor({ token: async () => (answers.shift() as () => TokenResult)() })]),
      (c) => c.close(),
    );
    await expect(lab.unary({})).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: 'authInterceptor token provider failed: idp down',
    });
    await expect(lab.serverStream({ count: 1 })).resolves.toMatchObject({
      messages: [],
      error: { code: status.UNAVAILABLE, details: expect.stringContaining('no usable token') },
    });
    await expect(lab.unary({ text: 'ok' })).resolves.toMatchObject({ text: 'ok' });
    expect(seen).toEqual(['Bearer good']);
  });

  it('asks the provider again on the next call after it threw synchronously', async () => {
    const { server, seen } = await authLab();
    let asked = 0;
    const token = (): string => {
      if (++asked === 1) throw new Error('idp down');
      return `t${asked}`;
    };
    const lab = after.add(labClient(server.address, [authInterceptor({ token })]), (c) => c.close());
    await expect(lab.unary({}, { deadline: Date.now() + 5_000 })).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: 'authInterceptor token provider failed: idp down',
    });
    await expect(lab.unary({ text: 'ok' }, { deadline: Date.now() + 5_000 })).resolves.toMatchObject({ text: 'ok' });
    expect(asked).toBe(2);
    expect(seen).toEqual(['Bearer t2']);
  });

  it.each(['start', 'sendMessage'] as const)(
    'ends the call with INTERNAL, with no unhandled rejection, when a layer below throws in %s after an async token',
    async (where) => {
      const faults = after.add(recordFaults(), (f) => f.stop());
      const { server, seen } = await authLab();
      const throwing: Interceptor = (options, nextCall) =>
        new InterceptingCall(nextCall(options), {
          start(metadata, listener, next) {
            if (where === 'start') throw new Error('x-tenant missing');
            next(metadata, listener);
          },
          sendMessage() {
            throw new Error('message refused');
          },
        });
      let statuses = 0;
      const lab = after.add(
        labClient(server.address, [
          (options, nextCall) =>
            new InterceptingCall(nextCall(options), {
              start(metadata, _listener, next) {
                next(metadata, {
                  onReceiveStatus(final, nextStatus) {
                    statuses++;
                    nextStatus(final);
                  },
                });
              },
            }),
          authInterceptor({ token: async () => 'async-token' }),
          throwing,
        ]),
        (c) => c.close(),
      );
      const started = performance.now();
      await expect(lab.unary({}, { deadline: Date.now() + 5_000 })).rejects.toMatchObject({
        code: status.INTERNAL,
        details: `authInterceptor could not start the call: ${where === 'start' ? 'x-tenant missing' : 'message refused'}`,
      });
      // answered at once, not by the deadline
      expect(performance.now() - started).toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(statuses).toBe(1);
      expect(seen).toEqual([]);
      expect(faults.faults).toEqual([]);
    },
  );

  it('ends a call whose provider hangs with its deadline, or when cancelled', async () => {
    const { server, seen } = await authLab();
    const lab = after.add(
      labClient(server.address, [authInterceptor({ token: () => new Promise<string>(() => {}) })]),
      (c) => c.close(),
    );
    await expect(lab.unary({}, { deadline: Date.now() + 100 })).rejects.toMatchObject({
      code: status.DEADLINE_EXCEEDED,
    });
    const cancelled = new Promise((resolve) => {
      const call = lab.raw.Unary({ text: '', count: 0 }, new Metadata(), {}, resolve);
      setTimeout(() => call.cancel(), 50);
    });
    await expect(cancelled).resolves.toMatchObject({ code: status.CANCELLED });
    expect(seen).toEqual([]);
  });

  describe('in a call made from a server handler with `parent`, while it waits for its token', () => {
    const gateway = (inner: string, token: () => Promise<string>, flags?: number) =>
      startGateway(after, inner, [authInterceptor({ token })], flags);
    const slowToken = (): Promise<string> => new Promise((resolve) => setTimeout(() => resolve('late'), 300));

    it('ends with CANCELLED when the parent is cancelled', async () => {
      const { server, seen } = await authLab();
      const { child, upstream } = await gateway(server.address, slowToken);
      const call = upstream.raw.Unary({ text: '', count: 0 }, new Metadata(), {}, () => {});
      setTimeout(() => call.cancel(), 50);
      // grpc-js cancels the child below the interceptors, where nobody listens yet: without the
      // interceptor's own answer, the call would never end.
      expect(await within(child, 1_000)).toBe('settled');
      expect(await child).toMatchObject({ code: status.CANCELLED });
      await sleep(400); // the token has come by now
      expect(seen).toEqual([]);
    });

    it("ends with DEADLINE_EXCEEDED at the parent's deadline", async () => {
      const { server, seen } = await authLab();
      // The deadline alone: the server also cancels a call whose deadline passed, which races it.
      const { child, upstream } = await gateway(server.address, slowToken, propagate.DEADLINE);
      upstream.unary({}, { deadline: Date.now() + 100 }).catch(() => {});
      expect(await within(child, 1_000)).toBe('settled');
      expect(await child).toMatchObject({ code: status.DEADLINE_EXCEEDED });
      await sleep(400);
      expect(seen).toEqual([]);
    });
  });

  it('fails the calls waiting for a provider that does not answer within tokenTimeoutMs, and asks again', async () => {
    const { server, seen } = await authLab();
    let asked = 0;
    // The first answer never comes, as from an identity provider whose connection hung.
    const token = (): Promise<string> => (++asked === 1 ? new Promise<string>(() => {}) : Promise.resolve(`t${asked}`));
    const lab = after.add(labClient(server.address, [authInterceptor({ token, tokenTimeoutMs: 100 })]), (c) =>
      c.close(),
    );
    const deadline = Date.now() + 3_000;
    const failed = {
      code: status.UNAVAILABLE,
      details: 'authInterceptor token provider failed: no answer within 100 ms',
    };
    const [unary, stream] = await Promise.all([
      lab.unary({}, { deadline }).catch((e: unknown) => e),
      lab.serverStream({ count: 1 }, { deadline }),
    ]);
    expect(unary).toMatchObject(failed);
    expect(stream).toMatchObject({ messages: [], error: failed });
    await expect(lab.unary({ text: 'ok' }, { deadline })).resolves.toMatchObject({ text: 'ok' });
    expect(asked).toBe(2);
    expect(seen).toEqual(['Bearer t2']);
  });

  it('leaves no timer behind once a provider call timed out', async () => {
    const { server } = await authLab();
    const result = await runIsolated(`
      import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
      import { authInterceptor } from './src/grpc/index.ts';
      const bytes = { requestSerialize: (v) => v, requestDeserialize: (b) => b, responseSerialize: (v) => v, responseDeserialize: (b) => b };
      const Lab = makeGenericClientConstructor({ Unary: { path: '/patchbay.test.Lab/Unary', requestStream: false, responseStream: false, ...bytes } }, 'Lab');
      let asked = 0;
      const client = new Lab('${server.address}', credentials.createInsecure(), {
        interceptors: [authInterceptor({ token: () => (++asked === 1 ? new Promise(() => {}) : 'ok'), tokenTimeoutMs: 200 })],
      });
      const call = () => new Promise((resolve) => client.Unary(Buffer.alloc(0), new Metadata(), { deadline: Date.now() + 60_000 }, (e) => resolve(e?.code ?? 0)));
      const codes = [await call(), await call()];
      client.close();
      console.log(JSON.stringify(codes));
    `);
    expect(result).toMatchObject({ hung: false, stdout: `[${status.UNAVAILABLE},${status.OK}]\n` });
  });

  it('leaves no timer behind when a call waiting for its token ends', async () => {
    const { server } = await authLab();
    const result = await runIsolated(`
      import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
      import { authInterceptor } from './src/grpc/index.ts';
      const bytes = { requestSerialize: (v) => v, requestDeserialize: (b) => b, responseSerialize: (v) => v, responseDeserialize: (b) => b };
      const Lab = makeGenericClientConstructor({ Unary: { path: '/patchbay.test.Lab/Unary', requestStream: false, responseStream: false, ...bytes } }, 'Lab');
      let fail = true;
      const client = new Lab('${server.address}', credentials.createInsecure(), {
        interceptors: [authInterceptor({ token: async () => { if (fail) { fail = false; throw new Error('once'); } return 'ok'; } })],
      });
      const call = (deadline) => new Promise((resolve) => client.Unary(Buffer.alloc(0), new Metadata(), { deadline }, (e) => resolve(e?.code ?? 0)));
      const codes = [await call(Date.now() + 60_000), await call(Date.now() + 60_000)];
      client.close();
      console.log(JSON.stringify(codes));
    `);
    expect(result).toMatchObject({ hung: false, stdout: `[${status.UNAVAILABLE},${status.OK}]\n` });
  });

  it('rejects bad options with ERR_GRPC_OPTIONS', () => {
    for (const bad of [
      undefined,
      {},
      { token: 'static' },
      { token: () => 't', refreshBeforeMs: -1 },
      { token: () => 't', clock: {} },
      { token: () => 't', tokenTimeoutMs: 0 },
      { token: () => 't', tokenTimeoutMs: -1 },
      { token: () => 't', tokenTimeoutMs: '1000' },
      { token: () => 't', tokenTimeoutMs: Number.POSITIVE_INFINITY },
    ]) {
      expect(() => authInterceptor(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
    }
  });
});
