import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PatchbayError } from '../../src/core/errors';
import { sleep } from '../../src/core/timeout';
import { ReconnectingWebSocket, type ReconnectingWebSocketOptions } from '../../src/realtime/websocket';
import { recordFaults } from '../support/faults';
import { runIsolated } from '../support/isolated';
import { type KillableWsServer, killableWsServer } from './support/ws-server';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(...args: Parameters<typeof killableWsServer>): Promise<KillableWsServer> {
  const server = await killableWsServer(...args);
  cleanup.push(() => server.kill());
  return server;
}

function connect(
  url: ConstructorParameters<typeof ReconnectingWebSocket>[0],
  options: ReconnectingWebSocketOptions = {},
): ReconnectingWebSocket {
  const socket = new ReconnectingWebSocket(url, undefined, {
    WebSocket,
    backoff: { initialMs: 10, maxMs: 50 },
    ...options,
  });
  cleanup.push(() => socket.close());
  return socket;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

const echo = (socket: import('ws').WebSocket) => socket.on('message', (data, binary) => socket.send(data, { binary }));

describe('ReconnectingWebSocket', () => {
  it('speaks the WebSocket API: open, send, message, binaryType, close', async () => {
    const server = await serve(echo);
    const socket = connect(server.url);
    const received: unknown[] = [];
    const events: MessageEvent[] = [];
    let opened = 0;
    let closes = 0;
    socket.onopen = () => opened++;
    socket.onclose = () => closes++;
    socket.onmessage = (event) => received.push(event.data);
    socket.addEventListener('message', (event) => events.push(event as MessageEvent));
    socket.binaryType = 'arraybuffer';
    expect(socket.readyState).toBe(ReconnectingWebSocket.CONNECTING);
    socket.send('queued before open');
    await until(() => socket.readyState === ReconnectingWebSocket.OPEN);
    socket.send('text');
    socket.send(new Uint8Array([1, 2, 3]));
    await until(() => received.length === 3);
    expect(received[0]).toBe('queued before open');
    expect(received[1]).toBe('text');
    // a standard MessageEvent, as a browser's WebSocket delivers it
    expect(events[1]).toBeInstanceOf(MessageEvent);
    expect(events[1]).toMatchObject({
      type: 'message',
      data: 'text',
      origin: new URL(server.url).origin,
      lastEventId: '',
    });
    expect(events[1]?.target).toBe(socket);
    expect(new Uint8Array(received[2] as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));
    socket.close(1000, 'bye');
    expect(socket.readyState).toBe(ReconnectingWebSocket.CLOSING);
    await until(() => socket.readyState === ReconnectingWebSocket.CLOSED);
    await sleep(100);
    expect(opened).toBe(1);
    expect(closes).toBe(1);
    expect(server.connections).toHaveLength(1); // closed by the user: never reconnects
    expect(() => socket.send('late')).toThrow(expect.objectContaining({ code: 'ERR_REALTIME_CLOSED' }));
  });

  it('reports the binaryType in effect before, during and between connections, and ignores one it cannot take', async () => {
    const server = await serve((ws) => ws.send(new Uint8Array([1, 2]), { binary: true }));
    let go: () => void = () => {};
    const ready = new Promise<void>((resolve) => (go = resolve));
    const url = async () => {
      await ready;
      return server.url;
    };
    // no socket yet (the URL function is pending): ws's default, as its sockets will have it
    const untouched = connect(url);
    const socket = connect(url);
    expect(untouched.binaryType).toBe('nodebuffer');
    // as a WebSocket ignores a binaryType it does not take (a WebIDL enum attribute)
    socket.binaryType = 'foo';
    expect(socket.binaryType).toBe('nodebuffer');
    socket.binaryType = 'fragments';
    // in a close event there is no socket: the next one is not made yet
    const between: [string[], string[]] = [[], []];
    untouched.onclose = () => between[0].push(untouched.binaryType);
    socket.onclose = () => {
      between[1].push(socket.binaryType);
      socket.binaryType = 'nonsense';
      socket.binaryType = 'arraybuffer';
    };
    const received: unknown[] = [];
    socket.onmessage = ({ data }) => received.push(data);
    go();
    await until(() => received.length === 1 && untouched.readyState === ReconnectingWebSocket.OPEN);
    expect(received[0]).toEqual([Buffer.from([1, 2])]);
    socket.binaryType = 'bar';
    expect([socket.binaryType, untouched.binaryType]).toEqual(['fragments', 'nodebuffer']);
    await server.kill();
    await until(() => between[0].length > 0 && between[1].length > 0);
    expect([between[0][0], between[1][0]]).toEqual(['nodebuffer', 'fragments']);
    expect(socket.binaryType).toBe('arraybuffer');
    await server.start();
    await until(() => received.length === 2);
    expect(received[1]).toBeInstanceOf(ArrayBuffer);
    expect(socket.binaryType).toBe('arraybuffer');
  });

  it("takes only the standard binaryTypes with a WebSocket other than ws (Node's global here)", async () => {
    const server = await serve((ws) => ws.send(new Uint8Array([1, 2]), { binary: true }));
    const socket = connect(server.url, { WebSocket: globalThis.WebSocket });
    expect(socket.binaryType).toBe('blob');
    socket.binaryType = 'arraybuffer';
    // Node's WebSocket would reset itself to 'blob' on this one: it never sees it
    socket.binaryType = 'nodebuffer';
    expect(socket.binaryType).toBe('arraybuffer');
    const received: unknown[] = [];
    socket.onmessage = ({ data }) => received.push(data);
    await until(() => received.length === 1);
    expect(received[0]).toBeInstanceOf(ArrayBuffer);
    expect(socket.binaryType).toBe('arraybuffer');
  });

  it.each(['not a url', 'ftp://example.com/', '/chat', 42])(
    'refuses url %j at construction with ERR_REALTIME_INPUT (relative only in a browser)',
    (url) => {
      expect(() => new ReconnectingWebSocket(url as never, undefined, { WebSocket })).toThrow(
        expect.objectContaining({ code: 'ERR_REALTIME_INPUT' }),
      );
    },
  );

  it.each([
    ['a comma-separated list in one string', 'chat, superchat'],
    ['a duplicate', ['chat', 'chat']],
    ['a space', 'my chat'],
    ['an empty string', ''],
    ['a non-string', [42]],
    ['a non-array', { chat: true }],
  ])(
    'refuses protocols with %s at construction with ERR_REALTIME_INPUT, as a WebSocket refuses them',
    (_, protocols) => {
      // the socket's constructor would throw the same on every attempt: reconnecting for ever
      expect(() => new ReconnectingWebSocket('ws://127.0.0.1:1/', protocols as never, { WebSocket })).toThrow(
        expect.objectContaining({ code: 'ERR_REALTIME_INPUT' }),
      );
    },
  );

  it('negotiates a subprotocol from fixed or per-attempt protocols', async () => {
    const server = await serve(() => {});
    for (const protocols of ['chat.v2', ['chat.v1', 'chat.v2'], () => ['chat.v2']]) {
      const chosen = new ReconnectingWebSocket(server.url, protocols, { WebSocket });
      cleanup.push(() => chosen.close());
      await until(() => chosen.readyState === ReconnectingWebSocket.OPEN);
      expect(chosen.protocol).toBe(Array.isArray(protocols) ? 'chat.v1' : 'chat.v2');
    }
  });

  it('takes ws, wss, http and https URLs, and leaves a URL function to each attempt', () => {
    for (const url of [
      'ws://127.0.0.1:1/',
      'wss://127.0.0.1:1/',
      'http://127.0.0.1:1/',
      new URL('https://127.0.0.1:1/'),
      () => 'x',
    ]) {
      const socket = new ReconnectingWebSocket(url, undefined, { WebSocket, maxRetries: 0 });
      socket.close();
    }
  });

  it('refuses a close code or reason the WebSocket API refuses, and stays open and closable', async () => {
    const closes: [number, string][] = [];
    const server = await serve((ws) => {
      echo(ws);
      ws.on('close', (code, reason) => closes.push([code, String(reason)]));
    });
    const socket = connect(server.url);
    const received: unknown[] = [];
    socket.onmessage = (event) => received.push(event.data);
    await until(() => socket.readyState === ReconnectingWebSocket.OPEN);
    for (const code of [1006, 1001, 2999, 5000, 3000.5]) {
      expect(() => socket.close(code)).toThrow(expect.objectContaining({ code: 'ERR_REALTIME_INPUT' }));
    }
    // 62 two-byte characters: 124 UTF-8 bytes, one past the limit
    expect(() => socket.close(1000, 'é'.repeat(62))).toThrow(expect.objectContaining({ code: 'ERR_REALTIME_INPUT' }));
    expect(socket.readyState).toBe(ReconnectingWebSocket.OPEN);
    socket.send('still open');
    await until(() => received.length === 1);
    const reason = `${'é'.repeat(61)}.`;
    socket.close(4000, reason);
    await until(() => socket.readyState === ReconnectingWebSocket.CLOSED && closes.length === 1);
    expect(closes).toEqual([[4000, reason]]);
  });

  it('delivers messages sent while offline after reconnecting, in order', async () => {
    const seen: string[] = [];
    const server = await serve((ws) => ws.on('message', (data) => seen.push(String(data))));
    const socket = connect(server.url);
    await until(() => socket.readyState === ReconnectingWebSocket.OPEN);
    socket.send('1');
    await until(() => seen.length === 1);
    await server.kill();
    await until(() => socket.readyState === ReconnectingWebSocket.CONNECTING);
    for (let i = 2; i <= 50; i++) socket.send(String(i));
    expect(socket.queuedMessages).toBe(49);
    await server.start();
    await until(() => seen.length === 50);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => String(i + 1)));
    expect(socket.queuedMessages).toBe(0);
  });

  it('refuses data a WebSocket cannot send at send(), so a queued one cannot break the next open', async () => {
    const faults = recordFaults();
    cleanup.push(() => faults.stop());
    const seen: string[] = [];
    const server = await serve((ws) => ws.on('message', (data) => seen.push(String(data))));
    await server.kill();
    const socket = connect(server.url);
    let opened = 0;
    socket.onopen = () => opened++;
    socket.send('a');
    const refused: unknown[] = [];
    // an object someone forgot to JSON.stringify, and friends: ws throws on them when it sends
    const sendBad = () => {
      for (const data of [{ type: 'hello' }, 42, null, [1, 2]]) {
        try {
          socket.send(data as never);
        } catch (error) {
          refused.push((error as PatchbayError).code);
        }
      }
    };
    sendBad();
    socket.send('b');
    await server.start();
    await until(() => opened === 1 && seen.length === 2, 3_000);
    expect(seen).toEqual(['a', 'b']);
    sendBad(); // and while open, the same error rather than ws's TypeError
    socket.send(new Blob(['c']));
    socket.send(new Uint16Array([0x6464]));
    await until(() => seen.length === 4, 3_000);
    expect(seen.slice(2)).toEqual(['c', 'dd']);
    expect(refused).toEqual(Array(8).fill('ERR_REALTIME_INPUT'));
    expect(faults.faults).toEqual([]);
  });

  it('queues the bytes a buffer held at send(), as a WebSocket sends them, not what it holds later', async () => {
    const seen: string[] = [];
    const server = await serve((ws) => ws.on('message', (data) => seen.push(String(data))));
    await server.kill();
    const socket = connect(server.url);
    // one buffer reused for every message, as encoders with a scratch buffer do
    const scratch = Buffer.alloc(8);
    for (const text of ['first', 'second']) {
      scratch.write(text.padEnd(8, '.'));
      socket.send(scratch);
    }
    const raw = new TextEncoder().encode('..view..');
    const view = raw.subarray(2, 6);
    socket.send(view);
    const whole = new TextEncoder().encode('buffer').buffer;
    socket.send(whole);
    scratch.fill('x');
    raw.fill(0x78);
    new Uint8Array(whole).fill(0x78);
    await server.start();
    await until(() => seen.length === 4);
    expect(seen).toEqual(['first...', 'second..', 'view', 'buffer']);
  });

  it('keeps the offline queue within its bound, with the chosen overflow policy', async () => {
    const server = await serve(() => {});
    await server.kill();
    const strict = connect(server.url, { maxQueuedMessages: 3 });
    for (let i = 0; i < 3; i++) strict.send(`m${i}`);
    expect(() => strict.send('m3')).toThrow(expect.objectContaining({ code: 'ERR_REALTIME_QUEUE_FULL' }));
    const lossy = connect(server.url, { maxQueuedMessages: 3, queueOverflow: 'drop-oldest' });
    const dropped: unknown[] = [];
    lossy.addEventListener('drop', (event) => dropped.push((event as CustomEvent).detail.data));
    for (let i = 0; i < 10; i++) lossy.send(`m${i}`);
    expect(lossy.queuedMessages).toBe(3);
    expect(dropped).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    const newest = connect(server.url, { maxQueuedMessages: 0, queueOverflow: 'drop-newest' });
    newest.send('gone');
    expect(newest.queuedMessages).toBe(0);
  });

  it('drops the message being sent under drop-oldest when maxQueuedMessages is 0', async () => {
    const server = await serve(() => {});
    await server.kill();
    const socket = connect(server.url, { maxQueuedMessages: 0, queueOverflow: 'drop-oldest' });
    const dropped: unknown[] = [];
    socket.addEventListener('drop', (event) => dropped.push((event as CustomEvent).detail.data));
    for (const message of ['a', 'b', 'c']) socket.send(message);
    expect(socket.queuedMessages).toBe(0);
    expect(dropped).toEqual(['a', 'b', 'c']);
  });

  it('asks the URL function again for every attempt (fresh credentials)', async () => {
    const server = await serve(() => {});
    let token = 0;
    const socket = connect(async () => `${server.url}?token=${++token}`);
    await until(() => socket.readyState === ReconnectingWebSocket.OPEN);
    await server.kill();
    await server.start();
    await until(() => server.connections.length === 2 && socket.readyState === ReconnectingWebSocket.OPEN);
    expect(server.connections.map((c) => c.url)).toEqual(['/?token=1', `/?token=${token}`]);
    expect(token).toBeGreaterThanOrEqual(2);
  });

  it('detects a connection that went silent (no pong) and reconnects', async () => {
    const server = await serve(() => {}, { autoPong: false });
    const socket = connect(server.url, { heartbeat: { intervalMs: 50, timeoutMs: 200 } });
    const reasons: string[] = [];
    socket.addEventListener('reconnecting', (event) => reasons.push((event as CustomEvent).detail.reason?.code));
    await until(() => server.connections.length >= 2, 5_000);
    expect(reasons[0]).toBe('ERR_REALTIME_HEARTBEAT');
  });

  it('delivers nothing from a connection it abandoned once that connection has closed', async () => {
    // compressed messages are inflated off the main thread, one at a time: when the heartbeat
    // abandons the socket, ws still holds some of them, and emits them after terminate()
    const server = await serve(
      (ws) => {
        if (server.connections.length > 1) return;
        ws.send('first');
        for (let i = 0; i < 50; i++) ws.send(`late ${i}`);
      },
      { autoPong: false, perMessageDeflate: { threshold: 0 } },
    );
    const socket = connect(server.url, { heartbeat: { intervalMs: 20, timeoutMs: 100 } });
    const log: string[] = [];
    const reasons: string[] = [];
    socket.addEventListener('reconnecting', (event) => reasons.push((event as CustomEvent).detail.reason?.code));
    socket.onopen = () => log.push('open');
    socket.onclose = () => log.push('close');
    socket.onmessage = ({ data }) => {
      log.push(data);
      // an event loop held up past timeoutMs (a slow handler, a long pause): the heartbeat gives up
      if (data === 'first') {
        const end = Date.now() + 300;
        while (Date.now() < end);
      }
    };
    await until(() => server.connections.length >= 2 && socket.readyState === ReconnectingWebSocket.OPEN);
    await sleep(200);
    expect(reasons[0]).toBe('ERR_REALTIME_HEARTBEAT');
    expect(log.slice(0, 3)).toEqual(['open', 'first', 'close']);
    expect(log.slice(3).filter((entry) => entry !== 'open' && entry !== 'close')).toEqual([]);
  });

  it('notices a server that stops answering pings within timeoutMs + intervalMs of the last pong', async () => {
    const intervalMs = 200;
    const timeoutMs = 400;
    // answers two pings, the second with a message right behind its pong, then nothing
    const server = await serve(
      (ws) => {
        let pings = 0;
        ws.on('ping', () => {
          if (++pings > 2) return;
          ws.pong();
          if (pings === 2) ws.send('last');
        });
      },
      { autoPong: false },
    );
    const socket = connect(server.url, { heartbeat: { intervalMs, timeoutMs } });
    let last = 0;
    let closed = 0;
    const reasons: string[] = [];
    socket.addEventListener('reconnecting', (event) => reasons.push((event as CustomEvent).detail.reason?.code));
    socket.onmessage = () => (last = performance.now());
    socket.onclose = () => (closed ||= performance.now());
    await until(() => closed > 0, 5_000);
    expect(reasons[0]).toBe('ERR_REALTIME_HEARTBEAT');
    // checks run every intervalMs: the first to find more than timeoutMs of silence can come up to
    // intervalMs after the silence passed timeoutMs (the margin is for a busy machine's timers)
    expect(closed - last).toBeGreaterThan(timeoutMs);
    expect(closed - last).toBeLessThanOrEqual(timeoutMs + intervalMs + 150);
  });

  it('keeps a healthy connection that answers pings', async () => {
    const server = await serve(() => {});
    const socket = connect(server.url, { heartbeat: { intervalMs: 30, timeoutMs: 600 } });
    await until(() => socket.readyState === ReconnectingWebSocket.OPEN);
    await sleep(1_500); // pongs every 30 ms, well inside 600 ms
    expect(server.connections).toHaveLength(1);
  });

  it('abandons an attempt that never opens (connect timeout)', async () => {
    const sockets = new Set<Socket>();
    const tcp = createServer((s) => sockets.add(s)); // accepts, never answers the handshake
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    cleanup.push(() => {
      for (const s of sockets) s.destroy();
      tcp.close();
    });
    const { port } = tcp.address() as { port: number };
    const socket = connect(`ws://127.0.0.1:${port}/`, { connectTimeoutMs: 100 });
    const reasons: string[] = [];
    socket.addEventListener('reconnecting', (event) => reasons.push((event as CustomEvent).detail.reason?.code));
    await until(() => reasons.length >= 2, 5_000);
    expect(reasons.slice(0, 2)).toEqual(['ERR_REALTIME_TIMEOUT', 'ERR_REALTIME_TIMEOUT']);
  });

  it('gives up on an attempt whose URL function hangs after connectTimeoutMs, and ignores its late answer', async () => {
    const server = await serve(() => {});
    let release: (url: string) => void = () => {};
    let calls = 0;
    // the first token fetch hangs (a token service that accepted the request and went silent)
    const url = () => (++calls === 1 ? new Promise<string>((resolve) => (release = resolve)) : server.url);
    const socket = connect(url, { connectTimeoutMs: 100 });
    const reasons: string[] = [];
    socket.addEventListener('reconnecting', (event) => reasons.push((event as CustomEvent).detail.reason?.code));
    await until(() => socket.readyState === ReconnectingWebSocket.OPEN, 3_000);
    expect(reasons).toEqual(['ERR_REALTIME_TIMEOUT']);
    release(server.url);
    await sleep(100);
    expect(server.connections).toHaveLength(1);
    expect(socket.readyState).toBe(ReconnectingWebSocket.OPEN);
  });

  it('is no longer OPEN inside the close event of a connection the server closed', async () => {
    const server = await serve((socket) => setTimeout(() => socket.close(4000, 'bye'), 20));
    const socket = connect(server.url, { backoff: { initialMs: 1_000, maxMs: 1_000 } });
    const seen: { code: number; state: number }[] = [];
    socket.onclose = (event) => seen.push({ code: (event as CloseEvent).code, state: socket.readyState });
    await until(() => seen.length === 1);
    expect(seen).toEqual([{ code: 4000, state: ReconnectingWebSocket.CONNECTING }]);
  });

  it('fires close once after close() while waiting to reconnect', async () => {
    const server = await serve(() => {});
    await server.kill();
    const socket = connect(server.url, { backoff: { initialMs: 5_000, maxMs: 5_000 } });
    await new Promise((resolve) => socket.addEventListener('reconnecting', resolve, { once: true }));
    const closes: { code: number; wasClean: boolean }[] = [];
    socket.addEventListener('close', (event) =>
      closes.push({ code: (event as CloseEvent).code, wasClean: (event as CloseEvent).wasClean }),
    );
    socket.close();
    expect(socket.readyState).toBe(ReconnectingWebSocket.CLOSED);
    await sleep(20);
    expect(closes).toEqual([{ code: 1005, wasClean: true }]);
  });

  it('fires close once when close() is called from the handler of a close the server caused', async () => {
    const server = await serve((socket) => setTimeout(() => socket.close(4000, 'bye'), 20));
    const socket = connect(server.url);
    const codes: number[] = [];
    let reconnects = 0;
    socket.addEventListener('reconnecting', () => reconnects++);
    socket.onclose = (event) => {
      codes.push((event as CloseEvent).code);
      socket.close();
    };
    await until(() => codes.length >= 1);
    await sleep(100);
    expect(codes).toEqual([4000]);
    expect(socket.readyState).toBe(ReconnectingWebSocket.CLOSED);
    expect(reconnects).toBe(0);
  });

  it.each([
    ['options null', null],
    ['a WebSocket that is not a class', { WebSocket: 'ws' }],
    ['backoff not an object', { backoff: 'slow' }],
    ['a backoff core refuses', { backoff: { initialMs: -1 } }],
  ])('refuses %s at construction with ERR_REALTIME_OPTIONS', (_, options) => {
    expect(() => new ReconnectingWebSocket('ws://127.0.0.1:1/', undefined, options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_REALTIME_OPTIONS' }),
    );
  });

  it('gives up after maxRetries failed attempts', async () => {
    const server = await serve(() => {});
    await server.kill();
    const socket = connect(server.url, { maxRetries: 3 });
    let attempts = 0;
    socket.addEventListener('reconnecting', () => attempts++);
    await until(() => socket.readyState === ReconnectingWebSocket.CLOSED);
    expect(attempts).toBe(3);
  });

  it("keeps reconnecting at the backoff's ceiling, with no uncaught exception, when its random source throws", async () => {
    const faults = recordFaults();
    cleanup.push(() => faults.stop());
    const server = await serve(() => {});
    await server.kill();
    const random = (): never => {
      throw new Error('random failed');
    };
    const socket = connect(server.url, { backoff: { initialMs: 10, maxMs: 20, random } });
    socket.onerror = () => {};
    const delays: number[] = [];
    socket.addEventListener('reconnecting', (event) => delays.push((event as CustomEvent).detail.delayMs));
    await until(() => delays.length >= 3);
    expect(delays.slice(0, 3)).toEqual([10, 20, 20]);
    expect(faults.faults).toEqual([]);
  });

  it('spreads 50 clients reconnecting after a server restart (full jitter, measured)', async () => {
    const server = await serve(() => {});
    const clients = Array.from({ length: 50 }, () =>
      connect(server.url, { backoff: { initialMs: 400, maxMs: 400 }, minUptimeMs: 0 }),
    );
    await until(() => clients.every((c) => c.readyState === ReconnectingWebSocket.OPEN));
    await server.kill();
    await server.start();
    const restarted = performance.now();
    await until(() => server.connections.length >= 100, 10_000);
    const times = server.connections
      .slice(50)
      .map((c) => c.at - restarted)
      .sort((a, b) => a - b);
    // delays are uniform in [0, 400): the reconnections spread over most of that range, and no
    // 40 ms slice (a tenth of it) holds more than a third of the clients
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(250);
    for (let start = 0; start < 400; start += 10) {
      expect(times.filter((t) => t >= start && t < start + 40).length).toBeLessThan(17);
    }
  });

  it('reports a throwing onclose or onmessage and keeps delivering and reconnecting', async () => {
    const server = await serve((ws) => {
      ws.send('hello');
      // the first two connections drop: the client must come back twice
      if (server.connections.length < 3) setTimeout(() => ws.terminate(), 30);
    });
    const result = await runIsolated(
      `
      import WebSocket from 'ws';
      import { ReconnectingWebSocket } from './src/realtime/index';
      const reported = [];
      process.on('uncaughtException', (error) => reported.push(error.message));
      const socket = new ReconnectingWebSocket(process.env.URL, undefined, { WebSocket, backoff: { initialMs: 5, maxMs: 10 } });
      let opens = 0;
      let messages = 0;
      socket.onclose = () => {
        throw new Error('bug in onclose');
      };
      socket.onmessage = () => {
        throw new Error('bug in onmessage');
      };
      const finish = () => {
        clearTimeout(timer);
        socket.close();
        setTimeout(() => console.log(JSON.stringify({ opens, messages, reported: reported.sort() })), 50);
      };
      const timer = setTimeout(finish, 3_000);
      socket.addEventListener('open', () => opens++);
      socket.addEventListener('message', () => ++messages === 3 && finish());
      `,
      { env: { URL: server.url } },
    );
    expect(result.stderr).toBe('');
    expect(result.hung).toBe(false);
    expect(JSON.parse(result.stdout)).toEqual({
      opens: 3,
      messages: 3,
      // onclose: two drops and the final close()
      reported: [...Array(3).fill('bug in onclose'), ...Array(3).fill('bug in onmessage')],
    });
  });

  it('never crashes the process on connection errors, and lets it exit after close()', async () => {
    const result = await runIsolated(`
      import WebSocket from 'ws';
      import { ReconnectingWebSocket } from './src/realtime/index';
      const socket = new ReconnectingWebSocket('ws://127.0.0.1:1/', undefined, {
        WebSocket, backoff: { initialMs: 5, maxMs: 5 }, heartbeat: { intervalMs: 1000, timeoutMs: 5000 },
      });
      let errors = 0;
      socket.addEventListener('reconnecting', () => { if (++errors === 5) { socket.close(); console.log('closed after', errors); } });
    `);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('closed after 5');
    expect(result.hung).toBe(false);
  });
});
