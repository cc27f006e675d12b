import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { sleep } from '../../src/core/timeout';
import { createSseStream } from '../../src/realtime/sse-server';

const CHROMIUM = '/usr/bin/chromium';

const page = `<!doctype html><meta charset="utf-8"><title>patchbay realtime</title>
<script type="module">
  import { ReconnectingEventSource, ReconnectingWebSocket } from '/realtime.js';
  const results = (window.results = { sse: [], sseOpens: 0, ws: [], wsOpens: 0, errors: [], reconnects: [], notMessageEvents: 0 });
  const check = (event, origin) => { if (!(event instanceof MessageEvent) || event.origin !== origin) results.notMessageEvents++; };
  const source = new ReconnectingEventSource('/sse', { backoff: { initialMs: 50, maxMs: 200 } });
  source.onopen = () => results.sseOpens++;
  source.onmessage = (event) => { check(event, location.origin); results.sse.push(Number(event.data)); };
  source.addEventListener('reconnecting', (event) => results.reconnects.push(String(event.detail.reason)));
  const socket = new ReconnectingWebSocket('ws://' + location.host + '/ws', undefined, {
    backoff: { initialMs: 50, maxMs: 200 },
    heartbeat: { intervalMs: 100, timeoutMs: 1000 },
  });
  socket.onopen = () => socket.send('hello ' + ++results.wsOpens);
  socket.onmessage = (event) => { check(event, 'ws://' + location.host); if (event.data !== 'pong') results.ws.push(event.data); };
  window.addEventListener('error', (event) => results.errors.push(String(event.message)));
</script>`;

interface Results {
  sse: number[];
  sseOpens: number;
  ws: string[];
  wsOpens: number;
  errors: string[];
  reconnects: string[];
  notMessageEvents: number;
}

let bundle = '';
let browser: Browser | undefined;
let server: Server | undefined;
let wss: WebSocketServer | undefined;
let port = 0;
const sockets = new Set<Socket>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/realtime.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
  } else if (req.url === '/sse') {
    const stream = createSseStream(res, { heartbeatMs: 0 });
    let next = Number(req.headers['last-event-id'] ?? 0) + 1;
    const timer = setInterval(() => stream.send({ id: String(next), data: String(next++) }), 10);
    res.on('close', () => clearInterval(timer));
  } else {
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  }
}

async function start(): Promise<void> {
  server = createServer(handle);
  wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data) => ws.send(String(data) === 'ping' ? 'pong' : `echo: ${data}`));
  });
  server.on('upgrade', (req, socket, head) =>
    wss!.handleUpgrade(req, socket, head, (ws) => wss!.emit('connection', ws, req)),
  );
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
}

async function kill(): Promise<void> {
  for (const client of wss?.clients ?? []) client.terminate();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server?.close(resolve));
  wss?.close();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser test needs Debian's Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run installs it).`,
    );
  }
  const result = await build({
    entryPoints: ['src/realtime/index.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  bundle = result.outputFiles[0]?.text ?? '';
  await start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await kill();
});

describe('patchbay/realtime in a real browser (headless Chromium)', () => {
  it('keeps a WebSocket and an SSE stream through a server restart, losing and repeating nothing', async () => {
    const tab = await browser!.newPage();
    await tab.goto(`http://127.0.0.1:${port}/`);
    const results = (): Promise<Results> => tab.evaluate(() => (window as unknown as { results: Results }).results);
    const until = async (check: (r: Results) => boolean): Promise<Results> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const current = await results();
        if (check(current)) return current;
        if (Date.now() > deadline) throw new Error(`browser state: ${JSON.stringify(current).slice(0, 500)}`);
        await sleep(50);
      }
    };
    await until((r) => r.sse.length >= 20 && r.ws.includes('echo: hello 1'));
    await kill();
    await sleep(300);
    await start();
    const after = await until(
      (r) => r.sseOpens >= 2 && r.wsOpens >= 2 && r.ws.includes('echo: hello 2') && r.sse.length >= 60,
    );
    expect(after.errors).toEqual([]);
    // both clients deliver standard MessageEvents with the connection's origin, as the browser's own do
    expect(after.notMessageEvents).toBe(0);
    // every SSE event exactly once, in order, across the restart (resumed with Last-Event-ID)
    expect(after.sse).toEqual(Array.from({ length: after.sse.length }, (_, i) => i + 1));
    await tab.close();
  }, 60_000);

  it('reads a cross-origin stream from a server that answers no CORS preflight, as EventSource can', async () => {
    // another port is another origin; this server allows any origin but refuses OPTIONS
    const other = createServer((req, res) => {
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      res.setHeader('access-control-allow-origin', '*');
      const stream = createSseStream(res, { heartbeatMs: 0 });
      stream.send({ id: '1', data: 'across origins' });
    });
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const streamUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/sse`;
    const tab = await browser!.newPage();
    try {
      await tab.goto(`http://127.0.0.1:${port}/`);
      const data = await tab.evaluate(`(async () => {
        const { ReconnectingEventSource } = await import('/realtime.js');
        const source = new ReconnectingEventSource(${JSON.stringify(streamUrl)}, { maxRetries: 0 });
        try {
          return await new Promise((resolve, reject) => {
            source.onmessage = (event) => resolve(event.data);
            source.onerror = () => reject(new Error('the stream failed'));
            setTimeout(() => reject(new Error('no event')), 5000);
          });
        } finally {
          source.close();
        }
      })()`);
      expect(data).toBe('across origins');
    } finally {
      await tab.close();
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  }, 30_000);

  it('connects a WebSocket given a relative URL, as the browser WebSocket accepts one', async () => {
    const tab = await browser!.newPage();
    await tab.goto(`http://127.0.0.1:${port}/`);
    // a string, so the test runner leaves the page's dynamic import alone
    const outcome = await tab.evaluate(`(async () => {
      const failures = [];
      window.addEventListener('unhandledrejection', (event) => failures.push(String(event.reason)));
      const { ReconnectingWebSocket } = await import('/realtime.js');
      const socket = new ReconnectingWebSocket('/ws');
      const reply = await new Promise((resolve, reject) => {
        socket.onopen = () => socket.send('relative');
        socket.onmessage = (event) => resolve({ data: String(event.data), origin: event.origin });
        setTimeout(() => reject(new Error('no reply; ' + failures.join('; '))), 5000);
      });
      socket.close();
      return { ...reply, failures };
    })()`);
    expect(outcome).toEqual({ data: 'echo: relative', origin: `ws://127.0.0.1:${port}`, failures: [] });
    await tab.close();
  }, 30_000);
});
