import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReadBodyResult, readBody } from '../../src/webhooks/read-body';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A real server that hands each request to `onRequest` once `prepare` has run on it. */
async function serve(prepare: (req: IncomingMessage) => Promise<void> | void): Promise<{
  port: number;
  results: Promise<ReadBodyResult>[];
}> {
  const results: Promise<ReadBodyResult>[] = [];
  const listening = createServer(async (req, res) => {
    await prepare(req);
    const result = readBody(req, 1024);
    results.push(result);
    await result;
    res.end();
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return { port: (listening.address() as AddressInfo).port, results };
}

describe('readBody', () => {
  it('reads the raw bytes when an earlier middleware set an encoding on the request', async () => {
    const { port, results } = await serve((req) => {
      req.setEncoding('utf8');
    });
    const body = JSON.stringify({ text: 'héllo ✓' });
    await new Promise<void>((resolve, reject) => {
      const req = request({ port, method: 'POST', host: '127.0.0.1' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
    const result = await results[0];
    expect(result).toEqual({ ok: true, body: Buffer.from(body) });
  });

  it('answers aborted, rather than never, for a request whose client left before the body was read', async () => {
    const { port, results } = await serve(
      (req) =>
        new Promise<void>((resolve) => {
          // the handler awaits something else first, as an authenticating middleware would
          req.socket.once('close', () => setTimeout(resolve, 20));
        }),
    );
    const req = request({ port, method: 'POST', host: '127.0.0.1', headers: { 'content-length': '100' } });
    req.on('error', () => {});
    req.write('{"partial":');
    await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();
    while (results.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const settled = await Promise.race([
      results[0],
      new Promise((resolve) => setTimeout(() => resolve('pending'), 1_000)),
    ]);
    expect(settled).toEqual({ ok: false, reason: 'aborted' });
  });
});
