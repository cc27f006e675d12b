import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { deadlineInterceptor } from '../../src/grpc/index';
import { runIsolated } from '../support/isolated';
import { cleanups, echoHandlers, type LabHandlers, labClient, startLab } from './support/lab';

const after = cleanups();
afterEach(() => after.run());

/** A server that records the deadline each call arrived with, and answers after `delayMs`. */
async function recordingLab(delayMs: number) {
  const deadlines: number[] = [];
  const record = (deadline: Date | number) => deadlines.push(Number(deadline) - Date.now());
  const handlers: Partial<LabHandlers> = {
    Unary: (call, callback) => {
      record(call.getDeadline());
      setTimeout(() => echoHandlers.Unary(call, callback), delayMs);
    },
    ClientStream: (call, callback) => {
      record(call.getDeadline());
      echoHandlers.ClientStream(call, callback);
    },
    ServerStream: (call) => {
      record(call.getDeadline());
      echoHandlers.ServerStream(call);
    },
    Bidi: (call) => {
      record(call.getDeadline());
      echoHandlers.Bidi(call);
    },
  };
  const server = after.add(await startLab({ handlers }), (s) => s.stop());
  return { server, deadlines };
}

describe('deadlineInterceptor', () => {
  it('gives every call type a deadline when the caller set none', async () => {
    const { server, deadlines } = await recordingLab(0);
    const lab = after.add(labClient(server.address, [deadlineInterceptor({ defaultMs: 5_000 })]), (c) => c.close());
    await lab.unary({ text: 'u' });
    await lab.clientStream([{ text: 'c' }]);
    await lab.serverStream({ text: 's', count: 1 });
    await lab.bidi([{ text: 'b' }]);
    expect(deadlines).toHaveLength(4);
    for (const remaining of deadlines) {
      expect(remaining).toBeGreaterThan(0);
      expect(remaining).toBeLessThanOrEqual(5_000);
    }
  });

  it('fails a call to a slow server with DEADLINE_EXCEEDED', async () => {
    const { server } = await recordingLab(2_000);
    const lab = after.add(labClient(server.address, [deadlineInterceptor({ defaultMs: 100 })]), (c) => c.close());
    await expect(lab.unary({ text: 'slow' })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it("keeps the caller's own deadline, longer or shorter", async () => {
    const { server, deadlines } = await recordingLab(300);
    const lab = after.add(labClient(server.address, [deadlineInterceptor({ defaultMs: 100 })]), (c) => c.close());
    await expect(lab.unary({ text: 'patient' }, { deadline: Date.now() + 10_000 })).resolves.toEqual({
      text: 'patient',
      index: 0,
    });
    expect(deadlines[0]).toBeGreaterThan(5_000);
    await expect(lab.unary({ text: 'hurried' }, { deadline: Date.now() + 50 })).rejects.toMatchObject({
      code: status.DEADLINE_EXCEEDED,
    });
  });

  it('lets the process exit once the call is over', async () => {
    const { server } = await recordingLab(0);
    const result = await runIsolated(`
      import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
      import { deadlineInterceptor } from './src/grpc/index.ts';
      const bytes = { requestSerialize: (v) => v, requestDeserialize: (b) => b, responseSerialize: (v) => v, responseDeserialize: (b) => b };
      const Lab = makeGenericClientConstructor({ Unary: { path: '/patchbay.test.Lab/Unary', requestStream: false, responseStream: false, ...bytes } }, 'Lab');
      const client = new Lab('${server.address}', credentials.createInsecure(), { interceptors: [deadlineInterceptor({ defaultMs: 60_000 })] });
      client.Unary(Buffer.alloc(0), new Metadata(), {}, (error) => {
        console.log(error ? error.code : 'ok');
        client.close();
      });
    `);
    expect(result).toMatchObject({ hung: false, stdout: 'ok\n' });
  });

  it('rejects a missing or non-positive defaultMs with ERR_GRPC_OPTIONS', () => {
    for (const bad of [undefined, {}, { defaultMs: 0 }, { defaultMs: Number.NaN }, { defaultMs: '100' }]) {
      expect(() => deadlineInterceptor(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_GRPC_OPTIONS' }));
    }
  });
});
