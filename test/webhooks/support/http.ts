import { once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 for one test; `close()` also drops kept-alive and hung connections. */
export interface TestServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function listen(listener: RequestListener): Promise<TestServer> {
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    server,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A request as a receiver saw it. */
export interface Received {
  method: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A receiver scripted per attempt: `plan[i]` answers attempt i (the last entry repeats). An entry
 * is a status code, a status with headers, or `'hang'` (never answers).
 */
export type Planned = number | { status: number; headers?: Record<string, string> } | 'hang';

export async function scriptedReceiver(plan: Planned[]): Promise<TestServer & { received: Received[] }> {
  const received: Received[] = [];
  const server = await listen((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const step = plan[Math.min(received.length - 1, plan.length - 1)] ?? 200;
      if (step === 'hang') return;
      const { status, headers = {} } = typeof step === 'number' ? { status: step } : step;
      res.writeHead(status, headers).end(status < 300 ? 'ok' : 'no');
    });
  });
  return Object.assign(server, { received });
}
