import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';

/** A ws server on a fixed port that a test can kill (clients terminated) and start again. */
export interface KillableWsServer {
  url: string;
  connections: { at: number; url: string }[];
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function killableWsServer(
  onConnection: (socket: WebSocket, req: IncomingMessage) => void,
  options: Pick<ServerOptions, 'autoPong' | 'perMessageDeflate'> = {},
): Promise<KillableWsServer> {
  let server: WebSocketServer | undefined;
  let port = 0;
  const connections: { at: number; url: string }[] = [];
  const start = async (): Promise<void> => {
    const next = new WebSocketServer({ ...options, port, host: '127.0.0.1' });
    next.on('connection', (socket, req) => {
      connections.push({ at: performance.now(), url: req.url ?? '' });
      socket.on('error', () => {});
      onConnection(socket, req);
    });
    await once(next, 'listening');
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  const kill = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (!current) return;
    for (const client of current.clients) client.terminate();
    await new Promise((resolve) => current.close(resolve));
  };
  await start();
  return {
    get url() {
      return `ws://127.0.0.1:${port}/`;
    },
    connections,
    kill,
    start,
  };
}
