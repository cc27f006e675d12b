import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** An HTTP server on a fixed port that a test can kill (sockets destroyed) and start again. */
export interface KillableServer {
  url: string;
  port: number;
  /** Requests seen, with their headers. */
  requests: IncomingMessage['headers'][];
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function killableServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<KillableServer> {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const requests: IncomingMessage['headers'][] = [];
  let port = 0;
  const start = async (): Promise<void> => {
    const next = createServer((req, res) => {
      requests.push(req.headers);
      handler(req, res);
    });
    next.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    next.listen(port, '127.0.0.1');
    await once(next, 'listening');
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  const kill = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (!current) return;
    for (const socket of sockets) socket.destroy();
    current.close();
    await once(current, 'close');
  };
  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}/`;
    },
    get port() {
      return port;
    },
    requests,
    kill,
    start,
  };
}
