import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Socket } from 'node:net';

/** A redis-server process owned by a test, which the test may stop and start again. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL) and waits until the port is closed. */
  stop(): Promise<void>;
  /** Starts the server again on the same port. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
}

/** The hint every Redis-related failure carries, so a missing Redis is never a mystery. */
export const REDIS_HINT =
  'Start Redis on 127.0.0.1:6379 (redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no), ' +
  'set REDIS_URL to a running server, or put redis-server on the PATH (apt-get install redis-server).';

/** Resolves true when something at `host:port` answers PING with PONG within `timeoutMs`. */
export function pingRedis(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not read a free port');
  return address.port;
}

/** Starts `redis-server` from the PATH on a free port, without persistence; `extra` adds arguments. */
export async function startRedisServer(extra: (port: number) => string[] = () => []): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'warning',
        ...extra(port),
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (error) => reject(new Error(`could not start redis-server: ${error.message}. ${REDIS_HINT}`)));
      proc.once('exit', (code) => reject(new Error(`redis-server exited with code ${code} on port ${port}`)));
    });
    failed.catch(() => {});
    const deadline = Date.now() + 5_000;
    while (!(await Promise.race([pingRedis('127.0.0.1', port, 200), failed]))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await exited;
  };

  const signal = (name: NodeJS.Signals): void => {
    if (!child?.pid) throw new Error('redis-server is not running');
    process.kill(child.pid, name);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
  };
}
