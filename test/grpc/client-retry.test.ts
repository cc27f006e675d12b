import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Metadata, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { authInterceptor, deadlineInterceptor, type RetryEvent, retryInterceptor } from '../../src/grpc/index';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { startGateway } from './support/gateway';
import {
  cleanups,
  echoHandlers,
  grpcError,
  type LabHandlers,
  type LabReply,
  type LabRequest,
  labClient,
  startLab,
} from './support/lab';
import { within } from './support/within';

const after = cleanups();
afterEach(() => after.run());

const fast = { initialMs: 5, maxMs: 20 };

async function lab(handlers: Partial<LabHandlers>) {
  return after.add(await startLab({ handlers }), (s) => s.stop());
}
function client(address: string, interceptors: Parameters<typeof labClient>[1]) {
  return after.add(labClient(address, interceptors), (c) => c.close());
}

describe('retryInterceptor', () => {
  it('retries a unary call that fails twice with UNAVAILABLE, then succeeds', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (call, callback) => {
        calls++;
        if (calls < 3) callback(grpcError(status.UNAVAILABLE, `injected failure ${calls}`) as never);
        else echoHandlers.Unary(call, callback);
      },
    });
    const events: RetryEvent[] = [];
    const lab1 = client(server.address, [retryInterceptor({ backoff: fast, onRetry: (e) => events.push(e) })]);
    await expect(lab1.unary({ text: 'hello' })).resolves.toEqual({ text: 'hello', index: 0 });
    expect(calls).toBe(3);
    expect(events.map((e) => [e.attempt, e.code])).toEqual([
      [2, status.UNAVAILABLE],
      [3, status.UNAVAILABLE],
    ]);
    expect(events[0]?.method).toBe('/patchbay.test.Lab/Unary');
  });

  it('retries and keeps the process up when onRetry throws', async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    let calls = 0;
    const server = await lab({
      Unary: (call, callback) =>
        ++calls === 1 ? callback(grpcError(status.UNAVAILABLE, 'once') as never) : echoHandlers.Unary(call, callback),
    });
    const onRetry = (): never => {
      throw new Error('hook bug');
    };
    const lab1 = client(server.address, [retryInterceptor({ backoff: fast, onRetry })]);
    await expect(lab1.unary({ text: 'again' })).resolves.toEqual({ text: 'again', index: 0 });
    expect(calls).toBe(2);
    await sleep(20);
    expect(faults.faults).toEqual([]);
  });

  it('ends a call whose retry is due after client.close() with UNAVAILABLE, with no uncaught exception', async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    const server = await lab({
      Unary: (_call, callback) => callback(grpcError(status.UNAVAILABLE, 'down') as never),
    });
    const lab1 = labClient(server.address, [
      retryInterceptor({ backoff: { initialMs: 200, maxMs: 200, random: () => 0.99 } }),
    ]);
    const outcome = lab1.unary({ text: 'x' }, { deadline: Date.now() + 5_000 }).catch((e: unknown) => e);
    await sleep(60); // the first attempt failed; the retry waits about 198 ms
    lab1.close();
    expect(await within(outcome, 1_000)).toBe('settled');
    expect(await outcome).toMatchObject({
      code: status.UNAVAILABLE,
      details: expect.stringContaining('Channel has been shut down'),
    });
    expect(faults.faults).toEqual([]);
  });

  it("ends the call with the attempt's status, with no uncaught exception, when the backoff's random source throws", async () => {
    const faults = after.add(recordFaults(), (f) => f.stop());
    let calls = 0;
    const server = await lab({
      Unary: (call, callback) =>
        ++calls === 1 ? callback(grpcError(status.UNAVAILABLE, 'once') as never) : echoHandlers.Unary(call, callback),
    });
    const random = (): never => {
      throw new Error('random source failed');
    };
    const lab1 = client(server.address, [retryInterceptor({ backoff: { random } })]);
    const outcome = lab1.unary({ text: 'x' }, { deadline: Date.now() + 5_000 }).catch((e: unknown) => e);
    expect(await within(outcome, 1_000)).toBe('settled');
    expect(await outcome).toMatchObject({ code: status.UNAVAILABLE, details: 'once' });
    expect(calls).toBe(1);
    await sleep(20);
    expect(faults.faults).toEqual([]);
  });

  it('does not retry INVALID_ARGUMENT, a code outside retryableCodes', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (_call, callback) => {
        calls++;
        callback(grpcError(status.INVALID_ARGUMENT, 'bad text') as never);
      },
    });
    const lab1 = client(server.address, [retryInterceptor({ backoff: fast })]);
    await expect(lab1.unary({ text: 'x' })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'bad text',
    });
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last status', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (_call, callback) => {
        calls++;
        callback(grpcError(status.RESOURCE_EXHAUSTED, `busy ${calls}`) as never);
      },
    });
    const lab1 = client(server.address, [retryInterceptor({ maxAttempts: 4, backoff: fast })]);
    await expect(lab1.unary({})).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: 'busy 4' });
    expect(calls).toBe(4);
  });

  it('delivers every message of a client stream written from write callbacks, as a first attempt', async () => {
    const server = await lab({
      ClientStream: (call, callback) => {
        const texts: string[] = [];
        call.on('data', (request: LabRequest) => texts.push(request.text));
        call.on('end', () => callback(null, { text: texts.join(','), index: texts.length }));
      },
    });
    const lab1 = client(server.address, [retryInterceptor({ backoff: fast })]);
    const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const reply = await new Promise<LabReply>((resolve, reject) => {
      const call = lab1.raw.ClientStream(new Metadata(), {}, (error, result) =>
        error ? reject(error) : resolve(result as LabReply),
      );
      // the way a caller honouring backpressure writes: the next message from the last one's callback
      const write = (i: number): void => {
        if (i === texts.length) {
          call.end();
          return;
        }
        call.write({ text: `m${i}`, count: 0 }, () => write(i + 1));
      };
      write(0);
    });
    expect(reply).toEqual({ text: texts.join(','), index: 20 });
  });

  it('replays every message of a client stream to the next attempt', async () => {
    const received: string[][] = [];
    const server = await lab({
      ClientStream: (call, callback) => {
        const texts: string[] = [];
        received.push(texts);
        call.on('data', (request: LabRequest) => texts.push(request.text));
        call.on('end', () => {
          if (received.length < 3) callback(grpcError(status.UNAVAILABLE, 'try again') as never);
          else callback(null, { text: texts.join(','), index: texts.length });
        });
      },
    });
    const lab1 = client(server.address, [retryInterceptor({ backoff: fast })]);
    const texts = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await expect(lab1.clientStream(texts.map((text) => ({ text })))).resolves.toEqual({
      text: texts.join(','),
      index: 50,
    });
    expect(received).toEqual([texts, texts, texts]);
  });

  it('replays a client stream through an auth interceptor that is still fetching its token', async () => {
    const received: string[][] = [];
    const tokens: string[] = [];
    const server = await lab({
      ClientStream: (call, callback) => {
        const texts: string[] = [];
        received.push(texts);
        tokens.push(String(call.metadata.get('authorization')[0]));
        call.on('data', (request: LabRequest) => texts.push(request.text));
        call.on('end', () =>
          received.length < 2
            ? callback(grpcError(status.UNAVAILABLE, 'again') as never)
            : callback(null, { text: texts.join(','), index: texts.length }),
        );
      },
    });
    let fetched = 0;
    const lab1 = client(server.address, [
      retryInterceptor({ backoff: fast }),
      authInterceptor({
        // A string token is cached; UNAVAILABLE does not drop it, so the provider runs once, slowly.
        token: () => new Promise<string>((resolve) => setTimeout(() => resolve(`t${++fetched}`), 30)),
      }),
    ]);
    const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await expect(lab1.clientStream(texts.map((text) => ({ text })))).resolves.toEqual({
      text: texts.join(','),
      index: 20,
    });
    expect(received).toEqual([texts, texts]);
    expect(tokens).toEqual(['Bearer t1', 'Bearer t1']);
  });

  it('stops retrying a client stream once it sent more than maxBufferedMessages', async () => {
    let calls = 0;
    const server = await lab({
      ClientStream: (call, callback) => {
        calls++;
        call.on('data', () => {});
        call.on('end', () => callback(grpcError(status.UNAVAILABLE, 'down') as never));
      },
    });
    const lab1 = client(server.address, [retryInterceptor({ backoff: fast, maxBufferedMessages: 3 })]);
    await expect(lab1.clientStream([{}, {}, {}])).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(calls).toBe(3);
    calls = 0;
    await expect(lab1.clientStream([{}, {}, {}, {}])).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(calls).toBe(1);
  });

  it('retries server-streaming and bidi calls that fail before their first response message', async () => {
    let streams = 0;
    let bidis = 0;
    const server = await lab({
      ServerStream: (call) => {
        if (++streams < 3) call.emit('error', grpcError(status.UNAVAILABLE, 'not yet'));
        else echoHandlers.ServerStream(call);
      },
      Bidi: (call) => {
        if (++bidis < 2) {
          call.on('data', () => call.emit('error', grpcError(status.UNAVAILABLE, 'not yet')));
          return;
        }
        echoHandlers.Bidi(call);
      },
    });
    const lab1 = client(server.address, [retryInterceptor({ backoff: fast })]);
    const stream = await lab1.serverStream({ text: 's', count: 3 });
    expect(stream.error).toBeUndefined();
    expect(stream.messages.map((m) => m.index)).toEqual([0, 1, 2]);
    expect(streams).toBe(3);

    const bidi = await lab1.bidi([{ text: 'a' }, { text: 'b' }]);
    expect(bidi.error).toBeUndefined();
    expect(bidi.messages).toEqual([
      { text: 'a', index: 0 },
      { text: 'b', index: 1 },
    ]);
    expect(bidis).toBe(2);
    // The failed attempts' headers never reached the caller: one set of response headers each.
    expect(stream.metadata).toHaveLength(1);
    expect(bidi.metadata).toHaveLength(1);
  });

  it('never retries once a response message has arrived', async () => {
    let calls = 0;
    const server = await lab({
      ServerStream: (call) => {
        calls++;
        call.write({ text: 'first', index: 0 }, () =>
          setTimeout(() => call.emit('error', grpcError(status.UNAVAILABLE, 'lost mid-stream')), 20),
        );
      },
    });
    const lab1 = client(server.address, [retryInterceptor({ backoff: fast })]);
    const stream = await lab1.serverStream({ text: 's', count: 1 });
    expect(stream.messages).toEqual([{ text: 'first', index: 0 }]);
    expect(stream.error).toMatchObject({ code: status.UNAVAILABLE, details: 'lost mid-stream' });
    expect(calls).toBe(1);
  });

  it('never retries a unary call whose response message arrived before a retryable status', async () => {
    // grpc-js servers send no message with a failing status; a proxy or another server may.
    const server = http2.createServer();
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (session) => sessions.add(session));
    let attempts = 0;
    server.on('stream', (stream) => {
      attempts++;
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () =>
          stream.sendTrailers({ 'grpc-status': String(status.UNAVAILABLE), 'grpc-message': 'lost after reply' }),
        );
        stream.end(Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x6f, 0x6b])); // LabReply { text: 'ok' }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    after.add(server, (s) => {
      for (const session of sessions) session.destroy();
      return new Promise((resolve) => s.close(resolve));
    });
    const { port } = server.address() as AddressInfo;
    const lab1 = client(`127.0.0.1:${port}`, [retryInterceptor({ maxAttempts: 3, backoff: fast })]);
    await expect(lab1.unary({ text: 'x' }, { deadline: Date.now() + 5_000 })).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: 'lost after reply',
    });
    expect(attempts).toBe(1);
  });

  it('never retries a call whose response headers arrived: the server has begun to answer (gRFC A6)', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (call, callback) => {
        calls++;
        const headers = new Metadata();
        headers.set('attempt', String(calls));
        call.sendMetadata(headers);
        callback(grpcError(status.UNAVAILABLE, 'failed after answering') as never);
      },
    });
    const lab1 = client(server.address, [retryInterceptor({ maxAttempts: 3, backoff: fast })]);
    await expect(lab1.unary({ text: 'x' }, { deadline: Date.now() + 5_000 })).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: 'failed after answering',
    });
    expect(calls).toBe(1);
  });

  it('waits what grpc-retry-pushback-ms says, and does not retry when it is negative', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (call, callback) => {
        calls++;
        const pushback = call.request.text;
        if (calls === 1)
          callback(grpcError(status.UNAVAILABLE, 'pushed back', { 'grpc-retry-pushback-ms': pushback }) as never);
        else callback(null, { text: 'ok', index: calls });
      },
    });
    // The backoff alone (a minute) would miss the 5 s deadline; a pushback of 0 retries at once.
    const slow = { initialMs: 60_000, maxMs: 60_000 };
    const lab1 = client(server.address, [retryInterceptor({ backoff: slow })]);
    await expect(lab1.unary({ text: '0' }, { deadline: Date.now() + 5_000 })).resolves.toEqual({
      text: 'ok',
      index: 2,
    });

    calls = 0;
    await expect(lab1.unary({ text: '-1' })).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: 'pushed back',
    });
    expect(calls).toBe(1);
  });

  it('does not retry a pushback beyond a 32-bit integer, which gRFC A6 reads as "do not retry"', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (_call, callback) => {
        calls++;
        callback(
          grpcError(status.UNAVAILABLE, 'come back next year', { 'grpc-retry-pushback-ms': '31536000000' }) as never,
        );
      },
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      const lab1 = client(server.address, [retryInterceptor({ backoff: fast })]);
      await expect(lab1.unary({ text: 'x' })).rejects.toMatchObject({
        code: status.UNAVAILABLE,
        details: 'come back next year',
      });
    } finally {
      process.off('warning', onWarning);
    }
    // not a retry after 1 ms either, which is what setTimeout does with a delay above 2^31 - 1 ms
    expect(calls).toBe(1);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('starts the backoff over after a pushback, as gRFC A6 says', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (_call, callback) => {
        calls++;
        const trailers: Record<string, string> = calls === 2 ? { 'grpc-retry-pushback-ms': '5' } : {};
        if (calls < 4) callback(grpcError(status.UNAVAILABLE, `failure ${calls}`, trailers) as never);
        else callback(null, { text: 'ok', index: calls });
      },
    });
    const events: RetryEvent[] = [];
    // random() = 1: each wait is its step's ceiling, 10 ms then 20 ms, unless started over
    const backoff = { initialMs: 10, maxMs: 1_000, factor: 2, random: () => 1 };
    const lab1 = client(server.address, [
      retryInterceptor({ maxAttempts: 4, backoff, onRetry: (event) => events.push(event) }),
    ]);
    await expect(lab1.unary({ text: 'x' })).resolves.toMatchObject({ text: 'ok' });
    expect(events.map((event) => event.delayMs)).toEqual([10, 5, 10]);
  });

  it('bounds all attempts by the overall deadline: DEADLINE_EXCEEDED while retrying', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (_call, callback) => {
        calls++;
        callback(grpcError(status.UNAVAILABLE, 'down') as never);
      },
    });
    const lab1 = client(server.address, [
      deadlineInterceptor({ defaultMs: 300 }),
      retryInterceptor({ maxAttempts: 10, backoff: { initialMs: 100, maxMs: 1_000, factor: 3 } }),
    ]);
    const error = await lab1.unary({}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThan(10);
  });

  describe('in a call made from a server handler with `parent`', () => {
    const gateway = (inner: string, retry: ReturnType<typeof retryInterceptor>) => startGateway(after, inner, [retry]);

    it("gives up at the parent's deadline rather than wait for a retry due after it", async () => {
      let calls = 0;
      const server = await lab({
        Unary: (_call, callback) => {
          calls++;
          callback(grpcError(status.UNAVAILABLE, 'busy', { 'grpc-retry-pushback-ms': '5000' }) as never);
        },
      });
      const { child, upstream } = await gateway(server.address, retryInterceptor({ backoff: fast }));
      upstream.unary({}, { deadline: Date.now() + 300 }).catch(() => {});
      // The child call inherits the 300 ms deadline: a retry due in 5 s can never be made.
      expect(await within(child, 2_000)).toBe('settled');
      expect(await child).toMatchObject({ code: status.DEADLINE_EXCEEDED });
      expect(calls).toBe(1);
    });

    it('ends with CANCELLED, and makes no further attempt, when the parent call is cancelled during the wait', async () => {
      let calls = 0;
      const server = await lab({
        Unary: (_call, callback) => {
          calls++;
          callback(grpcError(status.UNAVAILABLE, 'busy', { 'grpc-retry-pushback-ms': '300' }) as never);
        },
      });
      const { child, upstream } = await gateway(server.address, retryInterceptor({ backoff: fast }));
      const call = upstream.raw.Unary({ text: '', count: 0 }, new Metadata(), {}, () => {});
      while (calls === 0) await sleep(5);
      await sleep(20);
      call.cancel();
      expect(await within(child, 200)).toBe('settled');
      expect(await child).toMatchObject({ code: status.CANCELLED });
      await sleep(700); // past two more pushbacks
      expect(calls).toBe(1);
    });
  });

  it('ends a call cancelled while waiting to retry with CANCELLED, and makes no further attempt', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (_call, callback) => {
        calls++;
        callback(grpcError(status.UNAVAILABLE, 'down') as never);
      },
    });
    const lab1 = client(server.address, [
      retryInterceptor({ backoff: { initialMs: 10_000, maxMs: 10_000, random: () => 0.99 } }),
    ]);
    const outcome = new Promise((resolve) => {
      const call = lab1.raw.Unary({ text: '', count: 0 }, new Metadata(), {}, (error) => resolve(error));
      const waitForFirstAttempt = setInterval(() => {
        if (calls === 1) {
          clearInterval(waitForFirstAttempt);
          setTimeout(() => call.cancel(), 20);
        }
      }, 5);
    });
    await expect(outcome).resolves.toMatchObject({ code: status.CANCELLED });
    expect(calls).toBe(1);
  });

  it('leaves no timer behind: a process that retried, and cancelled a retry wait, exits on its own', async () => {
    let calls = 0;
    const server = await lab({
      Unary: (call, callback) => {
        calls++;
        // The first call fails twice then succeeds; every call after it fails.
        if (calls === 1 || calls === 2 || calls > 3) callback(grpcError(status.UNAVAILABLE, 'down') as never);
        else echoHandlers.Unary(call, callback);
      },
    });
    const result = await runIsolated(
      `
      import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
      import { deadlineInterceptor, retryInterceptor } from './src/grpc/index.ts';
      const bytes = { requestSerialize: (v) => v, requestDeserialize: (b) => b, responseSerialize: (v) => v, responseDeserialize: (b) => b };
      const Lab = makeGenericClientConstructor({
        Unary: { path: '/patchbay.test.Lab/Unary', requestStream: false, responseStream: false, ...bytes },
      }, 'Lab');
      let retries = 0;
      const client = new Lab('${server.address}', credentials.createInsecure(), {
        interceptors: [
          deadlineInterceptor({ defaultMs: 60_000 }),
          retryInterceptor({ backoff: { initialMs: 20, maxMs: 20 }, onRetry: () => retries++ }),
        ],
      });
      const first = await new Promise((resolve) => client.Unary(Buffer.alloc(0), new Metadata(), {}, (error) => resolve(error?.code ?? 0)));
      const waiting = retryInterceptor({ backoff: { initialMs: 30_000, maxMs: 30_000, random: () => 0.99 } });
      const second = await new Promise((resolve) => {
        const call = client.Unary(Buffer.alloc(0), new Metadata(), { interceptors: [waiting] }, (error) => resolve(error?.code));
        setTimeout(() => call.cancel(), 300);
      });
      client.close();
      console.log(JSON.stringify({ first, second, retries }));
      `,
      { exitWithinMs: 10_000 },
    );
    expect(result.hung).toBe(false);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ first: status.OK, second: status.CANCELLED, retries: 2 });
    expect(calls).toBe(4);
  });

  it("acknowledges writes made after the call ended, so the caller's writable finishes", async () => {
    const server = await lab({
      ClientStream: (_call, callback) => callback(grpcError(status.UNAVAILABLE, 'down') as never),
    });
    const lab1 = client(server.address, [retryInterceptor({ maxAttempts: 2, backoff: fast })]);
    const acknowledged: string[] = [];
    let code: number | undefined;
    const finished = new Promise<void>((resolve) => {
      const call = lab1.raw.ClientStream(new Metadata(), { deadline: Date.now() + 5_000 }, (error) => {
        code = error?.code;
      });
      call.on('finish', resolve);
      const texts = ['m0', 'm1', 'm2', 'm3', 'm4'];
      // Paced, so that most writes come after both attempts failed.
      const write = (): void => {
        const text = texts.shift();
        if (text === undefined) {
          call.end();
          return;
        }
        call.write({ text, count: 0 }, () => acknowledged.push(text));
        setTimeout(write, 20);
      };
      write();
    });
    await expect(within(finished, 2_000)).resolves.toBe('settled');
    expect(code).toBe(status.UNAVAILABLE);
    expect(acknowledged).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('lets a stream.pipeline() into a client stream that failed settle, as without the interceptor', async () => {
    const server = await lab({
      ClientStream: (_call, callback) => callback(grpcError(status.UNAVAILABLE, 'down') as never),
    });
    const source = async function* () {
      for (let i = 0; i < 5; i++) {
        await sleep(20);
        yield { text: `m${i}`, count: 0 };
      }
    };
    const outcomes: string[] = [];
    for (const interceptors of [[], [retryInterceptor({ maxAttempts: 2, backoff: fast })]]) {
      const lab1 = client(server.address, interceptors);
      const call = lab1.raw.ClientStream(new Metadata(), { deadline: Date.now() + 5_000 }, () => {});
      // grpc-js types the stream's write() for LabRequest, which Node's Writable type does not allow.
      outcomes.push(await within(pipeline(Readable.from(source()), call as unknown as Writable), 2_000));
    }
    expect(outcomes).toEqual(['settled', 'settled']);
  });

  it('acknowledges a write that waited for a retry when the call is cancelled', async () => {
    let calls = 0;
    const server = await lab({
      ClientStream: (_call, callback) => {
        calls++;
        callback(grpcError(status.UNAVAILABLE, 'down') as never);
      },
    });
    const lab1 = client(server.address, [
      retryInterceptor({ backoff: { initialMs: 10_000, maxMs: 10_000, random: () => 0.99 } }),
    ]);
    const acknowledged: string[] = [];
    const ended = new Promise<number | undefined>((resolve) => {
      const call = lab1.raw.ClientStream(new Metadata(), {}, (error) => resolve(error?.code));
      call.write({ text: 'first', count: 0 }, () => {
        acknowledged.push('first');
        const waitForFailure = setInterval(() => {
          if (calls === 0) return;
          clearInterval(waitForFailure);
          // The first attempt failed: this write waits for the retry, which the cancel ends.
          call.write({ text: 'second', count: 0 }, () => acknowledged.push('second'));
          setTimeout(() => call.cancel(), 20);
        }, 5);
      });
    });
    await expect(ended).resolves.toBe(status.CANCELLED);
    await sleep(20);
    expect(acknowledged).toEqual(['first', 'second']);
    expect(calls).toBe(1);
  });

  it('rejects bad options with ERR_GRPC_OPTIONS', () => {
    expect(() => retryInterceptor({ maxAttempts: 0 })).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
    expect(() => retryInterceptor({ maxAttempts: 11 })).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
    expect(() => retryInterceptor({ retryableCodes: [status.OK] })).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    expect(() => retryInterceptor({ backoff: { initialMs: -1 } })).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    expect(() => retryInterceptor({ onRetry: 'no' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    // names would never match a status code: the interceptor would silently never retry
    expect(() => retryInterceptor({ retryableCodes: ['UNAVAILABLE'] as never })).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
    expect(() => retryInterceptor({ backoff: 'fast' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }),
    );
  });
});
