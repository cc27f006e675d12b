// A live counter that survives server restarts: an SSE server numbers its events, a
// ReconnectingEventSource counts them, and the server is killed and restarted three times.
// The client resumes with Last-Event-ID each time and ends with every event exactly once, in
// order. Then the same for a WebSocket: messages sent while the server is down are delivered
// after it comes back. Run: npm run build && node examples/realtime.ts
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createSseStream, ReconnectingEventSource, ReconnectingWebSocket } from 'patchbay/realtime';
import WebSocket, { WebSocketServer } from 'ws';

const TOTAL = 300;
let port = 0;
let server: Server | undefined;
let wss: WebSocketServer | undefined;
const sockets = new Set<Socket>();
const received: string[] = [];

async function start(): Promise<void> {
  server = createServer((req, res) => {
    // resume after the last event the client saw
    let next = Number(req.headers['last-event-id'] ?? 0) + 1;
    const stream = createSseStream(res, { retryMs: 100 });
    const timer = setInterval(() => {
      if (next > TOTAL) return stream.close();
      stream.send({ id: String(next), data: String(next++) });
    }, 2);
    res.on('close', () => clearInterval(timer));
  });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data) => received.push(String(data))));
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
}

await start();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- SSE: count events across three server restarts --------------------------------------------
const events: number[] = [];
const source = new ReconnectingEventSource(`http://127.0.0.1:${port}/`, { backoff: { initialMs: 20, maxMs: 200 } });
source.onmessage = (event) => events.push(Number(event.data));
source.addEventListener('reconnecting', (event) => {
  const { attempt, delayMs } = (event as CustomEvent).detail;
  console.log(`  sse: reconnecting (attempt ${attempt}) in ${delayMs} ms, from event ${source.lastEventId}`);
});
for (let restart = 1; restart <= 3; restart++) {
  await sleep(120);
  console.log(`server restart ${restart} after ${events.length} events`);
  await kill();
  await sleep(50);
  await start();
}
while (events.length < TOTAL) await sleep(20);
source.close();
const inOrder = events.every((n, i) => n === i + 1);
console.log(`sse: ${events.length} of ${TOTAL} events, each once and in order: ${inOrder}`);

// --- WebSocket: messages sent while the server is down are delivered after it returns ---------
const socket = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, undefined, {
  WebSocket,
  backoff: { initialMs: 20, maxMs: 200 },
});
await new Promise((resolve) => socket.addEventListener('open', resolve, { once: true }));
socket.send('before');
await sleep(50);
await kill();
// until the client notices the drop, its socket still looks open: what is sent then is lost
// with the connection (see docs/realtime.md); once it is reconnecting, sends are queued
while (socket.readyState !== ReconnectingWebSocket.CONNECTING) await sleep(5);
for (const text of ['while down 1', 'while down 2']) socket.send(text); // queued, in order
console.log(`ws: server down, ${socket.queuedMessages} messages queued`);
await start();
while (received.length < 3) await sleep(20);
console.log(`ws: the server received ${JSON.stringify(received)}`);
socket.close();
await kill();
if (!inOrder || events.length !== TOTAL || received.length !== 3) process.exit(1);
