import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/timeout';
import { createSseParser, type SseEvent } from '../../src/realtime/sse-parser';
import { createSseStream, type SseStream } from '../../src/realtime/sse-server';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { type KillableServer, killableServer } from './support/servers';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(handler: Parameters<typeof killableServer>[0]): Promise<KillableServer> {
  const server = await killableServer(handler);
  cleanup.push(() => server.kill());
  return server;
}

/** A raw client, so a test can leave early or stop reading as a real one might. */
async function rawRequest(server: KillableServer): Promise<Socket> {
  const client = connect(server.port, '127.0.0.1');
  cleanup.push(() => client.destroy());
  await once(client, 'connect');
  client.write('GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
  return client;
}

/** A client reading as fast as events come, as an EventSource does. */
async function readingClient(server: KillableServer): Promise<{ events: SseEvent[]; readonly ended: boolean }> {
  const controller = new AbortController();
  cleanup.push(() => controller.abort());
  const response = await fetch(`${server.url}stream`, { signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const events: SseEvent[] = [];
  const parser = createSseParser({ onEvent: (event) => events.push(event) });
  let ended = false;
  void (async () => {
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.feed(chunk.value);
    } catch {
      // the server destroyed the response, or the test aborted
    }
    ended = true;
  })();
  return {
    events,
    get ended() {
      return ended;
    },
  };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

interface Pumped {
  ticks: number;
  closed: boolean;
  destroyed: boolean;
  /** What `send` answered after the pump stopped. */
  late: boolean;
}

/**
 * Sends 128 KiB a tick, 400 ticks (50 MiB), with maxBufferedBytes 256 KiB, to a client that reads
 * or stops reading, until `send` returns false. A tick's events fit the limit, so only a client
 * that falls behind can take the stream past it.
 */
async function pumpTo(paused: boolean): Promise<Pumped> {
  let done: (pumped: Pumped) => void = () => {};
  const result = new Promise<Pumped>((resolve) => {
    done = resolve;
  });
  const server = await serve((_req, res) => {
    const stream = createSseStream(res, { heartbeatMs: 0, maxBufferedBytes: 256 * 1024 });
    const payload = 'x'.repeat(16 * 1024);
    let ticks = 0;
    const tick = (): void => {
      let open = true;
      for (let i = 0; i < 8 && open; i++) open = stream.send({ data: payload });
      if (open && ++ticks < 400) {
        setImmediate(tick);
        return;
      }
      done({ ticks, closed: stream.closed, destroyed: res.destroyed, late: stream.send({ data: 'late' }) });
    };
    tick();
  });
  const client = await rawRequest(server);
  if (paused) client.pause();
  else client.resume();
  const outcome = await result;
  if (paused && outcome.closed) {
    // the server hung up: once the client reads again its connection ends, and an EventSource
    // would reconnect with Last-Event-ID
    client.resume();
    await once(client, 'close');
  }
  return outcome;
}

const activeTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('createSseStream', () => {
  it('is closed from the start on a response whose client already left, and starts no heartbeat', async () => {
    let seen: { timersStarted: number; closed: boolean; sent: boolean; commented: boolean } | undefined;
    const server = await serve(async (_req, res) => {
      await once(res, 'close'); // the client leaves while the handler awaits (an auth lookup, say)
      const before = activeTimers();
      const stream = createSseStream(res, { heartbeatMs: 5, retryMs: 100 });
      seen = {
        timersStarted: activeTimers() - before,
        closed: stream.closed,
        sent: stream.send({ data: 'to nobody' }),
        commented: stream.comment('to nobody'),
      };
      stream.close();
    });
    const client = await rawRequest(server);
    await until(() => server.requests.length === 1);
    client.destroy();
    await until(() => seen !== undefined);
    expect(seen).toEqual({ timersStarted: 0, closed: true, sent: false, commented: false });
  });

  it("after something else ended the response, send, comment and the heartbeat write nothing, with no 'error'", async () => {
    const faults = recordFaults();
    cleanup.push(() => faults.stop());
    let seen: { sent: boolean; commented: boolean; closed: boolean } | undefined;
    const server = await serve((_req, res) => {
      const stream = createSseStream(res, { heartbeatMs: 5 });
      stream.send({ data: 'hello' });
      res.end(); // a request-timeout middleware or an error handler ends the response
      seen = { sent: stream.send({ data: 'late' }), commented: stream.comment('late'), closed: stream.closed };
    });
    const response = await fetch(`http://127.0.0.1:${server.port}/stream`);
    expect(await response.text()).toBe('data: hello\n\n');
    await sleep(30); // several heartbeat periods
    expect(seen).toEqual({ sent: false, commented: false, closed: true });
    expect(faults.faults).toEqual([]);
  });

  it('closes itself when a client that stopped reading leaves more than maxBufferedBytes unsent', async () => {
    const pumped = await pumpTo(true);
    expect(pumped).toMatchObject({ closed: true, destroyed: true, late: false });
    expect(pumped.ticks).toBeLessThan(400);
    // a client reading along is never cut off, with the same events at the same pace
    expect(await pumpTo(false)).toMatchObject({ ticks: 400, closed: false, destroyed: false, late: true });
  });

  it('holds up to 8 MiB unsent by default', async () => {
    const eventBytes = 10_000;
    let unsentAtClose: number | undefined;
    const server = await serve((_req, res) => {
      const stream = createSseStream(res, { heartbeatMs: 0 });
      const payload = 'x'.repeat(eventBytes - 8); // with 'data: ' and two LFs: 10 000 bytes an event
      let ticks = 0;
      // one event a tick: what piles up is what the client left unread, not one burst
      const tick = (): void => {
        const before = res.writableLength;
        if (!stream.send({ data: payload })) unsentAtClose = before + eventBytes;
        else if (++ticks < 4_000) setImmediate(tick);
        else unsentAtClose = Number.NaN;
      };
      tick();
    });
    const client = await rawRequest(server);
    client.pause();
    await until(() => unsentAtClose !== undefined);
    // past 8 MiB, not past some smaller default; and not past a larger one: what is held is the
    // batch being sent (no burst here: at most what had queued, 8 MiB) plus 8 MiB queued behind it
    expect(unsentAtClose).toBeGreaterThan(8 * 1024 * 1024);
    expect(unsentAtClose).toBeLessThan(2 * 8 * 1024 * 1024 + 2 * eventBytes);
  });

  it.each([3, 128])(
    'sends a burst of %i× maxBufferedBytes written in one tick, and the events after it, to a client that reads, and stays open',
    async (times) => {
      const limit = 64 * 1024;
      const payload = 'x'.repeat(1_000);
      const burst = Math.ceil((times * limit) / payload.length);
      const live = 20;
      let stream: SseStream | undefined;
      const server = await serve((_req, res) => {
        const sse = createSseStream(res, { heartbeatMs: 0, maxBufferedBytes: limit });
        stream = sse;
        // a replay after Last-Event-ID, in one loop
        for (let i = 0; i < burst; i++) sse.send({ id: String(i), data: payload });
        // live events in the next ticks, while a large burst is still on its way
        let sent = 0;
        const next = (): void => {
          if (sse.send({ id: String(burst + sent), data: 'live' }) && ++sent < live) setImmediate(next);
        };
        setImmediate(next);
      });
      const client = await readingClient(server);
      await until(() => client.events.length === burst + live || client.ended);
      expect(client.events.map((event) => event.lastEventId)).toEqual(
        Array.from({ length: burst + live }, (_, i) => String(i)),
      );
      expect(client.events.every((event, i) => event.data === (i < burst ? payload : 'live'))).toBe(true);
      expect(client.ended).toBe(false);
      expect(stream?.closed).toBe(false);
      expect(stream?.send({ data: 'still open' })).toBe(true);
    },
  );

  it('still closes, with bounded memory, a client that stopped reading and is sent a burst and then events', async () => {
    const limit = 64 * 1024;
    const eventBytes = 16 * 1024;
    interface Outcome {
      burstSent: boolean;
      burstBytes: number;
      ticks: number;
      closed: boolean;
      destroyed: boolean;
      unsentAtClose: number;
      grewAfterClose: boolean;
    }
    let outcome: Outcome | undefined;
    const server = await serve((_req, res) => {
      const stream = createSseStream(res, { heartbeatMs: 0, maxBufferedBytes: limit });
      let burstSent = true;
      const before = res.writableLength;
      for (let i = 0; i < (3 * limit) / 1_000; i++) burstSent &&= stream.send({ data: 'x'.repeat(1_000) });
      const burstBytes = res.writableLength - before; // nothing leaves during the run
      const payload = 'x'.repeat(eventBytes);
      let ticks = 0;
      const tick = (): void => {
        if (stream.send({ data: payload }) && ++ticks < 2_000) {
          setImmediate(tick);
          return;
        }
        const unsentAtClose = res.writableLength;
        // once closed, sends are refused and nothing more is held for this client
        for (let i = 0; i < 10; i++) stream.send({ data: payload });
        const grewAfterClose = res.writableLength > unsentAtClose;
        outcome = {
          burstSent,
          burstBytes,
          ticks,
          closed: stream.closed,
          destroyed: res.destroyed,
          unsentAtClose,
          grewAfterClose,
        };
      };
      setImmediate(tick);
    });
    const client = await rawRequest(server);
    client.pause();
    await until(() => outcome !== undefined);
    expect(outcome).toMatchObject({ burstSent: true, closed: true, destroyed: true, grewAfterClose: false });
    expect(outcome?.ticks).toBeLessThan(2_000);
    // the batch being sent (at most the burst, here above the limit) plus the limit plus the event that crossed it
    expect(outcome?.unsentAtClose).toBeLessThanOrEqual((outcome?.burstBytes ?? 0) + limit + 2 * eventBytes);
  });

  it('lets the process exit once a burst was read and both sides closed', async () => {
    const result = await runIsolated(`
      import { once } from 'node:events';
      import { createServer } from 'node:http';
      import { createSseStream } from './src/realtime/index';
      const server = createServer((_req, res) => {
        const stream = createSseStream(res, { maxBufferedBytes: 64 * 1024 }); // heartbeat on, 15 s
        for (let i = 0; i < 200; i++) stream.send({ id: String(i), data: 'x'.repeat(1_000) });
      }).listen(0, '127.0.0.1');
      await once(server, 'listening');
      const controller = new AbortController();
      const response = await fetch('http://127.0.0.1:' + server.address().port + '/', { signal: controller.signal });
      const reader = response.body.getReader();
      let text = '';
      const decoder = new TextDecoder();
      while (!text.includes('id: 199\\n')) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
      controller.abort();
      server.close();
      server.closeAllConnections();
      console.log(text.includes('id: 199\\n') ? 'read' : 'cut off');
    `);
    expect(result.stdout.trim()).toBe('read');
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
  });

  it('refuses null options and a retryMs no client reads with ERR_REALTIME_OPTIONS, and data that is no JSON with ERR_REALTIME_INPUT', async () => {
    const outcomes: unknown[] = [];
    const server = await serve((_req, res) => {
      const codeOf = (act: () => unknown): unknown => {
        try {
          return act();
        } catch (error) {
          return (error as { code?: string }).code;
        }
      };
      outcomes.push(codeOf(() => createSseStream(res, null as never)));
      const stream = createSseStream(res, { heartbeatMs: 0 });
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      outcomes.push(
        codeOf(() => stream.send(null as never)),
        codeOf(() => stream.send('x' as never)),
        // no JSON at all (sent as an empty event before), or JSON.stringify's own TypeError
        codeOf(() => stream.send({ data: undefined })),
        codeOf(() => stream.send({ data: () => 1 })),
        codeOf(() => stream.send({ data: 1n })),
        codeOf(() => stream.send({ data: circular })),
        codeOf(() => createSseStream(res, { heartbeatMs: 0, retryMs: 1e21 })),
      );
      stream.close();
    });
    await rawRequest(server);
    await until(() => outcomes.length === 8);
    expect(outcomes).toEqual([
      'ERR_REALTIME_OPTIONS',
      ...Array.from({ length: 6 }, () => 'ERR_REALTIME_INPUT'),
      'ERR_REALTIME_OPTIONS',
    ]);
  });

  it('refuses a maxBufferedBytes that is not a positive integer or Infinity', async () => {
    const outcomes: unknown[] = [];
    const server = await serve((_req, res) => {
      const attempt = (maxBufferedBytes: number): void => {
        try {
          const stream = createSseStream(res, { heartbeatMs: 0, maxBufferedBytes });
          outcomes.push(stream.send({ data: 'ok' }));
          stream.close();
        } catch (error) {
          outcomes.push((error as { code?: string }).code);
        }
      };
      for (const bad of [0, -1, 1.5, Number.NaN, '8' as unknown as number]) attempt(bad);
      attempt(Number.POSITIVE_INFINITY);
    });
    await rawRequest(server);
    await until(() => outcomes.length === 6);
    expect(outcomes).toEqual([...Array(5).fill('ERR_REALTIME_OPTIONS'), true]);
  });
});
