// patchbay/realtime beside the libraries people use: the SSE parser beside eventsource-parser
// (MB/s over the same byte stream, fed in the same chunks), and messages per second through
// ReconnectingWebSocket beside a raw ws client, same server, same run, alternating rounds.
// Run: npm run bench -- realtime
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { createParser } from 'eventsource-parser';
import { createSseParser, ReconnectingWebSocket } from 'patchbay/realtime';
import WebSocket, { WebSocketServer } from 'ws';

const ROUNDS = 5;
const PARSE_ROUNDS = 21;

// --- SSE parsing -----------------------------------------------------------------------------------
function stream(kind: 'small' | 'large'): Uint8Array[] {
  let text = '';
  for (let i = 0; text.length < 8 * 1024 * 1024; i++) {
    text +=
      kind === 'small'
        ? `id: ${i}\nevent: tick\ndata: {"n":${i},"t":"${'x'.repeat(40)}"}\n\n`
        : `id: ${i}\ndata: ${'y'.repeat(2_000)}\ndata: ${'z'.repeat(2_000)}\n\n`;
  }
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 16 * 1024) chunks.push(bytes.subarray(i, i + 16 * 1024));
  return chunks;
}

function parseWith(feed: (chunk: Uint8Array) => void, chunks: Uint8Array[]): number {
  const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
  const started = performance.now();
  for (const chunk of chunks) feed(chunk);
  return bytes / 1024 / 1024 / ((performance.now() - started) / 1000);
}

const rows: string[] = [];
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
for (const kind of ['small', 'large'] as const) {
  const chunks = stream(kind);
  let events = 0;
  const ours = () => {
    const parser = createSseParser({ onEvent: () => events++ });
    return parseWith((c) => parser.feed(c), chunks);
  };
  const theirs = () => {
    // eventsource-parser takes strings: decoding is part of the work, as it is for patchbay
    const decoder = new TextDecoder();
    const parser = createParser({ onEvent: () => events++ });
    return parseWith((c) => parser.feed(decoder.decode(c, { stream: true })), chunks);
  };
  ours();
  theirs();
  // interleaved, so load on the machine hits both alike
  const samples: { a: number[]; b: number[] } = { a: [], b: [] };
  for (let i = 0; i < PARSE_ROUNDS; i++) {
    samples.a.push(ours());
    samples.b.push(theirs());
  }
  const middle = (values: number[]) => values.sort((x, y) => x - y)[PARSE_ROUNDS >> 1]!;
  const [a, b] = [middle(samples.a), middle(samples.b)];
  const label = kind === 'small' ? 'SSE parse, ~90-byte events' : 'SSE parse, 4 KB two-line events';
  rows.push(`| ${label} | MB/s | ${fmt(b)} | ${fmt(a)} | ${(a / b).toFixed(2)}× |`);
}

// --- WebSocket throughput ------------------------------------------------------------------------
const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await once(server, 'listening');
server.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const MESSAGES = 20_000;

/** Round trips of MESSAGES echo messages, 64 in flight: messages per second. */
async function echo(
  open: () => Promise<{ send(d: string): void; onMessage(cb: () => void): void; close(): void }>,
): Promise<number> {
  const socket = await open();
  let received = 0;
  let sent = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    socket.onMessage(() => {
      received++;
      if (sent < MESSAGES) {
        socket.send('x'.repeat(64));
        sent++;
      }
      if (received === MESSAGES) resolve();
    });
    for (; sent < 64; sent++) socket.send('x'.repeat(64));
  });
  const rate = MESSAGES / ((performance.now() - started) / 1000);
  socket.close();
  return rate;
}

const raw = () =>
  new Promise<{ send(d: string): void; onMessage(cb: () => void): void; close(): void }>((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () =>
      resolve({ send: (d) => ws.send(d), onMessage: (cb) => ws.on('message', cb), close: () => ws.close() }),
    );
  });
const wrapped = () =>
  new Promise<{ send(d: string): void; onMessage(cb: () => void): void; close(): void }>((resolve) => {
    const ws = new ReconnectingWebSocket(url, undefined, { WebSocket });
    ws.onopen = () =>
      resolve({
        send: (d) => ws.send(d),
        onMessage: (cb) => ws.addEventListener('message', cb),
        close: () => ws.close(),
      });
  });
await echo(raw);
await echo(wrapped);
const samples: { raw: number[]; wrapped: number[] } = { raw: [], wrapped: [] };
for (let i = 0; i < ROUNDS; i++) {
  samples.raw.push(await echo(raw));
  samples.wrapped.push(await echo(wrapped));
}
const mid = (s: number[]) => s.sort((a, b) => a - b)[ROUNDS >> 1]!;
rows.push(
  `| WebSocket echo, 64 B, 64 in flight | messages/s | ${fmt(mid(samples.raw))} | ${fmt(mid(samples.wrapped))} | ${(mid(samples.wrapped) / mid(samples.raw)).toFixed(2)}× |`,
);
server.close();

console.log(`### realtime — ${new Date().toISOString().slice(0, 10)}

${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; Node ${process.version}. Medians of interleaved rounds (${PARSE_ROUNDS} for parsing, ${ROUNDS} for WebSocket); SSE over an
8 MB stream fed in 16 KB chunks (bytes decoded as UTF-8 by both); WebSocket echo over loopback. Peer: eventsource-parser
for parsing, a raw ws client for WebSocket.

| scenario | unit | peer | patchbay | ratio |
| --- | --- | ---: | ---: | ---: |
${rows.join('\n')}
`);
